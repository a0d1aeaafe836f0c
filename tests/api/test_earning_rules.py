"""Earning by actions: seeded rules, caps in the member's local day (also under concurrency),
streaks, who may report what, verified reports and marketing's configuration; refusals change nothing."""

from __future__ import annotations

import asyncio

from sqlalchemy import delete, func, select

from backend.db.tables import (
    ActionTally,
    AuditLog,
    EarningRule,
    IdempotencyKey,
    LedgerEntry,
    Member,
)
from backend.rewards.members.rules import luhn_digit
from tests.api.operations import ENROLL

POS = "integration:pos-ams"
MIA = "marketing:mia"

CLAIM = """
mutation Claim($input: ClaimActionInput!) {
  claimAction(input: $input) {
    action { action pointsAwarded bonusPoints streak }
    errors { code field }
  }
}"""

VERIFIED = """
mutation Verified($input: RecordVerifiedActionInput!) {
  recordVerifiedAction(input: $input) {
    action { action memberReference quantity reference pointsAwarded bonusPoints streak recordedAt }
    errors { code field }
  }
}"""

CONFIGURE = """
mutation Configure($input: ConfigureEarningRuleInput!) {
  configureEarningRule(input: $input) {
    rule { action points unit dailyCap lifetimeCap reporter streakDays streakBonus }
    errors { code field }
  }
}"""

RULES = (
    "{ earningRules { action points unit dailyCap lifetimeCap reporter streakDays streakBonus } }"
)


async def enrol(api, uid: str, **fields: object) -> str:
    """Enrol a member; their card number."""
    data = {"birthDate": "1990-05-17", **fields}
    body = await api(ENROLL, {"input": data}, f"member:{uid}")
    return body["data"]["enroll"]["member"]["cardNumber"]


async def claim(api, uid: str, action: str, **fields: object) -> dict:
    """A member claims an action."""
    body = await api(CLAIM, {"input": {"action": action, **fields}}, f"member:{uid}")
    return body["data"]["claimAction"]


async def verified(api, card: str, kind: str, key: str, **fields: object) -> dict:
    """An integration reports a verified action."""
    data = {"memberReference": card, "action": kind, "reference": "ref-1", "idempotencyKey": key}
    body = await api(VERIFIED, {"input": {**data, **fields}}, POS)
    return body["data"]["recordVerifiedAction"]


async def state(database) -> tuple[int, ...]:
    """What a refusal must leave alone: entries, tallies, keys, audit rows and the balances."""
    async with database.reader.connect() as conn:
        counts = [
            (await conn.execute(select(func.count()).select_from(t))).scalar_one()
            for t in (LedgerEntry, ActionTally, IdempotencyKey, AuditLog)
        ]
        balances = (await conn.execute(select(func.sum(Member.balance)))).scalar_one()
        points = (await conn.execute(select(func.sum(EarningRule.points)))).scalar_one()
    return (*counts, balances or 0, points)


async def test_the_daily_cap_counts_the_members_local_day(api, database, clock):
    # Given a member in Auckland (UTC+12 in June): START, 1 June 12:00 UTC, is 2 June 00:00 there
    await enrol(api, "alice", timeZone="Pacific/Auckland")
    awarded = [
        (await claim(api, "alice", "SOCIAL_SHARE"))["action"]["pointsAwarded"] for _ in "abc"
    ]
    assert awarded == [5, 5, 5]
    before = await state(database)
    clock.advance(hours=23, minutes=59)  # 2 June 23:59 in Auckland: the same local day
    refused = await claim(api, "alice", "SOCIAL_SHARE")
    assert refused == {"action": None, "errors": [{"code": "DAILY_CAP_REACHED", "field": "action"}]}
    assert await state(database) == before
    clock.advance(minutes=1)  # 3 June in Auckland though only noon of 2 June in UTC
    assert (await claim(api, "alice", "SOCIAL_SHARE"))["action"]["pointsAwarded"] == 5


async def test_twenty_concurrent_claims_and_reports_stay_within_the_daily_caps(api, database):
    card = await enrol(api, "alice")
    answers = await asyncio.gather(*(claim(api, "alice", "SOCIAL_SHARE") for _ in range(20)))
    assert sorted(a["action"]["pointsAwarded"] for a in answers if a["action"]) == [5, 5, 5]
    assert [a["errors"][0]["code"] for a in answers if not a["action"]] == [
        "DAILY_CAP_REACHED"
    ] * 17
    async with database.reader.connect() as conn:
        balance = (await conn.execute(select(Member.balance))).scalar_one()
        tallies = (await conn.execute(select(ActionTally.period, ActionTally.points))).all()
    assert balance == 15 and sorted(tallies) == [("2026-06-01", 15), ("lifetime", 15)]
    answers = await asyncio.gather(
        *(verified(api, card, "FITNESS_STEPS", f"day-{i}", quantity=3000) for i in range(20))
    )
    assert sum(a["action"]["pointsAwarded"] for a in answers if a["action"]) == 10
    assert {a["errors"][0]["code"] for a in answers if not a["action"]} == {"DAILY_CAP_REACHED"}
    async with database.reader.connect() as conn:
        assert (await conn.execute(select(Member.balance))).scalar_one() == 15 + 10


async def test_once_only_actions_earn_once_and_members_cannot_report_integration_ones(
    api, database
):
    await enrol(api, "alice")
    await enrol(api, "bob", displayName="Bob")
    before = await state(database)
    assert (await claim(api, "alice", "PROFILE_COMPLETED"))["errors"] == [
        {"code": "PROFILE_INCOMPLETE", "field": "action"}
    ]
    assert (await claim(api, "alice", "STYLE_ID_COMPLETED"))["errors"] == [
        {"code": "STYLE_ID_INCOMPLETE", "field": "action"}
    ]
    assert await state(database) == before
    assert (await claim(api, "bob", "PROFILE_COMPLETED"))["action"]["pointsAwarded"] == 50
    retries = await asyncio.gather(
        *(claim(api, "bob", "SURVEY_COMPLETED", idempotencyKey="survey-1") for _ in range(8))
    )
    assert [r["action"]["pointsAwarded"] for r in retries] == [20] * 8  # one award, 8 answers
    before = await state(database)
    again = await claim(api, "bob", "PROFILE_COMPLETED")
    assert again["errors"] == [{"code": "LIFETIME_CAP_REACHED", "field": "action"}]
    assert await state(database) == before
    before = await state(database)
    for action in ("REVIEW_WRITTEN", "RECYCLING_RETURN", "FITNESS_STEPS"):
        answer = await claim(api, "alice", action, idempotencyKey=f"k-{action}")
        assert answer == {
            "action": None,
            "errors": [{"code": "INTEGRATION_ONLY", "field": "action"}],
        }
    assert await state(database) == before
    body = await api(VERIFIED, {"input": {}}, "member:alice")
    assert body["errors"][0]["extensions"]["code"] in {"BAD_USER_INPUT", "FORBIDDEN"}


async def test_a_seven_day_app_open_streak_earns_its_bonus_once(api, clock):
    await enrol(api, "alice", timeZone="Europe/Amsterdam")
    seen = []
    for day in range(8):
        answer = (await claim(api, "alice", "APP_OPENED"))["action"]
        seen.append((answer["streak"], answer["pointsAwarded"], answer["bonusPoints"]))
        if day == 6:
            assert (await claim(api, "alice", "APP_OPENED"))["errors"][0]["code"] == (
                "DAILY_CAP_REACHED"
            )
        clock.advance(days=1)
    assert seen == [(1, 1, 0)] * 0 + [(d, 1, 20 if d == 7 else 0) for d in range(1, 9)]
    clock.advance(days=1)  # a day missed: the streak starts again
    assert (await claim(api, "alice", "APP_OPENED"))["action"]["streak"] == 1


async def test_verified_steps_earn_per_thousand_within_the_cap_and_replays_change_nothing(
    api, database, clock
):
    card = await enrol(api, "alice")
    first = await verified(api, card, "FITNESS_STEPS", "d1", quantity=2500)
    assert first["action"] == {
        "action": "FITNESS_STEPS",
        "memberReference": card,
        "quantity": 2500,
        "reference": "ref-1",
        "pointsAwarded": 2,
        "bonusPoints": 0,
        "streak": 1,
        "recordedAt": "2026-06-01T12:00:00+00:00",
    }
    clock.advance(minutes=1)
    assert await verified(api, card, "FITNESS_STEPS", "d1", quantity=2500) == first
    capped = await verified(api, card, "FITNESS_STEPS", "d2", quantity=1_000_000)
    assert capped["action"]["pointsAwarded"] == 8  # what the daily cap of 10 left
    before = await state(database)
    conflict = await verified(api, card, "FITNESS_STEPS", "d1", quantity=3000)
    assert conflict["errors"] == [{"code": "IDEMPOTENCY_CONFLICT", "field": "idempotencyKey"}]
    assert await state(database) == before
    review = await verified(api, card, "REVIEW_WRITTEN", "K" * 128, reference="R" * 128)
    assert review["action"]["pointsAwarded"] == 25 and review["action"]["reference"] == "R" * 128


UNKNOWN_CARD = "800000000000000" + luhn_digit("800000000000000")
VERIFIED_REFUSALS = [
    ({"quantity": 0}, "INVALID_QUANTITY", "quantity"),
    ({"quantity": 1_000_001}, "INVALID_QUANTITY", "quantity"),
    ({"quantity": 999}, "QUANTITY_TOO_SMALL", "quantity"),
    ({"reference": "r" * 129}, "INVALID_REFERENCE", "reference"),
    ({"reference": "a\x00b"}, "INVALID_REFERENCE", "reference"),
    ({"idempotencyKey": "k" * 129}, "INVALID_IDEMPOTENCY_KEY", "idempotencyKey"),
    ({"idempotencyKey": ""}, "INVALID_IDEMPOTENCY_KEY", "idempotencyKey"),
    ({"memberReference": "nope"}, "INVALID_MEMBER_REFERENCE", "memberReference"),
    ({"memberReference": UNKNOWN_CARD}, "MEMBER_NOT_FOUND", "memberReference"),
    ({"action": "PRODUCT_VIEWED"}, "NOT_VERIFIABLE", "action"),
]


async def test_every_verified_refusal_is_typed_and_changes_nothing(api, database):
    card = await enrol(api, "alice")
    before = await state(database)
    for fields, code, field in VERIFIED_REFUSALS:
        answer = await verified(api, card, "FITNESS_STEPS", "k", **{"quantity": 1500, **fields})
        assert answer == {"action": None, "errors": [{"code": code, "field": field}]}, fields
    assert await state(database) == before
    async with database.writer.begin() as conn:
        await conn.execute(delete(EarningRule).where(EarningRule.action == "recycling_return"))
    before = await state(database)
    answer = await verified(api, card, "RECYCLING_RETURN", "k")
    assert answer["errors"] == [{"code": "ACTION_DISABLED", "field": "action"}]
    async with database.writer.begin() as conn:
        await conn.execute(Member.__table__.update().values(status="suspended"))
    answer = await verified(api, card, "REVIEW_WRITTEN", "k")
    assert answer["errors"] == [{"code": "MEMBER_INACTIVE", "field": "memberReference"}]
    assert (await claim(api, "alice", "SOCIAL_SHARE"))["errors"][0]["code"] == "MEMBER_INACTIVE"
    assert await state(database) == before


CONFIGURE_REFUSALS = [
    ({"points": -1}, "INVALID_POINTS", "points"),
    ({"points": 100_001, "reporter": "INTEGRATION"}, "INVALID_POINTS", "points"),
    ({"action": "PRODUCT_VIEWED", "points": 1}, "INVALID_POINTS", "points"),
    ({"unit": 0}, "INVALID_UNIT", "unit"),
    ({"unit": 1_000_001}, "INVALID_UNIT", "unit"),
    ({"dailyCap": 0}, "INVALID_CAP", "dailyCap"),
    ({"lifetimeCap": 1_000_000_001}, "INVALID_CAP", "lifetimeCap"),
    ({"streakDays": 1, "streakBonus": 5}, "INVALID_STREAK", "streakDays"),
    ({"streakDays": 367, "streakBonus": 5}, "INVALID_STREAK", "streakDays"),
    ({"streakBonus": 5}, "INVALID_STREAK", "streakBonus"),
    ({"streakDays": 7}, "INVALID_STREAK", "streakBonus"),
    ({"points": 51}, "TOO_VALUABLE_FOR_MEMBERS", "reporter"),
    ({"streakDays": 7, "streakBonus": 51}, "TOO_VALUABLE_FOR_MEMBERS", "reporter"),
]


SHARE = {"action": "SOCIAL_SHARE", "points": 10, "dailyCap": 30, "reporter": "MEMBER"}


async def test_seeded_rules_then_marketing_configures_one_audited_applying_at_once(api, database):
    rules = {r["action"]: r for r in (await api(RULES, {}, POS))["data"]["earningRules"]}
    assert len(rules) == 9
    assert rules["FITNESS_STEPS"] == {
        "action": "FITNESS_STEPS",
        "points": 1,
        "unit": 1000,
        "dailyCap": 10,
        "lifetimeCap": None,
        "reporter": "INTEGRATION",
        "streakDays": None,
        "streakBonus": 0,
    }
    assert rules["APP_OPENED"]["streakDays"] == 7 and rules["APP_OPENED"]["streakBonus"] == 20
    assert rules["PROFILE_COMPLETED"]["lifetimeCap"] == rules["PROFILE_COMPLETED"]["points"] == 50
    assert rules["PRODUCT_VIEWED"]["points"] == 0
    assert {a for a, r in rules.items() if r["reporter"] == "INTEGRATION"} == {
        "REVIEW_WRITTEN",
        "RECYCLING_RETURN",
        "FITNESS_STEPS",
    }
    before = await state(database)
    for fields, code, field in CONFIGURE_REFUSALS:
        body = await api(CONFIGURE, {"input": {**SHARE, **fields}}, MIA)
        assert body["data"]["configureEarningRule"] == {
            "rule": None,
            "errors": [{"code": code, "field": field}],
        }, fields
    assert await state(database) == before
    await enrol(api, "alice")
    answer = (await api(CONFIGURE, {"input": SHARE}, MIA))["data"]["configureEarningRule"]
    assert answer["errors"] == [] and answer["rule"]["points"] == 10
    async with database.reader.connect() as conn:
        audit = (await conn.execute(select(AuditLog.actor_uid, AuditLog.details))).one()
    assert audit.actor_uid == "mia" and audit.details["before"]["points"] == 5
    assert audit.details["after"]["points"] == 10
    assert (await claim(api, "alice", "SOCIAL_SHARE"))["action"]["pointsAwarded"] == 10
    limits = {
        "action": "RECYCLING_RETURN",
        "points": 100_000,
        "unit": 1_000_000,
        "dailyCap": 1_000_000_000,
        "lifetimeCap": 1,
        "reporter": "INTEGRATION",
        "streakDays": 366,
        "streakBonus": 100_000,
    }
    answer = (await api(CONFIGURE, {"input": limits}, MIA))["data"]["configureEarningRule"]
    assert answer == {"rule": limits, "errors": []}
    for token in ("member:alice", POS):
        body = await api(CONFIGURE, {"input": SHARE}, token)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
