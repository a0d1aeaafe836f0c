"""Bonus events: a bonus weekend doubles exactly the purchases inside its window (boundaries in two
time zones), overlapping events give the best multiplier, an event limited to a segment counts
for its members only, members see active and coming ones."""

from __future__ import annotations

from sqlalchemy import func, select
from strawberry import relay

from backend.db.tables import AuditLog, BonusEvent, RulesVersion
from tests.api.operations import ENROLL, RECORD
from tests.api.test_marketing_api import SAVE, save

POS = "integration:pos-ams"
MIA = "marketing:mia"

CREATE = """
mutation Create($input: CreateBonusEventInput!) {
  createBonusEvent(input: $input) {
    bonusEvent { id name multiplier startsAt endsAt categories tiers segmentLimited activeNow }
    errors { code field }
  }
}"""

LIST = """
query Events($when: BonusEventWhen!, $first: Int!, $after: String) {
  bonusEvents(when: $when, first: $first, after: $after) {
    edges { cursor node { name activeNow segmentLimited } }
    pageInfo { hasNextPage endCursor }
  }
}"""

# Saturday 6 June to Monday 8 June 2026, midnight in Amsterdam (UTC+2)
WEEKEND = {
    "name": "Double points weekend",
    "multiplier": "2",
    "startsAt": "2026-06-06T00:00:00+02:00",
    "endsAt": "2026-06-08T00:00:00+02:00",
}


async def enrol(api, uid: str, birth_date: str = "1990-05-17") -> str:
    """Enrol a member; their card number."""
    body = await api(ENROLL, {"input": {"birthDate": birth_date}}, f"member:{uid}")
    return body["data"]["enroll"]["member"]["cardNumber"]


async def create(api, **fields: object) -> dict:
    """Marketing creates an event."""
    body = await api(CREATE, {"input": {**WEEKEND, **fields}}, MIA)
    return body["data"]["createBonusEvent"]


async def points(api, card: str, order: str, at: str, lines=None, amount="100") -> int:
    """A store reports a purchase that occurred at `at`; the points it earned."""
    data = {
        "orderId": order,
        "memberReference": card,
        "amount": amount,
        "currency": "EUR",
        "channel": "store-ams-01",
        "occurredAt": at,
        "lines": lines or [],
    }
    body = await api(RECORD, {"input": data}, POS)
    assert body["data"]["recordPurchase"]["errors"] == [], body
    return body["data"]["recordPurchase"]["purchase"]["points"]


async def test_a_bonus_weekend_doubles_exactly_the_purchases_inside_its_window(api, clock):
    card = await enrol(api, "alice")
    assert (await create(api))["errors"] == []
    clock.advance(days=8)  # purchases are reported after the weekend, with when they occurred
    at = {
        # Amsterdam (UTC+2): the last second before, the first and last inside, the end
        "2026-06-05T23:59:59+02:00": 100,
        "2026-06-06T00:00:00+02:00": 200,
        "2026-06-07T23:59:59+02:00": 200,
        "2026-06-08T00:00:00+02:00": 100,
        # New York (UTC-4): the same boundaries read from another time zone
        "2026-06-05T17:59:59-04:00": 100,
        "2026-06-05T18:00:00-04:00": 200,
        "2026-06-07T17:59:59-04:00": 200,
        "2026-06-07T18:00:00-04:00": 100,
    }
    earned = {t: await points(api, card, f"o-{i}", t) for i, t in enumerate(at)}
    assert earned == at


async def test_overlapping_events_give_the_best_multiplier_of_those_that_apply(api, clock):
    card = await enrol(api, "alice")
    assert (await create(api))["errors"] == []
    outerwear = await create(api, name="Coats x5", multiplier="5", categories=["outerwear"])
    assert outerwear["errors"] == []
    gold = await create(api, name="Gold x10", multiplier="10", tiers=["gold", "platinum"])
    assert gold["bonusEvent"]["tiers"] == ["gold", "platinum"]
    clock.advance(days=6)  # inside the weekend
    half = [
        {"sku": "COAT", "category": "outerwear", "unitPrice": "50"},
        {"sku": "JEAN", "category": "jeans", "unitPrice": "50"},
    ]
    # x5 on half the order is x3 for it, better than x2 (not x10, nor their product)
    assert await points(api, card, "mixed", "2026-06-06T12:00:00Z", half) == 300
    jeans = [{"sku": "JEAN", "category": "jeans", "unitPrice": "100"}]
    assert await points(api, card, "jeans", "2026-06-06T12:00:00Z", jeans) == 200
    assert await points(api, card, "no-lines", "2026-06-06T12:00:00Z") == 200


async def test_a_segment_limited_event_doubles_only_its_members_purchases(api, clock):
    may, june = await enrol(api, "may"), await enrol(api, "june", "1990-06-02")
    segment = (await save(api, "Born in May", birthdayMonth=5))["segment"]["id"]
    event = await create(api, segmentId=segment)
    assert event["errors"] == [] and event["bonusEvent"]["segmentLimited"] is True
    # the event keeps the filter it was created with: editing the segment changes nothing
    edit = {"segmentId": segment, "name": "Born in June", "filter": {"birthdayMonth": 6}}
    assert (await api(SAVE, {"input": edit}, MIA))["data"]["saveSegment"]["errors"] == []
    assert (await create(api, name="Everyone x1.5", multiplier="1.5"))["errors"] == []
    clock.advance(days=6)  # inside the weekend
    # the best of the events that apply: x2 for the segment's member, x1.5 for the other
    assert await points(api, may, "may-1", "2026-06-06T12:00:00Z") == 200
    assert await points(api, june, "june-1", "2026-06-06T12:00:00Z") == 150
    listed = (await api(LIST, {"when": "ACTIVE_NOW", "first": 5}, "member:june"))["data"]
    assert [e["node"]["segmentLimited"] for e in listed["bonusEvents"]["edges"]] == [True, False]


async def state(database) -> tuple[int, int, int]:
    """What a refusal must leave alone: events, audit rows and the rules version."""
    async with database.reader.connect() as conn:
        events = (await conn.execute(select(func.count()).select_from(BonusEvent))).scalar_one()
        audits = (await conn.execute(select(func.count()).select_from(AuditLog))).scalar_one()
        version = (await conn.execute(select(RulesVersion.version))).scalar_one()
    return events, audits, version


REFUSALS = [
    ({"name": ""}, "INVALID_NAME", "name"),
    ({"name": "n" * 81}, "INVALID_NAME", "name"),
    ({"multiplier": "1"}, "INVALID_MULTIPLIER", "multiplier"),
    ({"multiplier": "10.001"}, "INVALID_MULTIPLIER", "multiplier"),
    ({"multiplier": "1.0005"}, "INVALID_MULTIPLIER", "multiplier"),
    ({"multiplier": "NaN"}, "INVALID_MULTIPLIER", "multiplier"),
    ({"endsAt": WEEKEND["startsAt"]}, "INVALID_WINDOW", "endsAt"),
    ({"endsAt": "2026-09-06T00:00:01+02:00"}, "INVALID_WINDOW", "endsAt"),  # 92 days + 1 s
    (
        {"startsAt": "2026-05-01T00:00:00Z", "endsAt": "2026-06-01T12:00:00Z"},
        "INVALID_WINDOW",
        "endsAt",
    ),
    ({"categories": ["outerwear", "spaceships"]}, "UNKNOWN_CATEGORY", "categories.1"),
    ({"categories": ["jeans", "jeans"]}, "UNKNOWN_CATEGORY", "categories.1"),
    ({"categories": ["jeans"] * 51}, "TOO_MANY_CODES", "categories"),
    ({"tiers": ["diamond"]}, "UNKNOWN_TIER", "tiers.0"),
    ({"segmentId": relay.to_base64("Segment", 999)}, "UNKNOWN_SEGMENT", "segmentId"),
    ({"segmentId": relay.to_base64("Club", 1)}, "UNKNOWN_SEGMENT", "segmentId"),
]


async def test_every_refusal_is_typed_and_changes_nothing_and_limits_are_accepted(api, database):
    before = await state(database)
    for fields, code, field in REFUSALS:
        answer = await create(api, **fields)
        assert answer == {"bonusEvent": None, "errors": [{"code": code, "field": field}]}, fields
    assert await state(database) == before
    for token in ("member:alice", POS):
        body = await api(CREATE, {"input": WEEKEND}, token)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    widest = {
        "name": "N" * 80,
        "multiplier": "10",
        "endsAt": "2026-09-06T00:00:00+02:00",  # 92 days exactly
        "categories": ["outerwear"],
        "tiers": ["member", "silver", "gold", "platinum"],
    }
    event = (await create(api, **widest))["bonusEvent"]
    assert (event["name"], event["multiplier"], event["endsAt"]) == (
        "N" * 80,
        "10.000",
        "2026-09-05T22:00:00+00:00",
    )
    async with database.reader.connect() as conn:
        audit = (await conn.execute(select(AuditLog.actor_uid, AuditLog.action))).one()
    assert tuple(audit) == ("mia", "create_bonus_event")
    assert (await state(database))[2] == before[2] + 1  # a program rule: cached rules re-read


async def test_members_see_events_active_now_and_coming_page_by_page(api, clock):
    for day in (3, 4, 5):
        start = f"2026-06-0{day}T00:00:00Z"
        answer = await create(api, name=f"Day {day}", startsAt=start, endsAt="2026-06-09T00:00:00Z")
        assert answer["errors"] == [] and answer["bonusEvent"]["activeNow"] is False
    variables = {"when": "COMING", "first": 2}
    first = (await api(LIST, variables, "member:alice"))["data"]["bonusEvents"]
    assert [e["node"]["name"] for e in first["edges"]] == ["Day 3", "Day 4"]
    assert first["pageInfo"]["hasNextPage"] is True
    after = {**variables, "after": first["pageInfo"]["endCursor"]}
    rest = (await api(LIST, after, "member:alice"))["data"]["bonusEvents"]
    assert [e["node"]["name"] for e in rest["edges"]] == ["Day 5"]
    clock.advance(days=3)  # 4 June, noon
    active = (await api(LIST, {"when": "ACTIVE_NOW", "first": 10}, "member:alice"))["data"]
    assert [
        (e["node"]["name"], e["node"]["activeNow"]) for e in active["bonusEvents"]["edges"]
    ] == [("Day 3", True), ("Day 4", True)]
