"""History shows pending points as pending: status, availableAt and the points each entry moved."""

from __future__ import annotations

from backend.rewards.jobs import settle_due
from tests.api.operations import ADJUST, ENROLL, RECORD, REFUND

ALICE = "member:alice"
HISTORY = """
query {
  me {
    points { balance pending }
    history(first: 10) {
      edges { node { id kind status points availableAt pendingPoints balanceAfter pendingAfter
                     relatedEntry { kind status availableAt } } }
    }
  }
}"""


async def enrolled(api):
    """Enrol Alice; return her member id and card number."""
    body = await api(ENROLL, {"input": {"birthDate": "1990-05-17"}}, ALICE)
    member = body["data"]["enroll"]["member"]
    return member["id"], member["cardNumber"]


def order(card, order_id="A-1", amount="120.50"):
    """A store purchase paid at the start of June 2026."""
    return {
        "input": {
            "orderId": order_id,
            "memberReference": card,
            "amount": amount,
            "currency": "EUR",
            "channel": "store-ams-01",
            "occurredAt": "2026-06-01T11:00:00+00:00",
            "lines": [],
        }
    }


async def history(api):
    """The signed-in member's points and entries, newest first, without ids."""
    me = (await api(HISTORY, token=ALICE))["data"]["me"]
    entries = [e["node"] for e in me["history"]["edges"]]
    for entry in entries:
        del entry["id"]
    return me["points"], entries


async def test_a_pending_purchase_shows_its_points_as_pending_until_they_are_released(
    api, clock, uows
):
    _, card = await enrolled(api)
    await api(RECORD, order(card), "integration:pos")
    points, entries = await history(api)
    assert points == {"balance": 0, "pending": 120}
    assert entries == [
        {
            "kind": "EARN",
            "status": "PENDING",
            "points": 120,
            "availableAt": "2026-06-15T12:00:00+00:00",
            "pendingPoints": 120,
            "balanceAfter": 0,
            "pendingAfter": 120,
            "relatedEntry": None,
        }
    ]
    clock.advance(days=15)
    await settle_due(uows)
    points, entries = await history(api)
    assert points == {"balance": 120, "pending": 0}
    assert entries == [
        {
            "kind": "RELEASE",
            "status": "POSTED",
            "points": 120,
            "availableAt": None,
            "pendingPoints": -120,
            "balanceAfter": 120,
            "pendingAfter": 0,
            "relatedEntry": {"kind": "EARN", "status": "POSTED", "availableAt": None},
        },
        {
            "kind": "EARN",
            "status": "POSTED",
            "points": 120,
            "availableAt": None,
            "pendingPoints": 120,
            "balanceAfter": 0,
            "pendingAfter": 120,
            "relatedEntry": None,
        },
    ]


async def test_a_refund_of_pending_points_shows_the_points_it_took_back(api):
    _, card = await enrolled(api)
    await api(RECORD, order(card, amount="100"), "integration:pos")
    refund = {"orderId": "A-1", "refundId": "R-1", "amount": "25", "currency": "EUR"}
    body = await api(REFUND, {"input": refund}, "integration:pos")
    assert body["data"]["refundPurchase"]["errors"] == []
    points, entries = await history(api)
    assert points == {"balance": 0, "pending": 75}
    reverse, earn = entries
    assert (reverse["kind"], reverse["status"], reverse["points"], reverse["pendingPoints"]) == (
        "REVERSE",
        "POSTED",
        -25,
        -25,
    )
    assert reverse["relatedEntry"] == {
        "kind": "EARN",
        "status": "PENDING",
        "availableAt": "2026-06-15T12:00:00+00:00",
    }
    assert (earn["status"], earn["points"], earn["pendingAfter"]) == ("PENDING", 100, 100)


async def test_spendable_entries_are_posted_with_their_balance_change(api):
    member_id, _ = await enrolled(api)
    data = {"memberId": member_id, "points": 40, "reason": "Goodwill", "idempotencyKey": "g-1"}
    payload = (await api(ADJUST, {"input": data}, "marketing:mia"))["data"]["adjustPoints"]
    assert payload["errors"] == []
    query = "mutation($input: AdjustPointsInput!) { adjustPoints(input: $input) { entry { status points availableAt } } }"
    replay = (await api(query, {"input": data}, "marketing:mia"))["data"]["adjustPoints"]
    assert replay["entry"] == {"status": "POSTED", "points": 40, "availableAt": None}
    data = {**data, "points": -15, "idempotencyKey": "g-2"}
    await api(ADJUST, {"input": data}, "marketing:mia")
    points, entries = await history(api)
    assert points == {"balance": 25, "pending": 0}
    assert [(e["kind"], e["status"], e["points"], e["balanceAfter"]) for e in entries] == [
        ("ADJUST", "POSTED", -15, 25),
        ("ADJUST", "POSTED", 40, 40),
    ]


async def test_an_entry_node_shows_the_same_status(api):
    _, card = await enrolled(api)
    await api(RECORD, order(card), "integration:pos")
    me = (await api(HISTORY, token=ALICE))["data"]["me"]
    entry_id = me["history"]["edges"][0]["node"]["id"]
    query = "query($id: ID!) { node(id: $id) { ... on LedgerEntry { status points availableAt } } }"
    node = (await api(query, {"id": entry_id}, ALICE))["data"]["node"]
    assert node == {"status": "PENDING", "points": 120, "availableAt": "2026-06-15T12:00:00+00:00"}
