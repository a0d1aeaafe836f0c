"""Staff find members: audited lookups by card number and e-mail, roles, revocation."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from backend.db.tables import AuditLog
from backend.rewards.members.rules import luhn_digit
from tests.api.operations import ADJUST, ENROLL

BY_CARD = """
query ByCard($card: String!, $reason: String!) {
  member(cardNumber: $card, reason: $reason) {
    id cardNumber email displayName points { balance pending } history(first: 5) { edges { node { kind } } }
  }
}"""
BY_EMAIL = """
query ByEmail($email: String!, $reason: String!) {
  memberByEmail(email: $email, reason: $reason) { id cardNumber email }
}"""
REASON = "Ticket 4711: missing points"
STAFF = ["marketing:mia", "admin:ada", "support:sam"]


async def enrolled(api, uid="alice"):
    """Enrol a member and return their id and card number."""
    body = await api(ENROLL, {"input": {"birthDate": "1990-05-17"}}, f"member:{uid}")
    member = body["data"]["enroll"]["member"]
    return member["id"], member["cardNumber"]


async def audits(database):
    """The audit trail: (actor, role, action, member id, reason, details) per row."""
    async with database.reader.connect() as conn:
        rows = (await conn.execute(select(AuditLog).order_by(AuditLog.id))).all()
    return [(r.actor_uid, r.actor_role, r.action, r.member_id, r.reason, r.details) for r in rows]


def spaced(card: str) -> str:
    """A card number as printed: four groups of four digits."""
    return " ".join(card[i : i + 4] for i in range(0, 16, 4))


@pytest.mark.parametrize("token", STAFF)
async def test_staff_find_a_member_by_card_number_and_email_and_each_read_is_audited(
    api, database, token
):
    member_id, card = await enrolled(api)
    await enrolled(api, "bob")
    body = await api(BY_CARD, {"card": spaced(card), "reason": REASON}, token)
    assert "errors" not in body
    found = body["data"]["member"]
    assert (found["id"], found["cardNumber"], found["email"]) == (
        member_id,
        card,
        "alice@example.com",
    )
    assert found["points"] == {"balance": 0, "pending": 0} and found["history"]["edges"] == []
    body = await api(BY_EMAIL, {"email": "  Alice@Example.COM ", "reason": REASON}, token)
    assert body["data"]["memberByEmail"] == {
        "id": member_id,
        "cardNumber": card,
        "email": "alice@example.com",
    }
    uid, role = token.split(":")[1], token.split(":")[0]
    pk = await member_pk(database, card)
    assert await audits(database) == [
        (
            uid,
            role,
            "read_member",
            pk,
            REASON,
            {"by": "cardNumber", "reference": card, "found": True},
        ),
        (
            uid,
            role,
            "read_member",
            pk,
            REASON,
            {"by": "email", "reference": "alice@example.com", "found": True},
        ),
    ]


async def member_pk(database, card):
    """The primary key of the member with a card number."""
    from backend.db.tables import Member

    async with database.reader.connect() as conn:
        return (
            await conn.execute(select(Member.id).where(Member.card_number == card))
        ).scalar_one()


async def test_unknown_references_are_null_and_audited_as_searches(api, database):
    await enrolled(api)
    unknown_card = "812345678901234" + luhn_digit("812345678901234")
    body = await api(BY_CARD, {"card": unknown_card, "reason": REASON}, "support:sam")
    assert body == {"data": {"member": None}}
    body = await api(BY_EMAIL, {"email": "nobody@example.com", "reason": REASON}, "support:sam")
    assert body == {"data": {"memberByEmail": None}}
    assert await audits(database) == [
        ("sam", "support", "read_member", None, REASON, {"by": "cardNumber", "reference": unknown_card, "found": False}),
        ("sam", "support", "read_member", None, REASON, {"by": "email", "reference": "nobody@example.com", "found": False}),
    ]  # fmt: skip


async def test_malformed_references_are_null_and_read_nothing(api, database):
    _, card = await enrolled(api)
    wrong_check_digit = card[:-1] + str((int(card[-1]) + 1) % 10)
    for bad in [
        "",
        "123",
        "abcd efgh ijkl mnop",
        wrong_check_digit,
        card * 5,
        "8" * 10_000,
        "٣" * 15 + "0",
    ]:
        body = await api(BY_CARD, {"card": bad, "reason": REASON}, "marketing:mia")
        assert body == {"data": {"member": None}}, bad
    for bad in ["", "alice", "@example.com", "alice@", "alice@localhost", "a b@example.com",
                "alice\t@example.com", "x" * 250 + "@example.com", "al\x00ice@example.com"]:  # fmt: skip
        body = await api(BY_EMAIL, {"email": bad, "reason": REASON}, "marketing:mia")
        assert body == {"data": {"memberByEmail": None}}, bad
    assert await audits(database) == []


async def test_a_lookup_needs_a_reason(api, database):
    _, card = await enrolled(api)
    reasons = [
        "",
        "  ",
        "ok",
        "...",
        "x" * 501,
        "\u200b\u200b\u200b",
        "Ticket\x00 1",
    ]
    for reason in reasons:
        request = {"query": BY_CARD, "variables": {"card": card, "reason": reason}}
        response = await api.client.post(
            "/graphql",
            content=json.dumps(request),
            headers={"Authorization": "Bearer support:sam", "Content-Type": "application/json"},
        )
        body = response.json()
        assert body["data"] == {"member": None}
        (error,) = body["errors"]
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "reason"}, reason
    assert await audits(database) == []


async def test_members_integrations_and_anonymous_callers_cannot_look_members_up(api, database):
    _, card = await enrolled(api)
    for token, code in [
        ("member:alice", "FORBIDDEN"),
        ("member:bob", "FORBIDDEN"),
        ("integration:pos-ams", "FORBIDDEN"),
        (None, "UNAUTHENTICATED"),
    ]:
        for query, variables in [
            (BY_CARD, {"card": card, "reason": REASON}),
            (BY_EMAIL, {"email": "alice@example.com", "reason": REASON}),
        ]:
            body = await api(query, variables, token)
            assert not any((body["data"] or {}).values())
            assert [e["extensions"]["code"] for e in body["errors"]] == [code], (token, query)
    assert await audits(database) == []


async def test_lookups_recheck_revocation_from_the_short_cache_and_a_revoked_token_reads_nothing(
    api, database, verifier
):
    _, card = await enrolled(api)
    body = await api(BY_CARD, {"card": card, "reason": REASON}, "support:sam")
    assert body["data"]["member"]["cardNumber"] == card
    assert verifier.checks == [("sam", True)]  # a read may use a recent answer
    verifier.revoked.add("sam")
    body = await api(BY_CARD, {"card": card, "reason": REASON}, "support:sam")
    assert body["data"] == {"member": None}
    assert body["errors"][0]["extensions"]["code"] == "TOKEN_REVOKED"
    body = await api(BY_EMAIL, {"email": "alice@example.com", "reason": REASON}, "support:sam")
    assert body["errors"][0]["extensions"]["code"] == "TOKEN_REVOKED"
    assert len(await audits(database)) == 1


async def test_support_reads_but_cannot_adjust_points_and_adjustments_ask_afresh(
    api, database, verifier
):
    member_id, _ = await enrolled(api)
    data = {"memberId": member_id, "points": 10, "reason": "Goodwill", "idempotencyKey": "k-1"}
    body = await api(ADJUST, {"input": data}, "support:sam")
    assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert verifier.checks == []
    body = await api(ADJUST, {"input": data}, "marketing:mia")
    assert body["data"]["adjustPoints"]["errors"] == []
    assert verifier.checks == [("mia", False)]  # a change to a balance never uses the cache
    assert [a[2] for a in await audits(database)] == ["adjust_points"]


async def test_two_lookups_in_one_request_are_two_audit_rows(api, database):
    _, card = await enrolled(api)
    query = """query($card: String!) {
      a: member(cardNumber: $card, reason: "Ticket 1") { cardNumber }
      b: memberByEmail(email: "alice@example.com", reason: "Ticket 2") { cardNumber }
    }"""
    body = await api(query, {"card": card}, "admin:ada")
    assert body == {"data": {"a": {"cardNumber": card}, "b": {"cardNumber": card}}}
    assert sorted(a[4] for a in await audits(database)) == ["Ticket 1", "Ticket 2"]


async def test_staff_reading_a_member_by_global_id_is_audited_and_rechecked(
    api, database, verifier
):
    member_id, card = await enrolled(api)
    query = "query($id: ID!) { node(id: $id) { ... on Member { cardNumber } } }"
    body = await api(query, {"id": member_id}, "support:sam")
    assert body == {"data": {"node": {"cardNumber": card}}}
    body = await api(query, {"id": member_id}, "member:alice")  # a member reading themself
    assert body == {"data": {"node": {"cardNumber": card}}}
    assert verifier.checks == [("sam", True)]
    pk = await member_pk(database, card)
    assert await audits(database) == [
        ("sam", "support", "read_member", pk, "Read by global id", {"by": "id", "reference": str(pk), "found": True})
    ]  # fmt: skip
    verifier.revoked.add("sam")
    body = await api(query, {"id": member_id}, "support:sam")
    assert body["errors"][0]["extensions"]["code"] == "TOKEN_REVOKED"
    assert len(await audits(database)) == 1


async def test_staff_adjust_points_by_card_number(api, database):
    member_id, card = await enrolled(api)
    data = {"memberReference": spaced(card), "points": 70, "reason": "Late parcel", "idempotencyKey": "k-1"}  # fmt: skip
    payload = (await api(ADJUST, {"input": data}, "marketing:mia"))["data"]["adjustPoints"]
    assert payload["errors"] == [] and payload["member"]["points"]["balance"] == 70
    by_id = {**data, "memberId": member_id}
    del by_id["memberReference"]
    replay = (await api(ADJUST, {"input": by_id}, "marketing:mia"))["data"]["adjustPoints"]
    assert replay["entry"]["id"] == payload["entry"]["id"]  # the same member, the same request
    assert [(a[2], a[3]) for a in await audits(database)] == [
        ("adjust_points", await member_pk(database, card))
    ]


async def test_an_adjustment_names_exactly_one_member_or_gets_a_typed_error(api, database):
    member_id, card = await enrolled(api)
    base = {"points": 10, "reason": "Goodwill", "idempotencyKey": "k"}
    unknown = "812345678901234" + luhn_digit("812345678901234")
    cases = [
        ("MEMBER_REQUIRED", "memberId", {}),
        ("AMBIGUOUS_MEMBER", "memberReference", {"memberId": member_id, "memberReference": card}),
        ("INVALID_MEMBER_REFERENCE", "memberReference", {"memberReference": "1234"}),
        ("INVALID_MEMBER_REFERENCE", "memberReference", {"memberReference": card[:-1] + "x"}),
        ("MEMBER_NOT_FOUND", "memberReference", {"memberReference": unknown}),
    ]
    for code, field, member in cases:
        payload = (await api(ADJUST, {"input": {**base, **member}}, "marketing:mia"))["data"]
        assert payload["adjustPoints"]["entry"] is None
        assert [(e["code"], e["field"]) for e in payload["adjustPoints"]["errors"]] == [
            (code, field)
        ], member
    assert await audits(database) == []
    me = await api(
        "{ me { points { balance } history(first: 1) { edges { cursor } } } }", token="member:alice"
    )
    assert me["data"]["me"] == {"points": {"balance": 0}, "history": {"edges": []}}
