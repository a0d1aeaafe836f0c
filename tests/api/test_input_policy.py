"""Hostile input through the API: each gets its typed code and field, nothing is stored, nothing crashes."""

from __future__ import annotations

import base64
import json
from decimal import Decimal

from sqlalchemy import func, select

from backend.db.tables import AuditLog, IdempotencyKey, LedgerEntry, Member, Purchase
from tests.api.operations import ADJUST, ENROLL, ME, RECORD, REFUND, UPDATE_PROFILE
from tests.api.test_purchases_api import ALICE, MIA, POS, enrolled, order

BOB = "member:bob"
NODE = "query($id: ID!) { node(id: $id) { id } }"
HISTORY = "query($after: String) { me { history(first: 5, after: $after) { edges { cursor } } } }"


def gid(text: str) -> str:
    """A global id made by hand, as a client might forge one."""
    return base64.b64encode(text.encode()).decode()


async def send(api, query, variables, token):
    """Post JSON with \\u escapes, so lone surrogates reach the server as a client can send them."""
    body = json.dumps({"query": query, "variables": variables})  # ensure_ascii: escapes
    response = await api.client.post(
        "/graphql",
        content=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    return response.json()


async def stored(database) -> dict[str, int]:
    """How many rows each written table holds."""
    async with database.reader.connect() as conn:
        return {
            table.__name__: (
                await conn.execute(select(func.count()).select_from(table))
            ).scalar_one()
            for table in (Member, LedgerEntry, Purchase, IdempotencyKey, AuditLog)
        }


async def refused(api, query, variables, token, name):
    """The typed errors of a payload, asserting the request did not crash."""
    body = await send(api, query, variables, token)
    assert "errors" not in body, body
    payload = body["data"][name]
    assert all(value is None for key, value in payload.items() if key != "errors")
    return [(e["code"], e["field"]) for e in payload["errors"]]


ENROLMENTS = [
    ({"timeZone": "America"}, "INVALID_TIME_ZONE", "timeZone"),
    ({"timeZone": "Europe/Amsterdam\x00"}, "INVALID_TIME_ZONE", "timeZone"),
    ({"timeZone": "../../etc/passwd"}, "INVALID_TIME_ZONE", "timeZone"),
    ({"locale": "en\n"}, "INVALID_LOCALE", "locale"),
    ({"locale": "nl-NL\x00"}, "INVALID_LOCALE", "locale"),
    ({"locale": "xx-YY"}, "INVALID_LOCALE", "locale"),
    ({"locale": "zh-Hant-TW-x-abcd"}, "INVALID_LOCALE", "locale"),  # 17 characters
    ({"displayName": "Al\x00ice"}, "INVALID_DISPLAY_NAME", "displayName"),
    ({"displayName": "\u202eecila"}, "INVALID_DISPLAY_NAME", "displayName"),  # RTL override
    ({"displayName": "\u200b\u200b\u200b"}, "INVALID_DISPLAY_NAME", "displayName"),
    ({"displayName": "\u200d\u0301"}, "INVALID_DISPLAY_NAME", "displayName"),
    ({"displayName": "\u3164"}, "INVALID_DISPLAY_NAME", "displayName"),  # Hangul filler
    ({"displayName": "Alice\nSmith"}, "INVALID_DISPLAY_NAME", "displayName"),
    ({"displayName": "я" * 81}, "INVALID_DISPLAY_NAME", "displayName"),
    ({"referralCode": "AB\x00CD"}, "INVALID_REFERRAL_CODE", "referralCode"),
    ({"referralCode": "Z" * 17}, "INVALID_REFERRAL_CODE", "referralCode"),
    ({"referralCode": "ⅯⅯⅯⅯ"}, "INVALID_REFERRAL_CODE", "referralCode"),
]


async def test_hostile_enrolments_are_typed_and_store_nothing(api, database):
    base = {"birthDate": "1990-05-17"}
    for i, (fields, code, field) in enumerate(ENROLMENTS):  # one user each: enrol is rate limited
        errors = await refused(api, ENROLL, {"input": {**base, **fields}}, f"member:m{i}", "enroll")
        assert errors == [(code, field)], fields
    assert (await stored(database))["Member"] == 0


async def test_hostile_profile_changes_are_typed_and_change_nothing(api, database):
    await enrolled(api)
    before = (await api(ME, token=ALICE))["data"]["me"]
    for fields, code, field in ENROLMENTS:
        if "referralCode" in fields:
            continue
        errors = await refused(api, UPDATE_PROFILE, {"input": fields}, ALICE, "updateProfile")
        assert errors == [(code, field)], fields
    assert (await api(ME, token=ALICE))["data"]["me"] == before


async def test_real_names_and_tags_in_any_script_are_stored_in_standard_form(api):
    cases = [
        ({"displayName": "Олена Коваленко", "locale": "uk"}, ("Олена Коваленко", "uk")),
        ({"displayName": "سارة أحمد", "locale": "ar"}, ("سارة أحمد", "ar")),
        ({"displayName": "  Ana   María ", "locale": "es-419"}, ("Ana María", "es-419")),
        ({"displayName": "Zoe\u0308", "locale": "nl-nl"}, ("Zoë", "nl-NL")),  # NFC composes
        ({"displayName": "👩\u200d💻 Dev", "locale": "EN_gb"}, ("👩\u200d💻 Dev", "en-GB")),
        ({"displayName": "مریم\u200cها", "locale": "fa"}, ("مریم\u200cها", "fa")),  # ZWNJ
    ]
    for i, (fields, (name, locale)) in enumerate(cases):
        data = {"birthDate": "1990-05-17", "timeZone": "europe/kyiv", **fields}
        body = await send(api, ENROLL, {"input": data}, f"member:user{i}")
        member = body["data"]["enroll"]["member"]
        assert (member["displayName"], member["locale"], member["timeZone"]) == (
            name,
            locale,
            "Europe/Kyiv",
        )
    update = {"displayName": "   ", "locale": "DE-ch", "timeZone": "utc"}
    member = (await api(UPDATE_PROFILE, {"input": update}, "member:user0"))["data"]
    assert member["updateProfile"]["member"] == {
        "displayName": None,
        "locale": "de-CH",
        "timeZone": "UTC",
        "marketingConsent": False,
    }


async def test_a_referral_code_is_matched_whatever_its_case_and_spaces(api, database):
    await enrolled(api)
    code = (await api(ENROLL, {"input": {"birthDate": "1990-05-17"}}, ALICE))["data"]["enroll"]
    friend = {
        "birthDate": "1990-05-17",
        "referralCode": f"  {code['member']['referralCode'].lower()} ",
    }
    payload = (await api(ENROLL, {"input": friend}, BOB))["data"]["enroll"]
    assert payload["errors"] == []
    blank = await api(
        ENROLL, {"input": {"birthDate": "1990-05-17", "referralCode": " "}}, "member:c"
    )
    assert blank["data"]["enroll"]["errors"] == []


def line(**fields):
    """One order line, valid unless overridden."""
    return {"sku": "JEANS-32", "category": "denim", "unitPrice": "10", "quantity": 1, **fields}


PURCHASES = [
    ({"orderId": "A\x00-1"}, "INVALID_ORDER_ID", "orderId"),
    ({"orderId": "o" * 129}, "INVALID_ORDER_ID", "orderId"),
    ({"orderId": "\u200b"}, "INVALID_ORDER_ID", "orderId"),
    ({"orderId": "   "}, "INVALID_ORDER_ID", "orderId"),
    ({"channel": "store\n01"}, "INVALID_CHANNEL", "channel"),
    ({"channel": "c" * 65}, "INVALID_CHANNEL", "channel"),
    ({"channel": "\u2066\u2069"}, "INVALID_CHANNEL", "channel"),
    ({"currency": "eur"}, "UNKNOWN_CURRENCY", "currency"),
    ({"currency": "EUR\n"}, "UNKNOWN_CURRENCY", "currency"),
    ({"currency": "€"}, "UNKNOWN_CURRENCY", "currency"),
    ({"amount": "NaN"}, "INVALID_AMOUNT", "amount"),
    ({"amount": "sNaN"}, "INVALID_AMOUNT", "amount"),
    ({"amount": "Infinity"}, "INVALID_AMOUNT", "amount"),
    ({"amount": "-0"}, "INVALID_AMOUNT", "amount"),
    ({"amount": "1E+999999999"}, "INVALID_AMOUNT", "amount"),
    ({"amount": "1E-999999999"}, "INVALID_AMOUNT", "amount"),
    ({"amount": "0.00001"}, "INVALID_AMOUNT", "amount"),
    ({"occurredAt": "0001-01-01T00:00:00+05:00"}, "INVALID_TIME", "occurredAt"),
    ({"occurredAt": "9999-12-31T23:59:59-05:00"}, "INVALID_TIME", "occurredAt"),
    ({"occurredAt": "1999-12-31T23:59:59+00:00"}, "INVALID_TIME", "occurredAt"),
    ({"occurredAt": "2026-06-01T12:06:00+00:00"}, "INVALID_TIME", "occurredAt"),
    ({"memberReference": "²" * 16}, "INVALID_MEMBER_REFERENCE", "memberReference"),
    ({"memberReference": "8\x00"}, "INVALID_MEMBER_REFERENCE", "memberReference"),
    ({"lines": [line()] * 201}, "INVALID_LINE", "lines"),
    ({"lines": [line(), line(sku="s" * 65)]}, "INVALID_LINE", "lines.1.sku"),
    ({"lines": [line(sku="s" * 1000)]}, "INVALID_LINE", "lines.0.sku"),
    ({"lines": [line(sku="A\x00")]}, "INVALID_LINE", "lines.0.sku"),
    ({"lines": [line(sku=" ")]}, "INVALID_LINE", "lines.0.sku"),
    ({"lines": [line(category="\u202edenim")]}, "INVALID_LINE", "lines.0.category"),
    ({"lines": [line(category="c" * 65)]}, "INVALID_LINE", "lines.0.category"),
    ({"lines": [line(unitPrice="NaN")]}, "INVALID_LINE", "lines.0.unitPrice"),
    ({"lines": [line(unitPrice="-Infinity")]}, "INVALID_LINE", "lines.0.unitPrice"),
    ({"lines": [line(unitPrice="-0")]}, "INVALID_LINE", "lines.0.unitPrice"),
    ({"lines": [line(unitPrice="-1")]}, "INVALID_LINE", "lines.0.unitPrice"),
    ({"lines": [line(unitPrice="1.00001")]}, "INVALID_LINE", "lines.0.unitPrice"),
    ({"lines": [line(unitPrice="1E+99")]}, "INVALID_LINE", "lines.0.unitPrice"),
    ({"lines": [line(quantity=0)]}, "INVALID_LINE", "lines.0.quantity"),
    ({"lines": [line(quantity=-3)]}, "INVALID_LINE", "lines.0.quantity"),
    ({"lines": [line(quantity=10_001)]}, "INVALID_LINE", "lines.0.quantity"),
]


async def test_hostile_purchases_are_typed_and_store_nothing(api, database):
    _, card = await enrolled(api)
    before = await stored(database)
    for fields, code, field in PURCHASES:
        errors = await refused(api, RECORD, order(card, **fields), POS, "recordPurchase")
        assert errors == [(code, field)], fields
    assert await stored(database) == before


async def test_odd_but_real_purchases_are_stored_in_standard_form(api, database):
    _, card = await enrolled(api)
    lines = [
        line(sku="ДЖИНСИ-32", category="одяг", unitPrice="1E+2", quantity=2),
        line(sku="GIFT", category=None, unitPrice="0E-5000", quantity=10_000),  # no 5000 zeros
    ] + [line(sku=f"S-{i}") for i in range(198)]
    data = order(card, order_id="Замовлення-1", channel="Київ-01", amount="100.500000", lines=lines)
    data["input"]["occurredAt"] = "2026-06-01T17:00:00+05:00"  # 12:00 UTC, now
    payload = (await api(RECORD, data, POS))["data"]["recordPurchase"]
    assert payload["errors"] == []
    assert payload["purchase"]["orderId"] == "Замовлення-1"
    async with database.reader.connect() as conn:
        row = (await conn.execute(select(Purchase.__table__))).one()
    assert row.channel == "Київ-01" and len(row.lines) == 200 and row.amount == Decimal("100.5")
    assert row.lines[0] == {
        "sku": "ДЖИНСИ-32",
        "category": "одяг",
        "unitPrice": "100",
        "quantity": 2,
    }
    assert row.lines[1]["category"] is None and row.lines[1]["unitPrice"] == "0"


REFUNDS = [
    ({"orderId": "o" * 129}, "INVALID_ORDER_ID", "orderId"),
    ({"orderId": "A-1\x00"}, "INVALID_ORDER_ID", "orderId"),
    ({"refundId": "R\x00"}, "INVALID_REFUND_ID", "refundId"),
    ({"refundId": "r" * 129}, "INVALID_REFUND_ID", "refundId"),
    ({"refundId": "\u200b"}, "INVALID_REFUND_ID", "refundId"),
    ({"amount": "NaN"}, "INVALID_AMOUNT", "amount"),
    ({"amount": "-0"}, "INVALID_AMOUNT", "amount"),
]


async def test_hostile_refunds_are_typed_and_change_nothing(api, database):
    _, card = await enrolled(api)
    await api(RECORD, order(card), POS)
    before = await stored(database)
    base = {"orderId": "A-1", "refundId": "R-1", "amount": "10", "currency": "EUR"}
    for fields, code, field in REFUNDS:
        errors = await refused(api, REFUND, {"input": {**base, **fields}}, POS, "refundPurchase")
        assert errors == [(code, field)], fields
    assert await stored(database) == before


async def test_hostile_adjustments_are_typed_and_store_nothing(api, database):
    member_id, _ = await enrolled(api)
    base = {"memberId": member_id, "points": 10, "reason": "Goodwill", "idempotencyKey": "k-1"}
    cases = [
        ({"reason": "\u200b\u200b\u200b"}, "REASON_REQUIRED", "reason"),
        ({"reason": "\u200d\u200d\u200d"}, "REASON_REQUIRED", "reason"),
        ({"reason": "a\u0301\u0301"}, "REASON_REQUIRED", "reason"),
        ({"reason": "\u3164\u3164\u3164"}, "REASON_REQUIRED", "reason"),
        ({"reason": "Good\x00will"}, "REASON_REQUIRED", "reason"),
        ({"reason": "r" * 201}, "REASON_REQUIRED", "reason"),
        ({"idempotencyKey": "k" * 129}, "INVALID_IDEMPOTENCY_KEY", "idempotencyKey"),
        ({"idempotencyKey": "k\x00"}, "INVALID_IDEMPOTENCY_KEY", "idempotencyKey"),
        ({"idempotencyKey": " "}, "INVALID_IDEMPOTENCY_KEY", "idempotencyKey"),
        ({"memberId": "###"}, "INVALID_ID", "memberId"),
        ({"memberId": gid("Member:²")}, "INVALID_ID", "memberId"),
        ({"memberId": gid("Member:2147483648")}, "INVALID_ID", "memberId"),
        ({"memberId": gid("Member:99999999999999999999")}, "INVALID_ID", "memberId"),
        ({"memberId": gid("Member:0")}, "INVALID_ID", "memberId"),
        ({"memberId": gid("Member:-1")}, "INVALID_ID", "memberId"),
        ({"memberId": gid("Member:1\x00")}, "INVALID_ID", "memberId"),
    ]
    for fields, code, field in cases:
        errors = await refused(api, ADJUST, {"input": {**base, **fields}}, MIA, "adjustPoints")
        assert errors == [(code, field)], fields
    assert (await stored(database))["LedgerEntry"] == 0
    assert (await stored(database))["AuditLog"] == 0


FORGED_IDS = [
    "###",
    gid("Member:²"),
    gid("Member:2147483648"),
    gid("Member:99999999999999999999"),
    gid("Member:0"),
    gid("Member:01"),
    gid("Member: 1"),
    gid("LedgerEntry:1\x00"),
    gid("Purchase:-1"),
    gid("Nope:1"),
]
FORGED_CURSORS = [
    gid("entry:2147483648"),
    gid("entry:99999999999999999999"),
    gid("entry:²"),
    gid("entry:0"),
    gid("entry:"),
    gid("member:5"),
    "###",
]


async def test_ids_this_api_never_gave_out_resolve_to_null_before_any_sql(api, count_queries):
    await enrolled(api)
    for node_id in FORGED_IDS:
        count_queries.count = 0
        body = await send(api, NODE, {"id": node_id}, MIA)
        assert body == {"data": {"node": None}}, node_id
        assert count_queries.count == 0, node_id


async def test_cursors_out_of_range_or_malformed_are_bad_user_input(api):
    await enrolled(api)
    for cursor in FORGED_CURSORS:
        body = await send(api, HISTORY, {"after": cursor}, ALICE)
        assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"], cursor
        assert body["errors"][0]["path"] == ["me", "history"]
