"""Referrals: a friend's first kept purchase rewards both once (settle job), a refund takes the
bonuses back, the yearly limit, and every refusal at enrolment changes nothing."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select, update

from backend.db.tables import LedgerEntry, Member, ProgramSetting, Referral
from backend.rewards.jobs import settle_due
from tests.api.operations import ENROLL, RECORD, REFUND
from tests.api.test_query_counts import counting_checkouts

POS = "integration:pos-ams"

ME = """
query Me {
  me { points { balance pending } referrals { code shareLink invited joined rewarded } }
}"""


async def enrol(api, uid: str, code: str | None = None) -> dict:
    """Enrol (with a friend's code); the payload."""
    data = {"birthDate": "1990-05-17", "referralCode": code}
    return (await api(ENROLL, {"input": data}, f"member:{uid}"))["data"]["enroll"]


async def buy(api, card: str, order: str, amount: str = "100") -> None:
    """A store reports a purchase."""
    data = {
        "orderId": order,
        "memberReference": card,
        "amount": amount,
        "currency": "EUR",
        "channel": "store-ams-01",
    }
    assert (await api(RECORD, {"input": data}, POS))["data"]["recordPurchase"]["errors"] == []


async def me(api, uid: str) -> dict:
    """The member's points and referrals."""
    return (await api(ME, {}, f"member:{uid}"))["data"]["me"]


async def state(database) -> tuple[int, int, int]:
    """What a refusal must leave alone: members, referrals, entries."""
    async with database.reader.connect() as conn:
        return tuple(
            [
                (await conn.execute(select(func.count()).select_from(t))).scalar_one()
                for t in (Member, Referral, LedgerEntry)
            ]
        )


async def test_a_friends_first_kept_purchase_rewards_both_once_and_a_refund_takes_it_back(
    api, uows, database, clock
):
    alice = (await enrol(api, "alice"))["member"]
    bob = await enrol(api, "bob", alice["referralCode"].lower())  # codes are read case-blind
    assert bob["errors"] == []
    again = await enrol(api, "bob", alice["referralCode"])  # a retry: the membership back
    assert again["errors"] == [] and again["member"]["id"] == bob["member"]["id"]
    await buy(api, bob["member"]["cardNumber"], "first")
    await settle_due(uows)  # inside the return window: nothing yet
    referrals = (await me(api, "alice"))["referrals"]
    assert referrals == {
        "code": alice["referralCode"],
        "shareLink": f"https://rewards.example.com/join?code={alice['referralCode']}",
        "invited": 1,
        "joined": 1,
        "rewarded": 0,
    }
    clock.advance(days=14, minutes=1)
    reports = await asyncio.gather(settle_due(uows), settle_due(uows))  # two workers at once
    assert sorted(r.referrals.rewarded for r in reports) == [0, 1]
    await buy(api, bob["member"]["cardNumber"], "second")
    clock.advance(days=15)
    assert (await settle_due(uows)).referrals.rewarded == 0  # once, not per purchase
    assert (await me(api, "alice"))["points"]["balance"] == 500
    assert (await me(api, "alice"))["referrals"]["rewarded"] == 1
    assert (await me(api, "bob"))["points"]["balance"] == 100 + 250 + 100

    refund = {"orderId": "first", "refundId": "r1", "amount": "10", "currency": "EUR"}
    assert (await api(REFUND, {"input": refund}, POS))["data"]["refundPurchase"]["errors"] == []
    assert (await me(api, "alice"))["points"]["balance"] == 0
    assert (await me(api, "alice"))["referrals"]["rewarded"] == 0
    assert (await me(api, "bob"))["points"]["balance"] == 200 - 10
    refund = {**refund, "refundId": "r2"}  # a second refund reverses nothing more
    assert (await api(REFUND, {"input": refund}, POS))["data"]["refundPurchase"]["errors"] == []
    assert (await me(api, "alice"))["points"]["balance"] == 0


async def test_past_the_yearly_limit_a_friend_joins_but_is_not_rewarded(
    api, uows, database, clock, count_queries
):
    async with database.reader.connect() as conn:
        limit = select(ProgramSetting.value).where(ProgramSetting.key == "referral_yearly_limit")
        assert (await conn.execute(limit)).scalar_one() == 20
    async with database.writer.begin() as conn:  # the same rule with a limit of 2: lean
        await conn.execute(
            update(ProgramSetting)
            .where(ProgramSetting.key == "referral_yearly_limit")
            .values(value=2)
        )
    code = (await enrol(api, "alice"))["member"]["referralCode"]
    for friend in ("f1", "f2", "f3", "gone"):
        joined = await enrol(api, friend, code)
        assert joined["errors"] == []
        await buy(api, joined["member"]["cardNumber"], f"order-{friend}")
    async with database.writer.begin() as conn:  # a friend suspended: closed without a bonus
        await conn.execute(update(Member).where(Member.uid == "gone").values(status="suspended"))
    clock.advance(days=15)
    report = (await settle_due(uows)).referrals
    assert (report.rewarded, report.limited) == (2, 1)
    async with database.reader.connect() as conn:
        statuses = (await conn.execute(select(Referral.status).order_by(Referral.id))).scalars()
        assert list(statuses) == ["rewarded", "rewarded", "limit_reached", "closed"]
    assert (await me(api, "alice"))["points"]["balance"] == 1000
    assert sorted([(await me(api, f))["points"]["balance"] for f in ("f1", "f2", "f3")]) == [
        100,
        350,
        350,
    ]
    count_queries.count = 0
    with counting_checkouts(database) as checkouts:  # the counts join the opening batch
        referrals = (await me(api, "alice"))["referrals"]
    # the member with its points' due lots as a column, then the counts
    assert (count_queries.count, checkouts) == (2, {"reader": 1, "writer": 0})
    assert referrals == {
        "code": code,
        "shareLink": f"https://rewards.example.com/join?code={code}",
        "invited": 4,
        "joined": 4,
        "rewarded": 2,
    }


async def set_email(database, uid: str, email: str) -> None:
    """Give a member another e-mail address (as a second account of the same person would have)."""
    async with database.writer.begin() as conn:
        await conn.execute(update(Member).where(Member.uid == uid).values(email=email))


async def test_every_referral_refusal_is_typed_and_changes_nothing(api, database):
    code = (await enrol(api, "alice"))["member"]["referralCode"]
    await enrol(api, "bob", code)
    await enrol(api, "carol")
    await set_email(database, "alice", "alice2@example.com")  # alice2: alice's second account
    await set_email(database, "bob", "BOB2@example.com")  # bob2: bob's, referred with the code
    await set_email(database, "carol", "carol2@example.com")  # carol2: carol's, a member already
    before = await state(database)
    for uid, code_given, refusal in [
        ("alice", code, "SELF_REFERRAL"),
        ("alice2", code, "SELF_REFERRAL"),
        ("carol", code, "ALREADY_MEMBER"),
        ("carol2", code, "ALREADY_MEMBER"),
        ("bob2", code, "REFERRAL_CODE_ALREADY_USED"),
        ("dave", "NOSUCHCODE", "INVALID_REFERRAL_CODE"),
        ("dave", "C" * 17, "INVALID_REFERRAL_CODE"),
    ]:
        answer = await enrol(api, uid, code_given)
        assert answer == {
            "member": None,
            "errors": [
                {
                    "code": refusal,
                    "field": "referralCode",
                    "message": answer["errors"][0]["message"],
                }
            ],
        }, uid
    assert await state(database) == before
    assert (await me(api, "alice"))["referrals"]["invited"] == 1
