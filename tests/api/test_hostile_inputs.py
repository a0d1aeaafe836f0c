"""Issue 5's hostile inputs and more, in one table: each gets its documented code, changes nothing
and logs no traceback, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
from dataclasses import dataclass
from typing import Any

import pytest

from tests.api.operations import ADJUST, ENROLL, ME, RECORD, REFUND, UPDATE_PROFILE
from tests.api.test_input_policy import stored
from tests.api.test_purchases_api import ALICE, MIA, POS, enrolled, order

JSON = {"Content-Type": "application/json"}
HISTORY = "query($n: Int!, $after: String) { me { history(first: $n, after: $after) { edges { cursor } } } }"
NODE = "query($id: ID!) { node(id: $id) { id } }"
BY_CARD = "query($c: String!, $r: String!) { member(cardNumber: $c, reason: $r) { id } }"
ADULT = "1990-05-17"
INTROSPECT = "{ __schema { queryType { name } } }"


def gid(text: str) -> str:
    """A global id or cursor forged by hand."""
    return base64.b64encode(text.encode()).decode()


@dataclass
class Case:
    """One hostile request and the code (and input field) it must get; code None: a null answer."""

    name: str
    code: str | None
    query: str = ""
    variables: dict[str, Any] = dataclasses.field(default_factory=dict)
    token: str | None = ALICE
    field: str | None = None
    status: int | None = None
    raw: bytes | None = None  # a body sent as is instead of query + variables
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    method: str = "POST"


def enrol(i: int, **fields: Any) -> dict[str, Any]:
    """Variables of an enrolment by a fresh user (enrolment is idempotent per user)."""
    return {"input": {"birthDate": ADULT, **fields}}


def buy(**fields: Any) -> dict[str, Any]:
    """Variables of an order for the card set up by the test (filled in later)."""
    return order("@card", order_id="H-1", **fields)


def line(**fields: Any) -> list[dict[str, Any]]:
    """One order line with some fields replaced."""
    return [{"sku": "JEANS-32", "category": "denim", "unitPrice": "10", "quantity": 1, **fields}]


def adjust(**fields: Any) -> dict[str, Any]:
    """Variables of a goodwill adjustment of the test's member."""
    data = {
        "memberReference": "@card",
        "points": 50,
        "reason": "Late parcel",
        "idempotencyKey": "g",
    }
    return {"input": {**data, **fields}}


def deep_json(levels: int) -> bytes:
    """A body whose variables nest `levels` lists deep."""
    return (
        b'{"query": "{ tiers { code } }", "variables": {"x": '
        + b"[" * levels
        + b"]" * levels
        + b"}}"
    )


CASES = [
    # The inputs the issue lists.
    Case("variable of the wrong type", "BAD_USER_INPUT", HISTORY, {"n": "five"}),
    Case("missing required variable", "BAD_USER_INPUT", HISTORY, {}),
    Case(
        "impossible date variable",
        "BAD_USER_INPUT",
        ENROLL,
        enrol(1, birthDate="1990-02-30"),
        "member:h1",
    ),
    Case(
        "impossible date literal",
        "BAD_USER_INPUT",
        'mutation { enroll(input: {birthDate: "1990-02-30"}) { errors { code } } }',
        token="member:h2",
    ),
    Case("decimal that is not a number", "BAD_USER_INPUT", RECORD, buy(amount="abc"), POS),
    Case(
        "float for an Int literal",
        "BAD_USER_INPUT",
        "{ me { history(first: 1.5) { edges { cursor } } } }",
    ),
    Case(
        "Int literal over 2^31",
        "BAD_USER_INPUT",
        "{ me { history(first: 2147483648) { edges { cursor } } } }",
    ),
    Case("Int variable over 2^31", "BAD_USER_INPUT", ADJUST, adjust(points=2**31), MIA),
    Case(
        "time zone that is a folder",
        "INVALID_TIME_ZONE",
        ENROLL,
        enrol(3, timeZone="America"),
        "member:h3",
        "timeZone",
    ),
    Case(
        "unit price NaN",
        "INVALID_LINE",
        RECORD,
        buy(lines=line(unitPrice="NaN")),
        POS,
        "lines.0.unitPrice",
    ),
    Case(
        "year 1 with an offset",
        "INVALID_TIME",
        RECORD,
        buy(occurredAt="0001-01-01T00:00:00+05:00"),
        POS,
        "occurredAt",
    ),
    Case("node id ###", None, NODE, {"id": "###"}),
    Case("node id with a superscript digit", None, NODE, {"id": gid("Member:²")}),
    Case("node id above int32", None, NODE, {"id": gid("Member:2147483648")}),
    Case(
        "cursor above int32", "BAD_USER_INPUT", HISTORY, {"n": 5, "after": gid("entry:2147483648")}
    ),
    Case(
        "lone surrogate in a variable",
        "BAD_REQUEST",
        ENROLL,
        enrol(4, displayName="A\ud800"),
        "member:h4",
        status=400,
    ),
    Case("lone surrogate in the query", "BAD_REQUEST", "{ tiers { code } } # \udfff", status=400),
    Case("NUL in an order id", "INVALID_ORDER_ID", RECORD, buy(orderId="H\x00-1"), POS, "orderId"),
    Case(
        "NUL in a display name",
        "INVALID_DISPLAY_NAME",
        UPDATE_PROFILE,
        {"input": {"displayName": "A\x00"}},
        field="displayName",
    ),
    Case(
        "refund of an order id over 57 characters",
        "PURCHASE_NOT_FOUND",
        REFUND,
        {"input": {"orderId": "O" * 100, "refundId": "R-1", "amount": "1", "currency": "EUR"}},
        POS,
        "orderId",
    ),
    Case(
        "adjust key over 128 characters",
        "INVALID_IDEMPOTENCY_KEY",
        ADJUST,
        adjust(idempotencyKey="k" * 129),
        MIA,
        "idempotencyKey",
    ),
    Case(
        "query too deep",
        "QUERY_TOO_DEEP",
        "{ me { history(first: 1) { edges { node { "
        + "relatedEntry { " * 12
        + "id"
        + " }" * 12
        + " } } } } }",
    ),
    Case(
        "too many aliases",
        "TOO_MANY_ALIASES",
        "{ " + " ".join(f"a{i}: tiers {{ code }}" for i in range(31)) + " }",
    ),
    Case("JSON nested 1000 deep", "BAD_REQUEST", raw=deep_json(1000), status=400),
    Case(
        "10 MB comment query",
        "PAYLOAD_TOO_LARGE",
        "{ tiers { code } }\n#" + "x" * 10_000_000,
        status=413,
    ),
    Case(
        "locale with a trailing newline",
        "INVALID_LOCALE",
        ENROLL,
        enrol(5, locale="en\n"),
        "member:h5",
        "locale",
    ),
    Case(
        "5 MB SKU",
        "PAYLOAD_TOO_LARGE",
        RECORD,
        buy(lines=line(sku="S" * 5_000_000)),
        POS,
        status=413,
    ),
    Case(
        "SKU one character over its column",
        "INVALID_LINE",
        RECORD,
        buy(lines=line(sku="S" * 65)),
        POS,
        "lines.0.sku",
    ),
    Case(
        "reason of three zero-width characters",
        "REASON_REQUIRED",
        ADJUST,
        adjust(reason="\u200b" * 3),
        MIA,
        "reason",
    ),
    # Our own.
    Case("query longer than its limit", "QUERY_TOO_LARGE", "{ tiers { code } }" + " " * 20_001),
    Case("one field repeated 60 times", "QUERY_TOO_LARGE", "{ " + "tiers { code } " * 60 + "}"),
    Case("not JSON", "BAD_REQUEST", raw=b"{query: tiers}", status=400),
    Case(
        "text/plain body",
        "UNSUPPORTED_MEDIA_TYPE",
        "{ tiers { code } }",
        headers={"Content-Type": "text/plain"},
        status=415,
    ),
    Case(
        "mutation by GET",
        "METHOD_NOT_ALLOWED",
        'mutation { enroll(input: {birthDate: "1990-05-17"}) { errors { code } } }',
        method="GET",
        status=405,
    ),
    Case(
        "unacceptable Accept",
        "NOT_ACCEPTABLE",
        "{ tiers { code } }",
        headers={"Accept": "image/png"},
        status=406,
    ),
    Case("syntax error", "GRAPHQL_PARSE_FAILED", "{ tiers { code }"),
    Case("unknown field", "GRAPHQL_VALIDATION_FAILED", "{ tiers { colour } }"),
    Case(
        "unknown operation name",
        "OPERATION_RESOLUTION_FAILURE",
        raw=b'{"query": "query A { tiers { code } }", "operationName": "B"}',
    ),
    Case("anonymous introspection", "INTROSPECTION_DISABLED", INTROSPECT, token=None),
    Case("member calling an integration field", "FORBIDDEN", RECORD, buy()),
    Case("anonymous dashboard", "UNAUTHENTICATED", ME, token=None),
    Case("junk token", "INVALID_TOKEN", ME, token="junk", status=401),
    Case(
        "bidi override in a name",
        "INVALID_DISPLAY_NAME",
        ENROLL,
        enrol(6, displayName="\u202eecila"),
        "member:h6",
        "displayName",
    ),
    Case("lower-case currency", "UNKNOWN_CURRENCY", RECORD, buy(currency="eur"), POS, "currency"),
    Case(
        "amount with a huge exponent",
        "INVALID_AMOUNT",
        RECORD,
        buy(amount="1E+999999999"),
        POS,
        "amount",
    ),
    Case(
        "quantity 0", "INVALID_LINE", RECORD, buy(lines=line(quantity=0)), POS, "lines.0.quantity"
    ),
    Case("201 lines", "INVALID_LINE", RECORD, buy(lines=line() * 201), POS, "lines"),
    Case(
        "purchase next year",
        "INVALID_TIME",
        RECORD,
        buy(occurredAt="2027-06-01T00:00:00Z"),
        POS,
        "occurredAt",
    ),
    Case(
        "purchase before the program started",
        "INVALID_TIME",
        RECORD,
        buy(occurredAt="2025-12-31T23:59:59Z"),
        POS,
        "occurredAt",
    ),
    Case(
        "card number in Arabic-Indic digits",
        "INVALID_MEMBER_REFERENCE",
        RECORD,
        buy(memberReference="٨" * 16),
        POS,
        "memberReference",
    ),
    Case(
        "member id above int32",
        "INVALID_ID",
        ADJUST,
        adjust(memberReference=None, memberId=gid("Member:99999999999")),
        MIA,
        "memberId",
    ),
    Case(
        "both member id and card",
        "AMBIGUOUS_MEMBER",
        ADJUST,
        adjust(memberId=gid("Member:1")),
        MIA,
        "memberReference",
    ),
    Case("zero points", "INVALID_POINTS", ADJUST, adjust(points=0), MIA, "points"),
    Case(
        "NUL in a referral code",
        "INVALID_REFERRAL_CODE",
        ENROLL,
        enrol(7, referralCode="AB\x00CD"),
        "member:h7",
        "referralCode",
    ),
    Case(
        "under 18",
        "AGE_RESTRICTED",
        ENROLL,
        enrol(8, birthDate="2015-01-01"),
        "member:h8",
        "birthDate",
    ),
    Case("page size 0", "BAD_USER_INPUT", HISTORY, {"n": 0}),
    Case(
        "staff lookup without a reason", "BAD_USER_INPUT", BY_CARD, {"c": "@card", "r": "  "}, MIA
    ),
]


def codes(body: dict[str, Any]) -> list[tuple[str, str | None]]:
    """Every (code, field) in a response: top-level errors and payload errors."""
    found = [
        (e["extensions"]["code"], e["extensions"].get("field")) for e in body.get("errors", [])
    ]
    for payload in (body.get("data") or {}).values():
        if isinstance(payload, dict):
            found += [(e["code"], e["field"]) for e in payload.get("errors", [])]
    return found


def fill(value: Any, card: str) -> Any:
    """Put the test member's card number where a case says `@card`."""
    if isinstance(value, dict):
        return {k: fill(v, card) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [fill(v, card) for v in value]
    return card if value == "@card" else value


async def send(api, case: Case, card: str):
    """Send a case as a client would (JSON with \\u escapes, so lone surrogates arrive as such)."""
    headers = {**JSON, **case.headers}
    if case.token is not None:
        headers["Authorization"] = f"Bearer {case.token}"
    if case.method == "GET":
        return await api.client.get("/graphql", params={"query": case.query}, headers=headers)
    body = (
        case.raw
        or json.dumps({"query": case.query, "variables": fill(case.variables, card)}).encode()
    )
    return await api.client.post("/graphql", content=body, headers=headers)


def test_the_table_covers_at_least_forty_inputs():
    assert len(CASES) >= 40 and len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
async def test_a_hostile_input_gets_its_code_changes_nothing_and_logs_no_traceback(
    api, database, caplog, case
):
    _, card = await enrolled(api)
    assert (await api(RECORD, order(card), POS))["data"]["recordPurchase"]["errors"] == []
    before = await stored(database)
    caplog.clear()
    caplog.set_level(logging.INFO)

    response = await send(api, case, card)

    body = response.json()
    if case.status is not None:
        assert response.status_code == case.status, body
    if case.code is None:
        assert body == {"data": {"node": None}}
    else:
        assert (case.code, case.field) in codes(body) or (
            case.field is None and case.code in [c for c, _ in codes(body)]
        ), body
    assert "Unexpected error." not in response.text
    assert await stored(database) == before
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert "Traceback" not in caplog.text
