"""Welcome gift and milestone gifts: issued with the enrolment or purchase, each exactly once."""

from __future__ import annotations

import asyncio

from sqlalchemy import select
from strawberry.relay import GlobalID

from backend.db.tables import AuditLog, Voucher
from tests.api.offers_support import MIA, MILESTONES, POS, VOUCHERS, create, member, state
from tests.api.operations import RECORD, REFUND
from tests.api.test_purchases_api import order


def offer_gid(pk: int) -> str:
    """An offer's global id."""
    return str(GlobalID("Offer", str(pk)))


async def gifts(api, uid: str = "alice") -> list[tuple[str, str]]:
    """The member's vouchers as (origin, offer title), oldest first."""
    body = await api(VOUCHERS, {"first": 50}, f"member:{uid}")
    edges = body["data"]["vouchers"]["edges"]
    return [(e["node"]["origin"], e["node"]["offer"]["title"]) for e in reversed(edges)]


async def card_of(api, uid: str = "alice") -> str:
    """The member's card number."""
    return (await api("{ me { cardNumber } }", token=f"member:{uid}"))["data"]["me"]["cardNumber"]


async def buy(api, card: str, order_id: str) -> None:
    """Record a purchase as a store system."""
    body = await api(RECORD, order(card, order_id), POS)
    assert body["data"]["recordPurchase"]["errors"] == [], body


async def test_a_new_member_gets_the_welcome_gift_once(api):
    await member(api, "alice", "nl")
    await member(api, "alice", "nl")  # enrolling again returns the membership
    assert await gifts(api) == [("WELCOME", "Welkomstcadeau: een gratis sleutelhanger")]


async def test_milestone_gifts_come_at_the_4th_and_10th_purchase_exactly_once(api, database):
    await member(api, "alice")
    card = await card_of(api)
    for n in range(1, 5):
        await buy(api, card, f"A-{n}")
    tote = ("MILESTONE", "Your 4th purchase: a free tote bag")
    assert (await gifts(api))[1:] == [tote]
    before = await state(database)
    await buy(api, card, "A-4")  # a replayed order
    assert await state(database) == before
    refund = {"orderId": "A-4", "refundId": "R-1", "amount": "120.50", "currency": "EUR"}
    assert (await api(REFUND, {"input": refund}, POS))["data"]["refundPurchase"]["errors"] == []
    await buy(api, card, "A-5")  # the 4th purchase that counts, again
    assert (await gifts(api))[1:] == [tote]
    for n in range(6, 12):
        await buy(api, card, f"A-{n}")
    assert (await gifts(api))[1:] == [tote, ("MILESTONE", "Your 10th purchase: 15 EUR off")]


async def test_marketing_changes_the_ladder_and_the_welcome_gift(api, database):
    keychain = await create(api, pointsCost=0, listed=False, kind="FREE_PRODUCT", percent=None)
    payload = (
        await api(
            MILESTONES,
            {"input": {"steps": [{"purchases": 1, "offerId": keychain}], "welcomeOfferId": None}},
            MIA,
        )
    )["data"]["configureMilestones"]
    assert payload["errors"] == [] and payload["welcomeOffer"] is None
    assert [(s["purchases"], s["offer"]["id"]) for s in payload["steps"]] == [(1, keychain)]
    await member(api, "alice")
    assert await gifts(api) == []
    await buy(api, await card_of(api), "B-1")
    assert await gifts(api) == [("MILESTONE", "10% off denim")]
    async with database.reader.connect() as conn:
        audits = (await conn.execute(select(AuditLog.action, AuditLog.details))).all()
    assert audits[-1].action == "configure_milestones"
    assert audits[-1].details["milestones"] == [{"purchases": 1, "offer_id": 4}]


async def test_a_bad_ladder_is_refused_and_changes_nothing(api, database):
    paid = await create(api)
    gift = offer_gid(2)
    before = await state(database)
    for steps, welcome, code, field in [
        ([{"purchases": 3, "offerId": paid}], None, "NOT_A_GIFT", "steps.0.offerId"),
        ([], paid, "NOT_A_GIFT", "welcomeOfferId"),
        ([], offer_gid(999), "UNKNOWN_OFFER", "welcomeOfferId"),
        ([{"purchases": 3, "offerId": "x"}], None, "INVALID_ID", "steps.0.offerId"),
        ([{"purchases": 0, "offerId": gift}], None, "INVALID_MILESTONE", "steps.0.purchases"),
        (
            [{"purchases": 3, "offerId": gift}, {"purchases": 3, "offerId": gift}],
            None,
            "INVALID_MILESTONE",
            "steps.1.purchases",
        ),
        (
            [{"purchases": n, "offerId": gift} for n in range(1, 22)],
            None,
            "INVALID_MILESTONE",
            "steps",
        ),
    ]:
        body = await api(MILESTONES, {"input": {"steps": steps, "welcomeOfferId": welcome}}, MIA)
        errors = body["data"]["configureMilestones"]["errors"]
        assert [(e["code"], e["field"]) for e in errors] == [(code, field)], steps
    assert await state(database) == before
    body = await api(MILESTONES, {"input": {"steps": []}}, "member:alice")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_gift_out_of_stock_is_skipped_and_the_enrolment_goes_through(api, database):
    gift = await create(api, pointsCost=0, listed=False, stock=1, kind="EXPERIENCE", percent=None)
    await api(MILESTONES, {"input": {"steps": [], "welcomeOfferId": gift}}, MIA)
    await member(api, "alice")
    await member(api, "bob")
    assert await gifts(api, "alice") == [("WELCOME", "10% off denim")]
    assert await gifts(api, "bob") == []
    async with database.reader.connect() as conn:
        assert len((await conn.execute(select(Voucher.id))).all()) == 1


async def test_concurrent_purchases_of_one_member_reach_each_milestone_once(api):
    # Given a member
    await member(api, "alice")
    card = await card_of(api)
    # When ten of their orders arrive at once
    await asyncio.gather(*(buy(api, card, f"C-{n}") for n in range(1, 11)))
    # Then each purchase counted the ones before it: both milestones, once each
    assert (await gifts(api))[1:] == [
        ("MILESTONE", "Your 4th purchase: a free tote bag"),
        ("MILESTONE", "Your 10th purchase: 15 EUR off"),
    ]
