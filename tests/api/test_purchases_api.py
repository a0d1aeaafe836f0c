"""Purchases, refunds and staff adjustments through the API, with roles and bad input."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from backend.db.tables import AuditLog, LedgerEntry, Purchase
from backend.rewards.members.rules import luhn_digit
from tests.api.operations import ADJUST, ENROLL, ME, RECORD, REFUND
from tests.helpers import assert_consistent

POS = "integration:pos-ams"
MIA = "marketing:mia"
ALICE = "member:alice"


async def enrolled(api, token=ALICE):
    """Enrol a member and return their id and card number."""
    body = await api(ENROLL, {"input": {"birthDate": "1990-05-17"}}, token)
    member = body["data"]["enroll"]["member"]
    return member["id"], member["cardNumber"]


def order(card, order_id="A-1", amount="120.50", currency="EUR", **kw):
    """A purchase input as a store system sends it."""
    data = {
        "orderId": order_id,
        "memberReference": card,
        "amount": amount,
        "currency": currency,
        "channel": "store-ams-01",
        "occurredAt": "2026-06-01T11:00:00+00:00",
        "lines": [{"sku": "JEANS-32", "category": "denim", "unitPrice": amount, "quantity": 1}],
    }
    data.update(kw)
    return {"input": data}


async def counts(database):
    """Entries and purchases stored."""
    async with database.reader.connect() as conn:
        entries = (await conn.execute(select(func.count()).select_from(LedgerEntry))).scalar_one()
        purchases = (await conn.execute(select(func.count()).select_from(Purchase))).scalar_one()
    return entries, purchases


async def test_a_purchase_earns_pending_points_that_become_spendable(api, clock, uows):
    _, card = await enrolled(api)
    payload = (await api(RECORD, order(card), POS))["data"]["recordPurchase"]
    assert payload["errors"] == []
    assert payload["purchase"]["points"] == 120 and payload["purchase"]["memberReference"] == card
    me = (await api(ME, token=ALICE))["data"]["me"]
    assert me["points"]["balance"] == 0 and me["points"]["pending"] == 120
    assert me["history"]["edges"][0]["node"]["sourceRef"] == "A-1"
    clock.advance(days=15)
    from backend.rewards.jobs import settle_due

    await settle_due(uows)
    me = (await api(ME, token=ALICE))["data"]["me"]
    assert me["points"] == {
        "balance": 120,
        "pending": 0,
        "expiringSoon": {"points": 0, "firstDate": None, "windowDays": 30},
    }
    assert me["tier"]["qualifyingPoints"] == 120 and me["tier"]["pointsToNext"] == 380
    assert [e["node"]["kind"] for e in me["history"]["edges"]] == ["RELEASE", "EARN"]


async def test_a_replayed_order_credits_once_and_a_changed_replay_is_refused(api, database):
    _, card = await enrolled(api)
    first = (await api(RECORD, order(card), POS))["data"]["recordPurchase"]
    again = (await api(RECORD, order(card), POS))["data"]["recordPurchase"]
    assert again == first
    changed = (await api(RECORD, order(card, amount="999"), POS))["data"]["recordPurchase"]
    assert changed["purchase"] is None
    assert [(e["code"], e["field"]) for e in changed["errors"]] == [
        ("IDEMPOTENCY_CONFLICT", "orderId")
    ]
    assert await counts(database) == (1, 1)


async def test_concurrent_replays_of_one_order_credit_it_once(api, database, uows):
    member_id, card = await enrolled(api)
    bodies = await asyncio.gather(
        *(api(RECORD, order(card, order_id="RACE-1"), POS) for _ in range(20))
    )
    ids = {b["data"]["recordPurchase"]["purchase"]["id"] for b in bodies}
    assert len(ids) == 1 and all(b["data"]["recordPurchase"]["errors"] == [] for b in bodies)
    assert await counts(database) == (1, 1)
    from strawberry.relay import GlobalID

    member = await assert_consistent(uows, int(GlobalID.from_id(member_id).node_id))
    assert member.pending == 120


async def test_bad_purchase_input_gets_typed_errors_and_changes_nothing(api, database):
    _, card = await enrolled(api)
    cases = [
        ("INVALID_AMOUNT", order(card, amount="-5")),
        ("INVALID_AMOUNT", order(card, amount="0")),
        ("INVALID_AMOUNT", order(card, amount="1e12")),
        ("INVALID_AMOUNT", order(card, amount="10.123456")),
        ("UNKNOWN_CURRENCY", order(card, currency="XYZ")),
        ("UNKNOWN_CURRENCY", order(card, currency="eur")),
        ("INVALID_ORDER_ID", order(card, order_id=" ")),
        ("INVALID_MEMBER_REFERENCE", order("12345")),
        ("MEMBER_NOT_FOUND", order("800000000000000" + luhn_digit("800000000000000"))),
        ("INVALID_TIME", order(card, occurredAt="2030-01-01T00:00:00+00:00")),
        ("INVALID_LINE", order(card, lines=[{"sku": "", "unitPrice": "1"}])),
    ]
    for code, variables in cases:
        payload = (await api(RECORD, variables, POS))["data"]["recordPurchase"]
        assert [e["code"] for e in payload["errors"]] == [code], variables
    assert await counts(database) == (0, 0)


async def test_only_integrations_record_purchases(api, database):
    _, card = await enrolled(api)
    for token in (ALICE, MIA, None):
        body = await api(RECORD, order(card), token)
        assert body["errors"][0]["extensions"]["code"] in {"FORBIDDEN", "UNAUTHENTICATED"}
    assert await counts(database) == (0, 0)


async def test_partial_then_full_refunds_reverse_points_proportionally(api, uows, clock):
    _, card = await enrolled(api)
    await api(RECORD, order(card, amount="200"), POS)
    refund = {"orderId": "A-1", "refundId": "R-1", "amount": "50", "currency": "EUR"}
    first = (await api(REFUND, {"input": refund}, POS))["data"]["refundPurchase"]
    assert first["errors"] == [] and first["purchase"]["reversedPoints"] == 50
    replay = (await api(REFUND, {"input": refund}, POS))["data"]["refundPurchase"]
    assert replay["purchase"]["reversedPoints"] == 50
    too_much = (await api(REFUND, {"input": {**refund, "refundId": "R-2", "amount": "151"}}, POS))[
        "data"
    ]["refundPurchase"]
    assert [e["code"] for e in too_much["errors"]] == ["REFUND_EXCEEDS_PURCHASE"]
    rest = (await api(REFUND, {"input": {**refund, "refundId": "R-3", "amount": "150"}}, POS))[
        "data"
    ]["refundPurchase"]
    assert (
        rest["purchase"]["reversedPoints"] == 200 and rest["purchase"]["refundedAmount"] == "200.00"
    )
    me = (await api(ME, token=ALICE))["data"]["me"]
    assert me["points"]["pending"] == 0 and me["points"]["balance"] == 0


async def test_a_refund_after_points_were_spent_drives_the_balance_negative(api, uows, clock):
    member_id, card = await enrolled(api)
    await api(RECORD, order(card, amount="100"), POS)
    clock.advance(days=15)
    from strawberry.relay import GlobalID

    from tests.helpers import spend

    pk = int(GlobalID.from_id(member_id).node_id)
    await spend(uows, pk, 80)
    refund = {"orderId": "A-1", "refundId": "R-1", "amount": "100", "currency": "EUR"}
    payload = (await api(REFUND, {"input": refund}, POS))["data"]["refundPurchase"]
    assert payload["errors"] == []
    member = await assert_consistent(uows, pk)
    assert (member.balance, member.debt) == (-80, 80)


async def test_refund_errors_are_typed(api):
    _, card = await enrolled(api)
    await api(RECORD, order(card, amount="100"), POS)
    base = {"orderId": "A-1", "refundId": "R-1", "amount": "10", "currency": "EUR"}
    cases = [
        ("PURCHASE_NOT_FOUND", {**base, "orderId": "NOPE"}),
        ("CURRENCY_MISMATCH", {**base, "currency": "USD"}),
        ("INVALID_AMOUNT", {**base, "amount": "-1"}),
        ("INVALID_REFUND_ID", {**base, "refundId": ""}),
    ]
    for code, data in cases:
        payload = (await api(REFUND, {"input": data}, POS))["data"]["refundPurchase"]
        assert [e["code"] for e in payload["errors"]] == [code]
    me = (await api(ME, token=ALICE))["data"]["me"]
    assert me["points"]["pending"] == 100


async def test_staff_adjust_points_with_a_reason_and_an_audit_trail(api, database):
    member_id, _ = await enrolled(api)
    data = {
        "memberId": member_id,
        "points": 250,
        "reason": "Goodwill after a late parcel",
        "idempotencyKey": "adj-1",
    }
    payload = (await api(ADJUST, {"input": data}, MIA))["data"]["adjustPoints"]
    assert payload["errors"] == []
    assert payload["entry"]["kind"] == "ADJUST" and payload["entry"]["source"] == "STAFF"
    assert payload["member"]["points"]["balance"] == 250
    replay = (await api(ADJUST, {"input": data}, MIA))["data"]["adjustPoints"]
    assert replay["entry"]["id"] == payload["entry"]["id"]
    async with database.reader.connect() as conn:
        audits = (await conn.execute(select(AuditLog))).all()
    assert [(a.actor_uid, a.action, a.reason) for a in audits] == [
        ("mia", "adjust_points", "Goodwill after a late parcel")
    ]


async def test_bad_adjustments_are_typed_and_change_nothing(api, database, verifier):
    member_id, _ = await enrolled(api)
    base = {"memberId": member_id, "points": 10, "reason": "Because", "idempotencyKey": "k"}
    cases = [
        ("REASON_REQUIRED", {**base, "reason": " "}),
        ("INVALID_POINTS", {**base, "points": 0}),
        ("INVALID_ID", {**base, "memberId": "not-an-id"}),
        ("INVALID_ID", {**base, "memberId": "UHVyY2hhc2U6MQ=="}),  # a Purchase id
        ("MEMBER_NOT_FOUND", {**base, "memberId": "TWVtYmVyOjk5OTk="}),  # Member:9999
        ("INSUFFICIENT_POINTS", {**base, "points": -10}),
    ]
    for code, data in cases:
        payload = (await api(ADJUST, {"input": data}, MIA))["data"]["adjustPoints"]
        assert [e["code"] for e in payload["errors"]] == [code], data
    body = await api(ADJUST, {"input": base}, ALICE)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    verifier.revoked.add("mia")
    body = await api(ADJUST, {"input": base}, MIA)
    assert body["errors"][0]["extensions"]["code"] == "TOKEN_REVOKED"
    assert await counts(database) == (0, 0)


async def test_purchase_and_entry_nodes_are_visible_only_to_their_owner_and_integrations(api):
    _, card = await enrolled(api)
    await enrolled(api, token="member:bob")
    purchase_id = (await api(RECORD, order(card), POS))["data"]["recordPurchase"]["purchase"]["id"]
    query = "query($id: ID!) { node(id: $id) { id ... on Purchase { orderId } ... on LedgerEntry { reason } } }"
    for token, expected in ((POS, "A-1"), (ALICE, "A-1"), ("member:bob", None)):
        node = (await api(query, {"id": purchase_id}, token))["data"]["node"]
        assert (node or {}).get("orderId") == expected, token
    entry_id = (await api(ME, token=ALICE))["data"]["me"]["history"]["edges"][0]["node"]["id"]
    assert (await api(query, {"id": entry_id}, ALICE))["data"]["node"]["reason"] == "Purchase A-1"
    assert (await api(query, {"id": entry_id}, "member:bob"))["data"]["node"] is None
    assert (await api(query, {"id": "bm9wZTox"}, ALICE))["data"]["node"] is None  # "nope:1"
