"""A purchase happening now may leave out `occurredAt`: it is stamped when it is recorded."""

from __future__ import annotations

from tests.api.operations import ENROLL

POS = "integration:pos-ams"
RECORD = """
mutation Record($input: RecordPurchaseInput!) {
  recordPurchase(input: $input) {
    purchase { id orderId points occurredAt }
    errors { code field }
  }
}"""


async def test_a_purchase_without_occurred_at_happens_now_and_replays_as_such(api, clock):
    body = await api(ENROLL, {"input": {"birthDate": "1990-05-17"}}, "member:alice")
    card = body["data"]["enroll"]["member"]["cardNumber"]
    order = {
        "orderId": "NOW-1",
        "memberReference": card,
        "amount": "50",
        "currency": "EUR",
        "channel": "online",
    }
    first = (await api(RECORD, {"input": order}, POS))["data"]["recordPurchase"]
    assert first["errors"] == []
    assert first["purchase"]["occurredAt"] == clock.now().isoformat()
    clock.advance(minutes=10)
    replay = (await api(RECORD, {"input": order}, POS))["data"]["recordPurchase"]
    assert replay == first
    stamped = {**order, "occurredAt": first["purchase"]["occurredAt"]}
    changed = (await api(RECORD, {"input": stamped}, POS))["data"]["recordPurchase"]
    assert [e["code"] for e in changed["errors"]] == ["IDEMPOTENCY_CONFLICT"]
    me = await api("{ me { points { pending } } }", token="member:alice")
    assert me["data"]["me"]["points"]["pending"] == 50
