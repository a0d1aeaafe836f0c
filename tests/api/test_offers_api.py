"""Offers and vouchers through the API: catalogue, lists, redemption, consumption, every refusal."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from strawberry.relay import GlobalID

from backend.db.tables import AuditLog, LedgerEntry
from tests.api.offers_support import (
    CONSUME,
    CREATE,
    DASHBOARD,
    MIA,
    OFFER,
    OFFERS,
    POS,
    REDEEM,
    UPDATE,
    VOUCHERS,
    create,
    member,
    offer_input,
    redeem,
    state,
)
from tests.api.operations import RECORD
from tests.api.test_purchases_api import order
from tests.helpers import assert_consistent, give, member_row


def gid(type_name: str, pk: int) -> str:
    """A global id."""
    return str(GlobalID(type_name, str(pk)))


async def test_marketing_creates_an_offer_that_reads_back_in_every_language(api, database):
    body = await api(CREATE, offer_input(stock=10, perMemberLimit=2), MIA)
    offer = body["data"]["createOffer"]["offer"]
    assert body["data"]["createOffer"]["errors"] == []
    assert (offer["kind"], offer["percent"], offer["pointsCost"]) == ("PERCENT_DISCOUNT", 10, 100)
    assert (offer["stock"], offer["perMemberLimit"], offer["listed"]) == (10, 2, True)
    assert offer["title"] == "10% off denim" and offer["language"] == "en"
    assert {t["language"]: t["title"] for t in offer["texts"]}["ar"] == "خصم ١٠٪ على الدنيم"
    assert offer["startsAt"] == "2026-06-01T12:00:00+00:00" and offer["endsAt"] is None
    async with database.reader.connect() as conn:
        audits = (await conn.execute(select(AuditLog.actor_uid, AuditLog.action))).all()
    assert [tuple(a) for a in audits] == [("mia", "create_offer")]


async def test_each_member_reads_the_offer_in_their_language_with_a_fallback(api):
    offer_id = await create(api)
    for uid, locale, language, title in [
        ("layla", "ar", "ar", "خصم ١٠٪ على الدنيم"),
        ("daria", "uk-UA", "uk", "Знижка 10% на денім"),
        ("sanne", "nl-NL", "nl", "10% korting op denim"),
        ("amelie", "fr", "en", "10% off denim"),
    ]:
        await member(api, uid, locale)
        node = (await api(OFFER, {"id": offer_id}, f"member:{uid}"))["data"]["offer"]
        assert (node["language"], node["title"]) == (language, title), uid


async def test_the_list_shows_open_offers_of_the_members_audience_newest_first(api, uows, clock):
    alice = await member(api, "alice")
    await give(uows, alice, 150)
    cheap = await create(api, pointsCost=100)
    dear = await create(api, pointsCost=500)
    await create(api, audience={"minimumTier": "gold"})
    await create(api, startsAt="2026-07-01T00:00:00Z")
    await create(api, audience={"categories": ["outerwear"]})
    await create(api, listed=False, pointsCost=0)
    body = await api(OFFERS, {"first": 10}, "member:alice")
    nodes = [e["node"] for e in body["data"]["offers"]["edges"]]
    assert [(n["id"], n["redeemable"], n["unavailableReason"]) for n in nodes] == [
        (dear, False, "NOT_ENOUGH_POINTS"),
        (cheap, True, None),
    ]
    dashboard = (await api(DASHBOARD, token="member:alice"))["data"]["me"]
    assert dashboard == {
        "activeVoucherCount": 1,
        "redeemableOfferCount": 1,
        "points": {"balance": 150},
    }


async def test_an_audience_of_buyers_opens_to_a_member_once_they_buy_the_category(api):
    await member(api, "alice")
    card = await member_card(api, "alice")
    offer_id = await create(api, audience={"categories": ["outerwear"]})
    assert (await api(OFFER, {"id": offer_id}, "member:alice"))["data"]["offer"] is None
    lines = [{"sku": "JKT-1", "category": "outerwear", "unitPrice": "80", "quantity": 1}]
    await api(RECORD, order(card, "O-1", amount="80", lines=lines), POS)
    node = (await api(OFFER, {"id": offer_id}, "member:alice"))["data"]["offer"]
    assert node["unavailableReason"] == "NOT_ENOUGH_POINTS"  # purchase points are still pending


async def member_card(api, uid: str) -> str:
    """A member's card number."""
    body = await api("{ me { cardNumber } }", token=f"member:{uid}")
    return body["data"]["me"]["cardNumber"]


async def test_paging_through_offers_with_cursors(api, uows):
    await member(api, "alice")
    ids = [await create(api) for _ in range(5)]
    first = (await api(OFFERS, {"first": 2}, "member:alice"))["data"]["offers"]
    assert [e["node"]["id"] for e in first["edges"]] == ids[::-1][:2]
    assert first["pageInfo"]["hasNextPage"] is True
    rest = await api(OFFERS, {"first": 10, "after": first["pageInfo"]["endCursor"]}, "member:alice")
    page = rest["data"]["offers"]
    assert [e["node"]["id"] for e in page["edges"]] == ids[::-1][2:]
    assert page["pageInfo"] == {
        "hasNextPage": False,
        "hasPreviousPage": True,
        "endCursor": page["edges"][-1]["cursor"],
    }


@pytest.mark.parametrize(
    "variables", [{"first": 0}, {"first": 101}, {"first": 5, "after": "bm9wZQ=="}]
)
async def test_bad_page_arguments_get_bad_user_input(api, variables):
    await member(api, "alice")
    for query in (OFFERS, VOUCHERS):
        body = await api(query, variables, "member:alice")
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body


async def test_redeeming_spends_points_takes_stock_and_issues_a_voucher_once(api, uows, database):
    alice = await member(api, "alice")
    await give(uows, alice, 250)
    offer_id = await create(api, stock=3, voucherValidDays=10)
    payload = await redeem(api, "alice", offer_id, "r-1")
    voucher = payload["voucher"]
    assert payload["errors"] == []
    assert (voucher["status"], voucher["origin"], voucher["pointsSpent"]) == (
        "ACTIVE",
        "REDEMPTION",
        100,
    )
    assert voucher["expiresAt"] == "2026-06-11T12:00:00+00:00"
    assert len(voucher["code"]) == 19 and voucher["code"].count("-") == 3
    before = await state(database)
    replay = await redeem(api, "alice", offer_id, "r-1")
    assert replay == payload and await state(database) == before
    assert (await member_row(uows, alice)).balance == 150
    await assert_consistent(uows, alice)
    stock = (await api(OFFER, {"id": offer_id}, MIA))["data"]["offer"]
    assert stock is not None
    async with database.reader.connect() as conn:
        entry = (await conn.execute(select(LedgerEntry).where(LedgerEntry.kind == "redeem"))).one()
    assert (entry.amount, entry.source, entry.reason) == (-100, "offer", "Offer: 10% off denim")


async def test_the_same_key_for_another_offer_is_a_conflict_and_changes_nothing(
    api, uows, database
):
    alice = await member(api, "alice")
    await give(uows, alice, 500)
    first, second = await create(api), await create(api)
    await redeem(api, "alice", first, "same")
    before = await state(database)
    payload = await redeem(api, "alice", second, "same")
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [
        ("IDEMPOTENCY_CONFLICT", "idempotencyKey")
    ]
    assert await state(database) == before


async def test_two_members_may_use_the_same_key(api, uows):
    for uid in ("alice", "bob"):
        await give(uows, await member(api, uid), 100)
    offer_id = await create(api)
    codes = {(await redeem(api, uid, offer_id, "k"))["voucher"]["code"] for uid in ("alice", "bob")}
    assert len(codes) == 2


REFUSALS = [
    ({"pointsCost": 101}, "NOT_ENOUGH_POINTS"),
    ({"stock": 0}, "OUT_OF_STOCK"),
    ({"audience": {"minimumTier": "silver"}}, "NOT_IN_AUDIENCE"),
    ({"audience": {"styleTags": ["boho"]}}, "NOT_IN_AUDIENCE"),
    (  # an early-access offer before its public start, for a member of no club
        {"audience": {"clubId": str(GlobalID("Club", "7"))}, "startsAt": "2026-06-02T00:00:00Z"},
        "NOT_YET_OPEN",
    ),
    ({"audience": {"categories": ["shoes"]}}, "NOT_IN_AUDIENCE"),
    ({"startsAt": "2026-06-02T00:00:00Z"}, "NOT_YET_OPEN"),
    ({"startsAt": "2026-05-01T00:00:00Z", "endsAt": "2026-06-01T11:59:59Z"}, "ENDED"),
]


@pytest.mark.parametrize(("fields", "code"), REFUSALS)
async def test_every_refusal_is_typed_and_changes_nothing(api, uows, database, fields, code):
    alice = await member(api, "alice")
    await give(uows, alice, 100)
    offer_id = await create(api, **fields)
    before = await state(database)
    payload = await redeem(api, "alice", offer_id)
    assert payload["voucher"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [(code, "offerId")]
    assert await state(database) == before
    await assert_consistent(uows, alice)


async def test_the_per_member_limit_counts_earlier_vouchers(api, uows, database):
    await give(uows, await member(api, "alice"), 1000)
    offer_id = await create(api, perMemberLimit=2)
    for key in ("a", "b"):
        assert (await redeem(api, "alice", offer_id, key))["errors"] == []
    before = await state(database)
    assert (await redeem(api, "alice", offer_id, "c"))["errors"][0]["code"] == "LIMIT_REACHED"
    assert await state(database) == before
    node = (await api(OFFER, {"id": offer_id}, "member:alice"))["data"]["offer"]
    assert (node["redeemable"], node["unavailableReason"]) == (False, "LIMIT_REACHED")


@pytest.mark.parametrize(
    ("offer_id", "code"),
    [
        (gid("Offer", 999), "UNKNOWN_OFFER"),
        (gid("Offer", 1), "UNKNOWN_OFFER"),  # the welcome gift: given, never redeemed
        (gid("Member", 1), "INVALID_ID"),
        ("not-an-id", "INVALID_ID"),
        (gid("Offer", 2**31), "INVALID_ID"),
        ("\x00", "INVALID_ID"),
    ],
)
async def test_unknown_and_hostile_offer_ids_get_a_code(api, uows, database, offer_id, code):
    await give(uows, await member(api, "alice"), 100)
    before = await state(database)
    payload = await redeem(api, "alice", offer_id)
    assert [e["code"] for e in payload["errors"]] == [code]
    assert await state(database) == before


@pytest.mark.parametrize("key", ["", "   \x00", "k" * 129, "\u202ekey", "a\nb"])
async def test_hostile_idempotency_keys_get_a_code(api, uows, database, key):
    await give(uows, await member(api, "alice"), 100)
    offer_id = await create(api)
    before = await state(database)
    payload = await redeem(api, "alice", offer_id, key)
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [
        ("INVALID_IDEMPOTENCY_KEY", "idempotencyKey")
    ]
    assert await state(database) == before


async def test_redeeming_before_enrolling_is_refused(api):
    offer_id = await create(api)
    payload = await redeem(api, "nobody", offer_id)
    assert [e["code"] for e in payload["errors"]] == ["NOT_ENROLLED"]
    assert (await api(OFFERS, {"first": 5}, "member:nobody"))["data"]["offers"]["edges"] == []


async def test_roles_are_kept_apart(api):
    await member(api, "alice")
    offer_id = await create(api)
    forbidden = [
        (CREATE, offer_input(), "member:alice"),
        (CREATE, offer_input(), POS),
        (CREATE, offer_input(), "support:sam"),
        (REDEEM, {"offerId": offer_id, "key": "k"}, MIA),
        (REDEEM, {"offerId": offer_id, "key": "k"}, POS),
        (CONSUME, {"input": {"code": "x", "reference": "r"}}, "member:alice"),
        (CONSUME, {"input": {"code": "x", "reference": "r"}}, MIA),
        (OFFERS, {"first": 1}, POS),
        (OFFER, {"id": offer_id}, POS),
    ]
    for query, variables, token in forbidden:
        body = await api(query, variables, token)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", (query, token)
    body = await api(OFFERS, {"first": 1})
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_store_consumes_a_voucher_once_and_a_replay_gets_the_first_answer(
    api, uows, database, clock
):
    await give(uows, await member(api, "alice"), 100)
    offer_id = await create(api)
    code = (await redeem(api, "alice", offer_id))["voucher"]["code"]
    typed = code.replace("-", "").lower().replace("0", "o")  # as a cashier might type it
    clock.advance(minutes=5)
    body = await api(CONSUME, {"input": {"code": typed, "reference": "ORDER-1"}}, POS)
    first = body["data"]["consumeVoucher"]
    assert first["errors"] == [] and first["voucher"]["status"] == "USED"
    assert first["voucher"]["usedAt"] == "2026-06-01T12:05:00+00:00"
    clock.advance(minutes=5)
    before = await state(database)
    again = (await api(CONSUME, {"input": {"code": code, "reference": "ORDER-1"}}, POS))["data"]
    assert again["consumeVoucher"] == first and await state(database) == before
    for reference, token in (("ORDER-2", POS), ("ORDER-1", "integration:web")):
        body = await api(CONSUME, {"input": {"code": code, "reference": reference}}, token)
        errors = body["data"]["consumeVoucher"]["errors"]
        assert [(e["code"], e["field"]) for e in errors] == [("ALREADY_CONSUMED", "code")]
    assert await state(database) == before
    vouchers = (await api(VOUCHERS, {"first": 10, "status": "USED"}, "member:alice"))["data"]
    assert [e["node"]["code"] for e in vouchers["vouchers"]["edges"]] == [code]


async def test_an_expired_voucher_is_refused_and_listed_as_expired(api, uows, database, clock):
    await give(uows, await member(api, "alice"), 100)
    code = (await redeem(api, "alice", await create(api, voucherValidDays=1)))["voucher"]["code"]
    clock.advance(days=1)
    before = await state(database)
    body = await api(CONSUME, {"input": {"code": code, "reference": "ORDER-1"}}, POS)
    assert [e["code"] for e in body["data"]["consumeVoucher"]["errors"]] == ["EXPIRED"]
    assert await state(database) == before
    listed = (await api(VOUCHERS, {"first": 10}, "member:alice"))["data"]["vouchers"]["edges"]
    assert [(e["node"]["origin"], e["node"]["status"]) for e in listed] == [
        ("REDEMPTION", "EXPIRED"),
        ("WELCOME", "ACTIVE"),
    ]
    active = await api(VOUCHERS, {"first": 10, "status": "ACTIVE"}, "member:alice")
    assert [e["node"]["origin"] for e in active["data"]["vouchers"]["edges"]] == ["WELCOME"]
    assert (await api(DASHBOARD, token="member:alice"))["data"]["me"]["activeVoucherCount"] == 1


@pytest.mark.parametrize(
    ("code", "reference", "error"),
    [
        ("0000-0000-0000-0000", "R", "UNKNOWN_CODE"),
        ("'; DROP TABLE voucher; --", "R", "UNKNOWN_CODE"),
        ("\x00" * 16, "R", "UNKNOWN_CODE"),
        ("A" * 10_000, "R", "UNKNOWN_CODE"),
        ("ÄÄÄÄ-ÄÄÄÄ-ÄÄÄÄ-ÄÄÄÄ", "R", "UNKNOWN_CODE"),
        ("0000-0000-0000-0000", "", "INVALID_REFERENCE"),
        ("0000-0000-0000-0000", "r" * 129, "INVALID_REFERENCE"),
        ("0000-0000-0000-0000", "a\x00b", "INVALID_REFERENCE"),
    ],
)
async def test_unknown_and_hostile_codes_get_a_code(api, database, code, reference, error):
    before = await state(database)
    body = await api(CONSUME, {"input": {"code": code, "reference": reference}}, POS)
    assert [e["code"] for e in body["data"]["consumeVoucher"]["errors"]] == [error]
    assert await state(database) == before


async def test_marketing_updates_an_offer_and_members_see_the_change(api, uows, database):
    await give(uows, await member(api, "alice"), 100)
    offer_id = await create(api, stock=5, imageUrl="https://cdn.example.com/a.png")
    changes = {"id": offer_id, "pointsCost": 50, "endsAt": "2026-07-01T00:00:00Z", "imageUrl": None}
    body = await api(UPDATE, {"input": changes}, MIA)
    offer = body["data"]["updateOffer"]["offer"]
    assert body["data"]["updateOffer"]["errors"] == []
    assert (offer["pointsCost"], offer["stock"], offer["imageUrl"]) == (50, 5, None)
    assert offer["endsAt"] == "2026-07-01T00:00:00+00:00"
    before = await state(database)
    for bad, code in [
        ({"id": gid("Offer", 999)}, "UNKNOWN_OFFER"),
        ({"id": "nope"}, "INVALID_ID"),
        ({"id": offer_id, "endsAt": "2026-05-01T00:00:00Z"}, "INVALID_WINDOW"),
        ({"id": offer_id, "kind": "FREE_SHIPPING"}, "INVALID_VALUE"),
        ({"id": offer_id, "stock": -1}, "INVALID_STOCK"),
    ]:
        errors = (await api(UPDATE, {"input": bad}, MIA))["data"]["updateOffer"]["errors"]
        assert [e["code"] for e in errors] == [code], bad
    assert await state(database) == before
    ok = await api(
        UPDATE, {"input": {"id": offer_id, "kind": "FREE_SHIPPING", "percent": None}}, MIA
    )
    assert ok["data"]["updateOffer"]["errors"] == []


async def test_updating_the_stock_keeps_concurrent_redemptions(api, uows):
    await give(uows, await member(api, "alice"), 100)
    offer_id = await create(api, stock=5)
    await redeem(api, "alice", offer_id)
    body = await api(UPDATE, {"input": {"id": offer_id, "pointsCost": 80}}, MIA)
    assert body["data"]["updateOffer"]["offer"]["stock"] == 4
