"""`rewards seed-bench`: a big database quickly, with every ledger invariant of the real services."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from backend.db.tables import LedgerEntry, Member
from backend.rewards.jobs import settle_due
from backend.rewards.purchases.services import record_purchase
from backend.seed_bench import member_uid, seed_bench
from tests.helpers import assert_consistent, new_member, purchase
from tests.integration.test_ledger_properties import (
    assert_shown_as_settled,
    assert_tier_months_match_entries,
)

MEMBERS = 300


async def kinds_of_entries(uows) -> dict[str, int]:
    """How many entries of each kind the ledger holds."""
    async with uows() as uow:
        stmt = select(LedgerEntry.kind, func.count()).group_by(LedgerEntry.kind)
        return dict((await uow.session.execute(stmt)).all())


async def test_seeded_members_keep_every_ledger_invariant(database, uows, clock):
    report = await seed_bench(database, members=MEMBERS, entries=12, now=clock.now(), seed=7)
    assert report.rows["member"] == MEMBERS
    assert MEMBERS * 6 <= report.rows["ledger_entry"] <= MEMBERS * 18
    for member_id in range(1, MEMBERS + 1):
        await assert_consistent(uows, member_id)
        await assert_tier_months_match_entries(uows, member_id)
    for member_id in (1, MEMBERS // 2, MEMBERS):
        await assert_shown_as_settled(uows, member_id)
    kinds = await kinds_of_entries(uows)
    assert set(kinds) == {"earn", "release", "redeem", "expire"}, kinds
    async with uows() as uow:
        members = (await uow.session.execute(select(Member))).scalars().all()
    assert {m.uid for m in members} == {member_uid(i) for i in range(MEMBERS)}
    assert sum(m.pending > 0 for m in members) > MEMBERS // 10  # recent purchases still pending
    assert {"member", "silver"} <= {m.tier_code for m in members}
    assert (await settle_due(uows)).entries == 0  # nothing left due: the history is settled


async def test_the_services_carry_on_after_seeding(database, uows, clock):
    await seed_bench(database, members=20, entries=8, now=clock.now())
    newcomer = await new_member(uows, uid="after-seed")
    assert newcomer.id == 21
    async with uows() as uow:
        card = (await uow.session.get_one(Member, 3)).card_number
    data = purchase("AFTER-1", card, "80")
    recorded = await uows.run(lambda uow: record_purchase(uow, data=data, actor="pos"))
    assert recorded.points > 0
    await assert_consistent(uows, 3)
    await assert_tier_months_match_entries(uows, 3)


async def test_seeding_refuses_a_database_with_members(database, uows, clock):
    await new_member(uows)
    with pytest.raises(ValueError, match="empty database"):
        await seed_bench(database, members=5, entries=5, now=clock.now())
    async with uows() as uow:
        assert (await uow.session.execute(select(func.count()).select_from(Member))).scalar() == 1
