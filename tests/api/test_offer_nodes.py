"""`node(id:)` resolves offers and vouchers for those who may see them, null for everyone else."""

from __future__ import annotations

from sqlalchemy import select
from strawberry.relay import GlobalID

from backend.db.tables import AuditLog
from tests.api.offers_support import MIA, POS, create, member, redeem
from tests.helpers import give

NODE = """
query($id: ID!) {
  node(id: $id) {
    id
    ... on Offer { title redeemable reasonCode }
    ... on Voucher { code status offer { title } }
  }
}"""


async def node(api, global_id: str, token: str):
    """Resolve a global id as a caller."""
    body = await api(NODE, {"id": global_id}, token)
    assert "errors" not in body, body
    return body["data"]["node"]


async def test_offers_resolve_for_their_audience_and_staff_only(api, uows):
    await give(uows, await member(api, "alice"), 100)
    offer_id = await create(api)
    gold_only = await create(api, audience={"minimumTier": "gold"})
    mine = await node(api, offer_id, "member:alice")
    assert (mine["id"], mine["redeemable"], mine["reasonCode"]) == (offer_id, True, "NEW_OFFER")
    assert await node(api, gold_only, "member:alice") is None
    staff = await node(api, gold_only, MIA)
    assert (staff["id"], staff["redeemable"], staff["reasonCode"]) == (gold_only, None, None)
    for token in (POS, "support:sam", "member:nobody"):
        assert await node(api, offer_id, token) is None, token
    missing = str(GlobalID("Offer", "999"))
    assert await node(api, missing, MIA) is None
    assert await node(api, missing, "member:alice") is None


async def test_vouchers_resolve_for_their_owner_and_staff_only(api, uows):
    for uid in ("alice", "bob"):
        await give(uows, await member(api, uid), 100)
    voucher = (await redeem(api, "alice", await create(api)))["voucher"]
    mine = await node(api, voucher["id"], "member:alice")
    assert (mine["code"], mine["status"]) == (voucher["code"], "ACTIVE")
    assert mine["offer"]["title"] == "10% off denim"
    assert await node(api, voucher["id"], "member:bob") is None
    assert await node(api, voucher["id"], POS) is None
    for token in (MIA, "support:sam"):
        assert (await node(api, voucher["id"], token))["code"] == voucher["code"]
    for bad in (
        str(GlobalID("Voucher", "0")),
        str(GlobalID("Voucher", str(2**31))),
        "Vm91Y2hlcjp4",
    ):
        assert await node(api, bad, "member:alice") is None


async def test_staff_reading_a_voucher_are_audited_and_its_owner_is_not(api, uows, database):
    alice = await member(api, "alice")
    await give(uows, alice, 100)
    voucher = (await redeem(api, "alice", await create(api)))["voucher"]
    before = await reads_of_members(database)
    await node(api, voucher["id"], "member:alice")
    assert await reads_of_members(database) == before
    await node(api, voucher["id"], "support:sam")
    assert await reads_of_members(database) == [*before, ("sam", "support", alice)]


async def reads_of_members(database) -> list[tuple[str, str, int]]:
    """The audit trail's staff reads of member data: (actor, role, member id)."""
    async with database.reader.connect() as conn:
        rows = await conn.execute(select(AuditLog).where(AuditLog.action == "read_member"))
        return [(r.actor_uid, r.actor_role, r.member_id) for r in rows]
