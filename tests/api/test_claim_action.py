"""claimAction(PRODUCT_VIEWED): counted views per category, idempotent, rate limited, refusals typed."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from backend.db.tables import IdempotencyKey, LedgerEntry, MemberCategory
from tests.api.conftest import Api
from tests.api.personal_support import CLAIM, category_rows, enrol, view
from tests.conftest import START
from tests.helpers import give, member_row


async def rows_and_keys(database) -> tuple[int, int, int]:
    """Counts of what a refused claim must leave alone."""
    async with database.reader.connect() as conn:
        return tuple(
            [
                (await conn.execute(select(func.count()).select_from(t))).scalar_one()
                for t in (MemberCategory, IdempotencyKey, LedgerEntry)
            ]
        )


async def test_views_are_counted_per_category_with_the_last_time_and_earn_nothing(
    api, uows, database, clock
):
    alice, _ = await enrol(api, "alice")
    await give(uows, alice, 50)
    first = await view(api, "alice", "knitwear", sku="KNIT-1")
    assert first["errors"] == []
    assert first["action"] == {
        "action": "PRODUCT_VIEWED",
        "category": "knitwear",
        "sku": "KNIT-1",
        "pointsAwarded": 0,
        "views": 1,
        "claimedAt": START.isoformat(),
    }
    later = clock.advance(hours=1)
    for _ in range(4):
        await view(api, "alice", "knitwear")
    assert (await view(api, "alice", "tea"))["action"]["views"] == 1
    assert await category_rows(database, alice) == [
        ("knitwear", 0, 5, later),
        ("tea", 0, 1, later),
    ]
    assert (await member_row(uows, alice)).balance == 50


async def test_a_replayed_key_records_nothing_more_and_gets_the_first_answer(
    api, uows, database, clock
):
    alice, _ = await enrol(api, "alice")
    first = await view(api, "alice", "tea", idempotencyKey="v-1")
    clock.advance(minutes=5)
    again = await view(api, "alice", "tea", idempotencyKey="v-1")
    assert again == first
    assert await category_rows(database, alice) == [("tea", 0, 1, START)]
    conflict = await view(api, "alice", "shoes", idempotencyKey="v-1")
    assert [(e["code"], e["field"]) for e in conflict["errors"]] == [
        ("IDEMPOTENCY_CONFLICT", "idempotencyKey")
    ]


async def test_concurrent_views_above_the_pool_sizes_count_each_once(api, uows, database):
    alice, _ = await enrol(api, "alice")
    answers = await asyncio.gather(*(view(api, "alice", "tea") for _ in range(16)))
    assert sorted(a["action"]["views"] for a in answers) == list(range(1, 17))
    keyed = await asyncio.gather(
        *(view(api, "alice", "shoes", idempotencyKey="k") for _ in range(8))
    )
    assert {a["action"]["views"] for a in keyed} == {1}
    assert [r[:3] for r in await category_rows(database, alice)] == [
        ("shoes", 0, 1),
        ("tea", 0, 16),
    ]


REFUSALS = [
    ({"category": None}, "CATEGORY_REQUIRED", "category"),
    ({"category": "spaceships"}, "UNKNOWN_CATEGORY", "category"),
    ({"category": "TEA"}, "UNKNOWN_CATEGORY", "category"),
    ({"category": "x" * 65}, "INVALID_CATEGORY", "category"),
    ({"category": "te\x00a"}, "INVALID_CATEGORY", "category"),
    ({"category": "\u202etea"}, "INVALID_CATEGORY", "category"),
    ({"category": ""}, "INVALID_CATEGORY", "category"),
    ({"category": "tea", "sku": "s" * 65}, "INVALID_SKU", "sku"),
    ({"category": "tea", "sku": "A\nB"}, "INVALID_SKU", "sku"),
    ({"category": "tea", "idempotencyKey": "k" * 129}, "INVALID_IDEMPOTENCY_KEY", "idempotencyKey"),
    ({"category": "tea", "idempotencyKey": ""}, "INVALID_IDEMPOTENCY_KEY", "idempotencyKey"),
]


@pytest.mark.parametrize(("fields", "code", "field"), REFUSALS)
async def test_every_refusal_is_typed_and_records_nothing(api, database, fields, code, field):
    await enrol(api, "alice")
    before = await rows_and_keys(database)
    variables = {"input": {"action": "PRODUCT_VIEWED", **fields}}
    payload = (await api(CLAIM, variables, "member:alice"))["data"]["claimAction"]
    assert payload["action"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [(code, field)]
    assert await rows_and_keys(database) == before


async def test_inputs_at_their_widths_are_accepted(api, database):
    alice, _ = await enrol(api, "alice")
    payload = await view(api, "alice", "tea", sku="S" * 64, idempotencyKey="k" * 128)
    assert payload["errors"] == [] and payload["action"]["sku"] == "S" * 64
    assert await category_rows(database, alice) == [("tea", 0, 1, START)]


async def test_a_caller_who_is_not_an_enrolled_member_is_refused(api):
    body = await api(CLAIM, {"input": {"action": "PRODUCT_VIEWED", "category": "tea"}}, "member:x")
    assert [e["code"] for e in body["data"]["claimAction"]["errors"]] == ["NOT_ENROLLED"]
    for token in ("integration:pos", "marketing:mia", None):
        body = await api(CLAIM, {"input": {"action": "PRODUCT_VIEWED", "category": "tea"}}, token)
        assert body["errors"][0]["extensions"]["code"] in {"FORBIDDEN", "UNAUTHENTICATED"}


async def test_claims_over_the_members_budget_are_rate_limited(client_for, database, rate_store):
    async with client_for(database, rate_limit_claim_action="2/minute", **rate_store) as client:
        api = Api(client)
        await enrol(api, "alice")
        await enrol(api, "bob")
        codes = []
        for _ in range(3):
            body = await api(
                CLAIM, {"input": {"action": "PRODUCT_VIEWED", "category": "tea"}}, "member:alice"
            )
            codes.append(body.get("errors", [{}])[0].get("extensions", {}).get("code"))
        assert codes == [None, None, "RATE_LIMITED"]
        assert (await view(api, "bob", "tea"))["errors"] == []  # a budget per member
