"""The top-level error contract: every client mistake is coded and logged as one line."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import func, select

from backend.api import documents
from backend.db.tables import LedgerEntry, Member, Purchase
from tests.api.operations import ENROLL, RECORD

ALICE = "member:alice"
POS = "integration:pos-1"
HISTORY = "query History($n: Int!) { me { history(first: $n) { edges { cursor } } } }"
ENROLL_LITERAL = 'mutation { enroll(input: {birthDate: "%s"}) { errors { code } } }'
HISTORY_LITERAL = "query History { me { history(first: %s) { edges { cursor } } } }"


def purchase(**fields):
    """A purchase input with some fields replaced."""
    data = {
        "orderId": "A-1",
        "memberReference": "0000000000000",
        "amount": "10.00",
        "currency": "EUR",
        "channel": "store-ams-01",
        "occurredAt": "2026-06-01T11:00:00+00:00",
        "lines": [{"sku": "S", "category": "denim", "unitPrice": "10.00", "quantity": 1}],
    }
    data.update(fields)
    return {"input": data}


BAD_INPUT = [
    ("int-as-string", HISTORY, {"n": "five"}, ALICE, "'$n'"),
    ("missing-variable", HISTORY, {}, ALICE, "'$n'"),
    ("int-as-float-variable", HISTORY, {"n": 1.5}, ALICE, "'$n'"),
    ("int-over-2^31-variable", HISTORY, {"n": 2**31}, ALICE, "'$n'"),
    ("int-as-float-literal", HISTORY_LITERAL % "1.5", None, ALICE, "'first'"),
    ("int-over-2^31-literal", HISTORY_LITERAL % "2147483648", None, ALICE, "'first'"),
    ("impossible-date", ENROLL, {"input": {"birthDate": "1990-02-30"}}, ALICE, ".birthDate"),
    ("impossible-date-literal", ENROLL_LITERAL % "1990-02-30", None, ALICE, ".birthDate"),
    ("date-as-number", ENROLL, {"input": {"birthDate": 19900101}}, ALICE, ".birthDate"),
    ("unknown-input-field", ENROLL, {"input": {"birthDate": "1990-01-01", "x": 1}}, ALICE, "'x'"),
    ("decimal-abc", RECORD, purchase(amount="abc"), POS, ".amount"),
    ("decimal-in-line", RECORD, purchase(lines=[{"sku": "S", "unitPrice": "x"}]), POS, "unitPrice"),
    ("datetime-garbage", RECORD, purchase(occurredAt="yesterday"), POS, ".occurredAt"),
    (
        "null-for-default",
        'query N($id: ID = "x") { node(id: $id) { id } }',
        {"id": None},
        ALICE,
        "'id'",
    ),
    ("boolean-for-int", HISTORY, {"n": True}, ALICE, "'$n'"),
]


@pytest.mark.parametrize(
    ("query", "variables", "token", "mentions"),
    [case[1:] for case in BAD_INPUT],
    ids=[case[0] for case in BAD_INPUT],
)
async def test_bad_input_is_bad_user_input_and_changes_nothing(
    api, database, caplog, query, variables, token, mentions
):
    caplog.set_level(logging.INFO, logger="rewards.api")
    response = await api.raw(query, variables, token)
    errors = response.json()["errors"]
    assert [e["extensions"]["code"] for e in errors] == ["BAD_USER_INPUT"] * len(errors)
    assert mentions in errors[0]["message"]
    assert "Unexpected error." not in response.text
    assert "Traceback" not in caplog.text
    async with database.reader.connect() as conn:
        for table in (Member, Purchase, LedgerEntry):
            count = select(func.count()).select_from(table)
            assert (await conn.execute(count)).scalar_one() == 0


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("{ me { id }", "GRAPHQL_PARSE_FAILED"),
        ("{ me { id } } }", "GRAPHQL_PARSE_FAILED"),
        ("{ me { nope } }", "GRAPHQL_VALIDATION_FAILED"),
        ("{ tiers }", "GRAPHQL_VALIDATION_FAILED"),
        ("query A { tiers { code } } query A { tiers { code } }", "GRAPHQL_VALIDATION_FAILED"),
        ('{ node(id: 5, extra: "x") { id } }', "GRAPHQL_VALIDATION_FAILED"),
    ],
)
async def test_documents_that_are_not_valid_graphql_are_coded(api, query, code):
    body = await api(query, token=ALICE)
    assert "data" not in body
    assert {e["extensions"]["code"] for e in body["errors"]} == {code}


async def test_suggestions_are_off_outside_local_mode(api):
    body = await api("{ mee { id } }", token=ALICE)
    assert "Did you mean" not in body["errors"][0]["message"]


INTROSPECTION = "{ __schema { queryType { name } } }"


async def test_anonymous_callers_cannot_introspect_in_production(api):
    refused = await api(INTROSPECTION)
    assert [e["extensions"]["code"] for e in refused["errors"]] == ["INTROSPECTION_DISABLED"]
    assert "data" not in refused
    signed_in = await api(INTROSPECTION, token=ALICE)  # the same cached document
    assert signed_in == {"data": {"__schema": {"queryType": {"name": "Query"}}}}
    assert (await api(INTROSPECTION))["errors"][0]["extensions"]["code"] == "INTROSPECTION_DISABLED"
    assert await api("{ __typename }") == {"data": {"__typename": "Query"}}


async def test_anonymous_callers_may_introspect_in_local_mode(sqlite_database, client_for):
    async with client_for(sqlite_database, mode="local") as client:
        body = (await client.post("/graphql", json={"query": INTROSPECTION})).json()
    assert body == {"data": {"__schema": {"queryType": {"name": "Query"}}}}


async def test_client_errors_are_logged_as_one_line_without_traceback(api, caplog):
    caplog.set_level(logging.INFO, logger="rewards.api")
    requests = [
        *[("query Me { me { id } }", None, None)] * 30,  # anonymous
        *[("query Me { me { id } }", None, POS)] * 30,  # forbidden: an integration is not a member
        *[(HISTORY, {"n": "five"}, ALICE)] * 30,  # bad input
        *[("query Me { me { id } }", None, "nobody")] * 10,  # bad token (under the address limit)
    ]
    for query, variables, token in requests:
        response = await api.raw(query, variables, token)
        assert response.status_code in (200, 401)
    assert "Traceback" not in caplog.text
    records = [r for r in caplog.records if r.name == "rewards.api"]
    assert len(records) == 100
    assert all(r.exc_info is None and "\n" not in r.getMessage() for r in records)
    codes = {"UNAUTHENTICATED", "FORBIDDEN", "BAD_USER_INPUT", "INVALID_TOKEN"}
    assert {code for r in records for code in codes if code in r.getMessage()} == codes
    assert all("request " in r.getMessage() for r in records)
    assert sum("in Me " in r.getMessage() for r in records) == 60


async def test_a_fault_is_masked_and_logged_with_its_traceback_and_request_id(
    api, caplog, monkeypatch
):
    caplog.set_level(logging.INFO, logger="rewards.api")
    await api(ENROLL, {"input": {"birthDate": "1990-01-01"}}, ALICE)

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire at postgres://user:secret@db")

    monkeypatch.setattr("backend.rewards.queries.EntriesPage.run", broken)
    response = await api.client.post(
        "/graphql",
        json={"query": "query Feed { me { history(first: 1) { edges { cursor } } } }"},
        headers={"Authorization": f"Bearer {ALICE}", "X-Request-Id": "req-77"},
    )
    (error,) = response.json()["errors"]
    assert error["message"] == "Unexpected error."
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-77"}
    assert "secret" not in response.text
    (fault,) = [r for r in caplog.records if r.exc_info]
    assert "Feed" in fault.getMessage() and "req-77" in fault.getMessage()
    assert "disk on fire" in caplog.text and "Traceback" in caplog.text


async def test_a_fault_before_execution_is_masked_and_500(api, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("validator exploded: secret")

    monkeypatch.setattr(documents, "validate_document", broken)
    for accept in ("application/json", "application/graphql-response+json"):
        response = await api.client.post(
            "/graphql",
            json={"query": f"{{ tiers {{ code }} }} # {accept}"},  # a new text: no cache hit
            headers={"Accept": accept, "Authorization": f"Bearer {ALICE}"},
        )
        assert response.status_code == 500
        error = response.json()["errors"][0]
        assert error["message"] == "Unexpected error."
        assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
        assert "secret" not in response.text
    assert len([r for r in caplog.records if r.exc_info]) == 2
