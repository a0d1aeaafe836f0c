"""Purchases, refunds and staff adjustments through the API, with roles and bad input."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select, text

from backend.db.tables import AuditLog, IdempotencyKey, LedgerEntry, Purchase
from backend.rewards.jobs import settle_due
from backend.rewards.members.rules import luhn_digit
from tests.api.operations import ADJUST, ENROLL, ME, RECORD, REFUND
from tests.helpers import assert_consistent, give, member_row, spend

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


async def test_one_order_id_sent_at_once_for_two_members_is_stored_once_and_conflicts_for_the_other(
    api, database, uows
):
    alice_id, alice_card = await enrolled(api)
    bob_id, bob_card = await enrolled(api, "member:bob")
    cards = [alice_card, bob_card] * 10
    bodies = await asyncio.gather(*(api(RECORD, order(c, order_id="RACE-2"), POS) for c in cards))
    answers = [b["data"]["recordPurchase"] for b in bodies]
    won = {a["purchase"]["memberReference"] for a in answers if a["purchase"]}
    assert len(won) == 1  # whichever member's request committed first keeps the order id
    for card, answer in zip(cards, answers, strict=True):
        codes = [e["code"] for e in answer["errors"]]
        assert codes == ([] if card in won else ["IDEMPOTENCY_CONFLICT"]), answer
    assert await counts(database) == (1, 1)
    for member_id in (alice_id, bob_id):
        await assert_consistent(uows, pk(member_id))


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


def pk(global_id: str) -> int:
    """The database id behind a Member global id."""
    from strawberry.relay import GlobalID

    return int(GlobalID.from_id(global_id).node_id)


async def suspend(uows, member_id: int) -> None:
    """Suspend a membership, as support would."""
    async with uows() as uow:
        member = await uow.lock_member(member_id)
        member.status = "suspended"
        await uow.commit()


async def change_rules(database) -> None:
    """Marketing changes the earn rate and lowers the largest accepted order."""
    async with database.writer.begin() as conn:
        await conn.execute(
            text("UPDATE currency_rate SET points_per_unit = 5 WHERE currency = 'EUR'")
        )
        await conn.execute(
            text("UPDATE program_setting SET value = '\"10\"' WHERE key = 'max_purchase_amount'")
        )


async def test_a_replay_answers_the_first_result_after_suspension_and_rule_changes(
    api, database, uows
):
    member_id, card = await enrolled(api)
    first = (await api(RECORD, order(card), POS))["data"]["recordPurchase"]
    assert first["errors"] == [] and first["purchase"]["points"] == 120
    await suspend(uows, pk(member_id))
    await change_rules(database)
    again = (await api(RECORD, order(card), POS))["data"]["recordPurchase"]
    assert again == first
    fresh = (await api(RECORD, order(card, order_id="A-2", amount="5"), POS))["data"]
    assert [e["code"] for e in fresh["recordPurchase"]["errors"]] == ["MEMBER_INACTIVE"]
    conflict = (await api(RECORD, order(card, amount="121"), POS))["data"]["recordPurchase"]
    assert [(e["code"], e["field"]) for e in conflict["errors"]] == [
        ("IDEMPOTENCY_CONFLICT", "orderId")
    ]
    assert await counts(database) == (1, 1)


async def test_a_replayed_refund_answers_as_it_did_the_first_time(api, database, uows):
    member_id, card = await enrolled(api)
    await api(RECORD, order(card, amount="200"), POS)
    refund = {"orderId": "A-1", "refundId": "R-1", "amount": "50", "currency": "EUR"}
    first = (await api(REFUND, {"input": refund}, POS))["data"]["refundPurchase"]
    assert first["purchase"] == {
        "orderId": "A-1",
        "points": 200,
        "refundedAmount": "50.00",
        "reversedPoints": 50,
    }
    later = {**refund, "refundId": "R-2", "amount": "150"}
    assert (await api(REFUND, {"input": later}, POS))["data"]["refundPurchase"]["errors"] == []
    await suspend(uows, pk(member_id))
    await change_rules(database)
    again = (await api(REFUND, {"input": refund}, POS))["data"]["refundPurchase"]
    assert again == first
    changed = (await api(REFUND, {"input": {**refund, "amount": "40"}}, POS))["data"]
    assert [(e["code"], e["field"]) for e in changed["refundPurchase"]["errors"]] == [
        ("IDEMPOTENCY_CONFLICT", "refundId")
    ]
    assert await counts(database) == (3, 1)
    member = await assert_consistent(uows, pk(member_id))
    assert member.pending == 0


async def test_refunds_take_the_longest_order_and_refund_ids(api, database, uows):
    member_id, card = await enrolled(api)
    order_id, refund_id = "O" * 128, "R" * 128
    recorded = (await api(RECORD, order(card, order_id=order_id, amount="100"), POS))["data"]
    assert recorded["recordPurchase"]["errors"] == []
    refund = {"orderId": order_id, "refundId": refund_id, "amount": "100", "currency": "EUR"}
    first = (await api(REFUND, {"input": refund}, POS))["data"]["refundPurchase"]
    assert first["errors"] == [] and first["purchase"]["reversedPoints"] == 100
    assert (await api(REFUND, {"input": refund}, POS))["data"]["refundPurchase"] == first
    changed = (await api(REFUND, {"input": {**refund, "amount": "1"}}, POS))["data"]
    assert [e["field"] for e in changed["refundPurchase"]["errors"]] == ["refundId"]
    async with database.reader.connect() as conn:
        keys = (await conn.execute(select(IdempotencyKey.scope, IdempotencyKey.key))).all()
    assert sorted(keys) == [("purchase", order_id), ("refund", f"128:{order_id}:{refund_id}")]
    assert await counts(database) == (2, 1)
    assert (await assert_consistent(uows, pk(member_id))).pending == 0


async def test_concurrent_replays_of_one_refund_reverse_it_once(api, database, uows):
    member_id, card = await enrolled(api)
    await api(RECORD, order(card, amount="100"), POS)
    refund = {"orderId": "A-1", "refundId": "R-1", "amount": "30", "currency": "EUR"}
    bodies = await asyncio.gather(*(api(REFUND, {"input": refund}, POS) for _ in range(20)))
    answers = [b["data"]["refundPurchase"] for b in bodies]
    assert all(a == answers[0] for a in answers) and answers[0]["errors"] == []
    assert answers[0]["purchase"]["reversedPoints"] == 30
    assert await counts(database) == (2, 1)
    assert (await assert_consistent(uows, pk(member_id))).pending == 70


async def test_a_replayed_adjustment_answers_its_entry_and_a_changed_one_names_the_key(
    api, database, uows
):
    member_id, _ = await enrolled(api)
    data = {"memberId": member_id, "points": 40, "reason": "Goodwill", "idempotencyKey": "adj-9"}
    first = (await api(ADJUST, {"input": data}, MIA))["data"]["adjustPoints"]
    assert first["entry"]["kind"] == "ADJUST" and first["entry"]["points"] == 40
    await suspend(uows, pk(member_id))
    await change_rules(database)
    again = (await api(ADJUST, {"input": data}, MIA))["data"]["adjustPoints"]
    assert again["entry"] == first["entry"] and again["errors"] == []
    changed = (await api(ADJUST, {"input": {**data, "points": 41}}, MIA))["data"]["adjustPoints"]
    assert [(e["code"], e["field"]) for e in changed["errors"]] == [
        ("IDEMPOTENCY_CONFLICT", "idempotencyKey")
    ]
    assert await counts(database) == (1, 0)


async def dashboard_points(api) -> dict:
    """The signed-in member's points as the app shows them."""
    return (await api(ME, token=ALICE))["data"]["me"]["points"]


async def test_the_balance_drops_expired_points_when_they_expire_not_when_the_job_runs(
    api, uows, clock
):
    member_id, _ = await enrolled(api)
    await give(uows, pk(member_id), 100)
    clock.advance(days=350)
    warned = await dashboard_points(api)
    assert warned["balance"] == 100 and warned["expiringSoon"]["points"] == 100
    assert warned["expiringSoon"]["firstDate"] == "2027-06-01T12:00:00+00:00"
    clock.advance(days=15)
    assert await dashboard_points(api) == {
        "balance": 0,
        "pending": 0,
        "expiringSoon": {"points": 0, "firstDate": None, "windowDays": 30},
    }
    assert (await member_row(uows, pk(member_id))).balance == 100  # the job has not run
    await settle_due(uows)
    assert (await assert_consistent(uows, pk(member_id))).balance == 0
    assert (await dashboard_points(api))["balance"] == 0


async def test_matured_pending_points_show_as_balance_before_the_job_releases_them(
    api, uows, clock
):
    member_id, card = await enrolled(api)
    await api(RECORD, order(card), POS)
    clock.advance(days=14)
    shown = await dashboard_points(api)
    assert (shown["balance"], shown["pending"]) == (120, 0)
    cached = await member_row(uows, pk(member_id))
    assert (cached.balance, cached.pending) == (0, 120)
    await settle_due(uows)
    settled = await assert_consistent(uows, pk(member_id))
    assert (settled.balance, settled.pending) == (120, 0) == (shown["balance"], shown["pending"])


async def test_matured_points_repay_debt_first_in_the_balance_shown(api, uows, clock):
    member_id, card = await enrolled(api)
    await api(RECORD, order(card, amount="100"), POS)
    clock.advance(days=15)
    await settle_due(uows)
    await spend(uows, pk(member_id), 80)
    refund = {"orderId": "A-1", "refundId": "R-1", "amount": "100", "currency": "EUR"}
    assert (await api(REFUND, {"input": refund}, POS))["data"]["refundPurchase"]["errors"] == []
    await api(RECORD, order(card, order_id="A-2", amount="200"), POS)
    assert (await dashboard_points(api))["balance"] == -80
    clock.advance(days=15)
    shown = await dashboard_points(api)
    assert (shown["balance"], shown["pending"]) == (120, 0)
    await settle_due(uows)
    settled = await assert_consistent(uows, pk(member_id))
    assert (settled.balance, settled.pending, settled.debt) == (120, 0, 0)
