"""The wheel of points over the API: committed seeds, exact odds, awards in the spin's transaction,
daily allowances at local midnight, the budget, bought spins, and refusals that change nothing."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from sqlalchemy import func, select, update

from backend.db.engine import Pools, open_database
from backend.db.tables import (
    AuditLog,
    IdempotencyKey,
    LedgerEntry,
    Member,
    Voucher,
    WheelBudget,
    WheelGrant,
    WheelPlayer,
    WheelSpin,
)
from backend.rewards.games.wheel.players import grant_spins
from scripts.verify_spin import problems
from tests.api.conftest import Api
from tests.api.offers_support import create, member, redeem
from tests.api.test_query_counts import counting_checkouts
from tests.helpers import assert_consistent, give

MIA = "marketing:mia"
SEGMENT = "index kind weight points offerId chance { numerator denominator } paysNow"
SPINS = "leftToday freeLeftToday extra nextFreeSpinAt nextCommitment nextNonce"
WHEEL = f"""version freeSpinsPerDay extraSpinPrice dailyPointsBudget pointsBudgetLeftToday
  segments {{ {SEGMENT} }} odds {{ kind chance {{ numerator denominator }} }} spins {{ {SPINS} }}"""
CONFIGURE = f"""
mutation Configure($input: ConfigureWheelInput!) {{
  configureWheel(input: $input) {{ wheel {{ {WHEEL} }} errors {{ code field message }} }}
}}"""
QUERY = f"query Wheel {{ wheel {{ {WHEEL} }} me {{ spinsLeftToday nextFreeSpinAt }} }}"
SPIN = f"""
mutation Spin($key: String!, $buy: Boolean! = false) {{
  spinWheel(idempotencyKey: $key, buyExtra: $buy) {{
    spin {{ nonce serverSeed commitment segmentIndex kind void pointsWon paidWith pointsSpent
           configVersion spunAt segments {{ kind weight points }} voucher {{ origin }} }}
    wheel {{ spins {{ {SPINS} }} }}
    errors {{ code field message }}
  }}
}}"""
P10 = {"kind": "POINTS", "weight": 1, "points": 10}


async def configure(api, segments: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    """Configure the wheel as marketing; the payload."""
    body = await api(CONFIGURE, {"input": {"segments": segments, **fields}}, MIA)
    assert "errors" not in body, body
    return body["data"]["configureWheel"]


async def spin(api, uid: str, key: str, buy: bool = False) -> dict[str, Any]:
    """Spin as a member; the payload."""
    body = await api(SPIN, {"key": key, "buy": buy}, f"member:{uid}")
    assert "errors" not in body, body
    return body["data"]["spinWheel"]


async def wheel(api, uid: str) -> dict[str, Any]:
    """The wheel and the dashboard fields as a member sees them."""
    body = await api(QUERY, token=f"member:{uid}")
    assert "errors" not in body, body
    return body["data"]


def codes(payload: dict[str, Any]) -> list[str]:
    """The error codes of a payload."""
    return [e["code"] for e in payload["errors"]]


async def state(database) -> tuple[Any, ...]:
    """Everything a refused spin must leave as it was."""
    async with database.reader.connect() as conn:
        counted = [
            (await conn.execute(select(func.count()).select_from(t))).scalar_one()
            for t in (WheelSpin, LedgerEntry, IdempotencyKey, Voucher, WheelGrant, AuditLog)
        ]
        players = (await conn.execute(select(WheelPlayer).order_by(WheelPlayer.member_id))).all()
        balances = (await conn.execute(select(Member.id, Member.balance).order_by(Member.id))).all()
        budget = (await conn.execute(select(WheelBudget.day, WheelBudget.points))).all()
    return counted, players, balances, budget


async def test_a_spin_reveals_the_committed_seed_and_anyone_recomputes_it(
    api, uows, database, count_queries
):
    offer = await create(api, pointsCost=0, perMemberLimit=1)
    segments = [
        {"kind": "POINTS", "weight": 3, "points": 10},
        {"kind": "OFFER", "weight": 1, "offerId": offer},
        {"kind": "EXTRA_SPIN", "weight": 1},
        {"kind": "TRY_AGAIN", "weight": 3},
    ]
    configured = await configure(api, segments, extraSpinPrice=25)
    assert configured["errors"] == [] and configured["wheel"]["spins"] is None  # staff
    alice = await member(api, "alice")
    await api("query { me { points { balance } } }", token="member:alice")  # rules cached
    count_queries.count = 0
    await api("query { me { points { balance } } }", token="member:alice")
    without, count_queries.count = count_queries.count, 0
    with counting_checkouts(database) as checkouts:
        dashboard = await api(
            "query { me { spinsLeftToday nextFreeSpinAt points { balance } } }",
            token="member:alice",
        )
    # the spins join me's one batch, as columns of the member's statement
    assert (checkouts, count_queries.count) == ({"reader": 1, "writer": 0}, without)
    assert dashboard["data"]["me"]["spinsLeftToday"] == 1
    before = await wheel(api, "alice")
    shown = before["wheel"]
    assert [(s["kind"], s["chance"]) for s in shown["segments"]] == [
        ("POINTS", {"numerator": 3, "denominator": 8}),
        ("OFFER", {"numerator": 1, "denominator": 8}),
        ("EXTRA_SPIN", {"numerator": 1, "denominator": 8}),
        ("TRY_AGAIN", {"numerator": 3, "denominator": 8}),
    ]
    assert shown["spins"]["leftToday"] == before["me"]["spinsLeftToday"] == 1
    assert shown["spins"]["nextFreeSpinAt"] == before["me"]["nextFreeSpinAt"]
    assert before["me"]["nextFreeSpinAt"] == "2026-06-02T00:00:00+00:00"  # UTC member

    done = await spin(api, "alice", "first")

    landed = done["spin"]
    assert done["errors"] == [] and landed["paidWith"] == "FREE" and landed["nonce"] == 0
    assert landed["commitment"] == shown["spins"]["nextCommitment"]
    assert problems(landed, shown["spins"]["nextCommitment"]) == []
    assert problems({**landed, "segmentIndex": (landed["segmentIndex"] + 1) % 4}) != []
    after = done["wheel"]["spins"]
    assert after["nextNonce"] == 1 and after["nextCommitment"] != landed["commitment"]
    assert after["leftToday"] == (1 if landed["kind"] == "EXTRA_SPIN" else 0)
    assert landed["pointsWon"] == (10 if landed["kind"] == "POINTS" else 0)
    assert (landed["voucher"] or {}).get("origin") == (
        "WHEEL" if landed["kind"] == "OFFER" else None
    )
    assert (await assert_consistent(uows, alice)).balance == landed["pointsWon"]
    async with database.reader.connect() as conn:
        audit = (await conn.execute(select(AuditLog.actor_uid, AuditLog.action))).all()
    assert audit[-1] == ("mia", "configure_wheel")


async def test_twenty_concurrent_spins_with_one_spin_left_award_exactly_one(
    api, uows, database, client_for
):
    await configure(api, [P10, P10])
    alice = await member(api, "alice")
    small = open_database(database.url, Pools(readers=2, writers=2))
    try:
        async with client_for(small) as client:  # 20 at once over pools of 2
            answers = await asyncio.gather(
                *(spin(Api(client), "alice", f"race-{i}") for i in range(20))
            )
    finally:
        await small.dispose()
    outcomes = Counter(codes(a)[0] if a["errors"] else "OK" for a in answers)
    assert outcomes == {"OK": 1, "NO_SPINS_LEFT": 19}
    assert (await assert_consistent(uows, alice)).balance == 10
    async with database.reader.connect() as conn:
        spins = (await conn.execute(select(func.count()).select_from(WheelSpin))).scalar_one()
    assert spins == 1


async def test_members_spinning_at_once_never_overspend_the_days_budget(api, database):
    await configure(api, [P10, P10], dailyPointsBudget=50)
    for i in range(8):
        await member(api, f"m{i}")
    answers = await asyncio.gather(*(spin(api, f"m{i}", "k") for i in range(8)))
    paid = Counter((a["spin"]["pointsWon"], a["spin"]["void"]) for a in answers)
    assert paid == {(10, None): 5, (0, "BUDGET_SPENT"): 3}
    async with database.reader.connect() as conn:
        assert (await conn.execute(select(WheelBudget.points))).scalar_one() == 50


async def test_free_spins_refill_at_each_members_local_midnight(api, clock):
    await configure(api, [P10, {"kind": "TRY_AGAIN", "weight": 1}], freeSpinsPerDay=1)
    for uid, zone in (("kiri", "Pacific/Auckland"), ("lee", "America/Los_Angeles")):
        body = await api(
            "mutation E($i: EnrollInput!) { enroll(input: $i) { errors { code } } }",
            {"i": {"birthDate": "1990-05-17", "timeZone": zone}},
            f"member:{uid}",
        )
        assert body["data"]["enroll"]["errors"] == []
    # 12:00 UTC on 1 June: 00:00 on 2 June in Auckland, 05:00 on 1 June in Los Angeles
    assert (await spin(api, "kiri", "k1"))["errors"] == []
    assert (await spin(api, "lee", "l1"))["errors"] == []
    kiri, lee = await wheel(api, "kiri"), await wheel(api, "lee")
    assert kiri["me"] == {"spinsLeftToday": 0, "nextFreeSpinAt": "2026-06-02T12:00:00+00:00"}
    assert lee["me"] == {"spinsLeftToday": 0, "nextFreeSpinAt": "2026-06-02T07:00:00+00:00"}

    clock.advance(hours=18, minutes=59, seconds=59)  # 06:59:59 UTC on 2 June
    assert codes(await spin(api, "lee", "l2")) == ["NO_SPINS_LEFT"]
    clock.advance(seconds=1)  # midnight in Los Angeles, 19:00 in Auckland
    assert (await wheel(api, "lee"))["me"]["spinsLeftToday"] == 1
    assert (await spin(api, "lee", "l3"))["errors"] == []
    assert codes(await spin(api, "kiri", "k2")) == ["NO_SPINS_LEFT"]
    clock.advance(hours=5)  # midnight in Auckland
    assert (await spin(api, "kiri", "k3"))["errors"] == []


async def test_a_spent_budget_turns_points_into_try_again_in_the_odds_and_the_spins(
    api, uows, clock
):
    await configure(api, [P10, P10], dailyPointsBudget=15)
    alice, bob = await member(api, "alice"), await member(api, "bob")
    fresh = (await wheel(api, "bob"))["wheel"]
    assert fresh["odds"] == [{"kind": "POINTS", "chance": {"numerator": 1, "denominator": 1}}]
    assert (await spin(api, "alice", "a"))["spin"]["pointsWon"] == 10

    spent = (await wheel(api, "bob"))["wheel"]
    voided = (await spin(api, "bob", "b"))["spin"]

    assert spent["pointsBudgetLeftToday"] == 5
    assert spent["odds"] == [{"kind": "TRY_AGAIN", "chance": {"numerator": 1, "denominator": 1}}]
    assert [s["paysNow"] for s in spent["segments"]] == ["TRY_AGAIN", "TRY_AGAIN"]
    assert (voided["kind"], voided["void"], voided["pointsWon"]) == ("TRY_AGAIN", "BUDGET_SPENT", 0)
    assert problems(voided) == []
    assert (await assert_consistent(uows, bob)).balance == 0
    assert (await assert_consistent(uows, alice)).balance == 10
    clock.advance(hours=12)  # the next UTC day: a new budget
    assert (await wheel(api, "bob"))["wheel"]["odds"][0]["kind"] == "POINTS"
    assert (await spin(api, "bob", "b2"))["spin"]["pointsWon"] == 10


async def test_a_bought_spin_debits_once_however_often_it_is_replayed(api, uows, database):
    await configure(api, [P10, P10], extraSpinPrice=25)
    alice = await member(api, "alice")
    await give(uows, alice, 100)
    assert (await spin(api, "alice", "free"))["spin"]["paidWith"] == "FREE"

    key = "ж" * 128  # the longest key, stored with the member id in front
    bought = await spin(api, "alice", key, buy=True)
    before = await state(database)
    replays = [await spin(api, "alice", key, buy=True) for _ in range(3)]

    assert (bought["spin"]["paidWith"], bought["spin"]["pointsSpent"]) == ("BOUGHT", 25)
    assert all(r["spin"] == bought["spin"] for r in replays)
    assert await state(database) == before
    assert (await assert_consistent(uows, alice)).balance == 100 + 10 - 25 + 10
    async with database.reader.connect() as conn:
        debits = (
            await conn.execute(select(LedgerEntry.amount).where(LedgerEntry.amount < 0))
        ).all()
    assert [d.amount for d in debits] == [-25]


async def test_every_refusal_is_typed_and_changes_nothing(api, uows, database):
    alice = await member(api, "alice")
    before = await state(database)
    assert codes(await spin(api, "alice", "k")) == ["WHEEL_CLOSED"]
    assert await state(database) == before
    await configure(api, [P10, P10], freeSpinsPerDay=0)
    refusals = [
        ("nobody", "k", False, "NOT_ENROLLED", None),
        ("alice", "x" * 129, False, "INVALID_IDEMPOTENCY_KEY", "idempotencyKey"),
        ("alice", "k", False, "NO_SPINS_LEFT", "buyExtra"),
        ("alice", "k", True, "EXTRA_SPINS_NOT_SOLD", "buyExtra"),
    ]
    for uid, key, buy, code, field in refusals:
        before = await state(database)
        payload = await spin(api, uid, key, buy)
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [(code, field)], code
        assert payload["spin"] is None and await state(database) == before
    await configure(api, [P10, P10], freeSpinsPerDay=0, extraSpinPrice=25)
    before = await state(database)
    assert codes(await spin(api, "alice", "k", True)) == ["NOT_ENOUGH_POINTS"]
    assert await state(database) == before
    await give(uows, alice, 25)
    assert (await spin(api, "alice", "k", True))["errors"] == []
    before = await state(database)
    assert codes(await spin(api, "alice", "k", False)) == ["IDEMPOTENCY_CONFLICT"]
    async with uows() as uow:
        await uow.session.execute(update(Member).values(status="suspended"))
        await uow.commit()
    assert codes(await spin(api, "alice", "k2", True)) == ["MEMBER_INACTIVE"]
    assert await state(database) == before


async def test_bad_wheels_are_refused_with_the_field_and_members_may_not_configure(api, database):
    before = await state(database)
    cases = [
        ([P10], {}, "INVALID_SEGMENTS", "segments"),
        ([P10, {**P10, "weight": 0}], {}, "INVALID_WEIGHT", "segments.1.weight"),
        (
            [P10, {"kind": "OFFER", "weight": 1, "offerId": "bm9wZQ=="}],
            {},
            "INVALID_ID",
            "segments.1.offerId",
        ),
        (
            [P10, {"kind": "OFFER", "weight": 1, "offerId": "T2ZmZXI6OTk="}],
            {},
            "UNKNOWN_OFFER",
            "segments.1.offerId",
        ),
        ([P10, P10], {"extraSpinPrice": 0}, "INVALID_PRICE", "extraSpinPrice"),
        ([P10, P10], {"dailyPointsBudget": -1}, "INVALID_BUDGET", "dailyPointsBudget"),
    ]
    for segments, fields, code, field in cases:
        payload = await configure(api, segments, **fields)
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [(code, field)]
    body = await api(CONFIGURE, {"input": {"segments": [P10, P10]}}, "member:alice")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await state(database) == before


async def test_extra_spins_won_or_granted_are_banked_and_used_after_the_free_one(
    api, uows, database
):
    await configure(api, [{"kind": "EXTRA_SPIN", "weight": 1}] * 2)
    alice = await member(api, "alice")
    won = await spin(api, "alice", "a")
    assert (won["spin"]["kind"], won["wheel"]["spins"]["extra"]) == ("EXTRA_SPIN", 1)

    async def grant(uow):
        locked = await uow.lock_member(alice)
        given = [
            await grant_spins(uow, member=locked, count=2, reason="Surprise", source_ref="s-1")
            for _ in range(2)
        ]
        await uow.commit()
        return given

    assert await uows.run(grant) == [True, False]  # once per source reference
    assert (await wheel(api, "alice"))["me"]["spinsLeftToday"] == 3
    assert (await spin(api, "alice", "b"))["spin"]["paidWith"] == "EXTRA"
    assert (await wheel(api, "alice"))["me"]["spinsLeftToday"] == 3  # used one, won one

    await give(uows, alice, 100)
    offer = await create(api, kind="EXTRA_SPIN", percent=None, pointsCost=40, perMemberLimit=5)
    redeemed = [await redeem(api, "alice", offer, "r-1") for _ in range(2)]  # and a replay
    assert redeemed[0] == redeemed[1] and redeemed[0]["voucher"]["status"] == "USED"
    assert (await wheel(api, "alice"))["wheel"]["spins"]["extra"] == 4  # banked once
    assert (await assert_consistent(uows, alice)).balance == 60


async def test_spins_over_the_members_budget_are_rate_limited(client_for, database):
    async with client_for(database, rate_limit_spin_wheel="2/minute") as client:
        answers = [
            (
                await client.post(
                    "/graphql",
                    json={"query": SPIN, "variables": {"key": f"k{i}"}},
                    headers={"Authorization": "Bearer member:alice"},
                )
            ).json()
            for i in range(3)
        ]
    assert [a.get("errors", [{}])[0].get("extensions", {}).get("code") for a in answers] == [
        None,
        None,
        "RATE_LIMITED",
    ]
