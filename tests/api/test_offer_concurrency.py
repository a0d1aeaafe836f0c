"""Redemptions racing for stock and for one balance: exactly the right number succeed, on both databases."""

from __future__ import annotations

import asyncio
from collections import Counter

from sqlalchemy import select

from backend.db.tables import Member, Offer, Voucher
from backend.rewards.offers import services
from tests.api.offers_support import create, member, redeem
from tests.helpers import assert_consistent, give


async def test_thirty_members_racing_for_ten_units_get_exactly_ten_vouchers(api, uows, database):
    ids = [await member(api, f"m{i:02d}") for i in range(30)]
    for member_id in ids:
        await give(uows, member_id, 150)
    offer_id = await create(api, stock=10)
    answers = await asyncio.gather(
        *(redeem(api, f"m{i:02d}", offer_id, f"race-{i}") for i in range(30))
    )
    outcomes = Counter(a["errors"][0]["code"] if a["errors"] else "OK" for a in answers)
    assert outcomes == {"OK": 10, "OUT_OF_STOCK": 20}
    async with database.reader.connect() as conn:
        stock = (
            await conn.execute(select(Offer.stock).where(Offer.stock.is_not(None)))
        ).scalar_one()
        issued = (
            await conn.execute(select(Voucher.member_id).where(Voucher.origin == "redemption"))
        ).all()
        balances = dict((await conn.execute(select(Member.id, Member.balance))).all())
    assert stock == 0 and len(issued) == 10 == len({row.member_id for row in issued})
    winners = {row.member_id for row in issued}
    assert all(balances[m] == (50 if m in winners else 150) for m in ids)
    for member_id in ids:
        await assert_consistent(uows, member_id)


async def test_one_member_racing_five_redemptions_with_points_for_two_gets_two(api, uows, database):
    alice = await member(api, "alice")
    await give(uows, alice, 200)
    offer_id = await create(api)
    answers = await asyncio.gather(*(redeem(api, "alice", offer_id, f"k-{i}") for i in range(5)))
    outcomes = Counter(a["errors"][0]["code"] if a["errors"] else "OK" for a in answers)
    assert outcomes == {"OK": 2, "NOT_ENOUGH_POINTS": 3}
    assert (await assert_consistent(uows, alice)).balance == 0
    async with database.reader.connect() as conn:
        spent = (await conn.execute(select(Voucher.points_spent))).scalars().all()
    assert sorted(spent) == [0, 100, 100]  # the welcome gift and two redemptions


async def test_the_same_redemption_replayed_at_once_spends_once(api, uows):
    alice = await member(api, "alice")
    await give(uows, alice, 1000)
    offer_id = await create(api)
    answers = await asyncio.gather(*(redeem(api, "alice", offer_id, "same") for _ in range(8)))
    assert len({a["voucher"]["code"] for a in answers}) == 1
    assert (await assert_consistent(uows, alice)).balance == 900


async def test_a_voucher_code_collision_runs_the_redemption_again_with_a_new_code(
    api, uows, monkeypatch
):
    alice = await member(api, "alice")
    await give(uows, alice, 300)
    offer_id = await create(api)
    draws = iter([b"\x01" * 10, b"\x01" * 10, b"\x02" * 10])
    monkeypatch.setattr(services, "random_bytes", lambda n: next(draws))
    first = await redeem(api, "alice", offer_id, "a")
    second = await redeem(api, "alice", offer_id, "b")
    assert first["errors"] == second["errors"] == []
    assert first["voucher"]["code"] != second["voucher"]["code"]
    assert (await assert_consistent(uows, alice)).balance == 100
