"""The offers' decoded terms are kept between requests, and never outlive a change of the row."""

from __future__ import annotations

from backend.rewards.offers import facts
from backend.rewards.offers.facts import OfferCache
from tests.api.offers_support import MIA, UPDATE, create, member, offer_input, redeem
from tests.helpers import give

DASHBOARD = """
{ me { activeVoucherCount redeemableOfferCount
       featuredOffer { id title pointsCost stock categories audience { minimumTier } } } }"""


async def dashboard(api, uid: str) -> dict:
    """The member's offer figures on the dashboard."""
    body = await api(DASHBOARD, {}, f"member:{uid}")
    assert "errors" not in body, body
    return body["data"]["me"]


async def update(api, **changes) -> None:
    """Change an offer as marketing."""
    body = await api(UPDATE, {"input": changes}, MIA)
    assert body["data"]["updateOffer"]["errors"] == [], body


async def test_an_update_is_seen_on_the_very_next_dashboard(api, uows):
    # given a member's dashboard that has read (and kept) an offer's terms
    await give(uows, await member(api, "alice"), 1_000)
    offer_id = await create(api, pointsCost=50, stock=5)
    seen = await dashboard(api, "alice")
    vouchers = seen["activeVoucherCount"]  # the welcome gift's, if any
    assert seen["featuredOffer"]["title"] == "10% off denim"
    assert (seen["redeemableOfferCount"], seen["featuredOffer"]["pointsCost"]) == (1, 50)
    # when marketing changes its texts and cost (the clock has not moved: same `updated_at`)
    texts = offer_input(texts=[{"language": "en", "title": "20% off", "description": "Jeans."}])
    await update(api, id=offer_id, pointsCost=60, texts=texts["input"]["texts"])
    # then the very next dashboard reads the new terms
    seen = await dashboard(api, "alice")
    assert (seen["featuredOffer"]["title"], seen["featuredOffer"]["pointsCost"]) == ("20% off", 60)
    # and a unit of stock taken is read fresh
    assert (await redeem(api, "alice", offer_id))["errors"] == []
    seen = await dashboard(api, "alice")
    assert (seen["activeVoucherCount"], seen["featuredOffer"]["stock"]) == (vouchers + 1, 4)
    # and an offer made too dear is no longer redeemable at once
    await update(api, id=offer_id, pointsCost=5_000)
    seen = await dashboard(api, "alice")
    assert (seen["redeemableOfferCount"], seen["featuredOffer"]) == (0, None)


async def test_the_cache_stays_bounded_and_answers_the_same(api, uows, monkeypatch):
    # given five open offers and a dashboard read with room for all of them
    await give(uows, await member(api, "alice"), 1_000)
    for cost in range(10, 60, 10):
        await create(api, pointsCost=cost)
    monkeypatch.setattr(facts, "OFFERS", OfferCache(size=100))
    roomy = await dashboard(api, "alice")
    assert len(facts.OFFERS) == 5
    # when the cache holds three offers at most
    small = OfferCache(size=3)
    monkeypatch.setattr(facts, "OFFERS", small)
    answers = [await dashboard(api, "alice") for _ in range(2)]
    # then it never holds more, and every read answers as before (the featured offer rotates)
    assert len(small) == 3
    for seen in answers:
        assert seen["redeemableOfferCount"] == roomy["redeemableOfferCount"] == 5
    featured = [roomy["featuredOffer"]["id"]] + [seen["featuredOffer"]["id"] for seen in answers]
    assert len(set(featured)) == 3, featured
