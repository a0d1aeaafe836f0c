"""Personalized offers through the API: ranking, reasons, dislikes, stable pages, the featured offer."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
from sqlalchemy import select
from sqlmodel import col
from strawberry.relay import GlobalID

from backend.db.tables import FeaturedOffer
from backend.main import create_app
from backend.rewards.offers.personalization import FEATURED_POOL
from backend.settings import Settings
from tests.api.conftest import Api
from tests.api.offers_support import MIA, UPDATE
from tests.api.personal_support import (
    buy,
    club,
    club_gid,
    dashboard,
    enrol,
    join,
    offer_titled,
    offers_of,
    set_tier,
    style,
    titles,
    view,
)
from tests.api.test_query_counts import counting_checkouts
from tests.api.test_query_plans import HOT, capturing, full_scans
from tests.api.test_style_api import SET_OPTION
from tests.helpers import give


async def tea_drinker(api, uows, uid: str = "alice", locale: str = "en") -> int:
    """A gold member who bought outerwear, looked at knitwear, is sporty, loves tea, hates coffee."""
    member_id, card = await enrol(api, uid, locale)
    await give(uows, member_id, 10_000)
    await set_tier(uows, member_id, "gold")
    await buy(api, card, f"{uid}-1", "outerwear")
    await view(api, uid, "knitwear")
    await style(
        api, uid, styles=["sporty"], favouriteCategories=["tea"], dislikedCategories=["coffee"]
    )
    return member_id


async def catalogue(api) -> None:
    """One offer per reason, and a coffee offer, created in this order (newest last)."""
    await offer_titled(api, "Denim", categories=["denim"])
    await offer_titled(api, "Free coffee", categories=["coffee"])
    await offer_titled(api, "Knitwear", categories=["knitwear"])
    await offer_titled(api, "Outerwear", categories=["outerwear"])
    await offer_titled(api, "Gold", categories=[], audience={"minimumTier": "gold"})
    await offer_titled(api, "Sporty", categories=[], audience={"styleTags": ["style:sporty"]})
    await offer_titled(api, "Tea", categories=["tea"])


RANKED = [
    ("Tea", "FAVOURITE_CATEGORY", "From your favourite category: tea"),
    ("Sporty", "STYLE_MATCH", "Matches your sporty style"),
    ("Gold", "TIER", "A Gold-tier offer"),
    ("Outerwear", "BOUGHT_CATEGORY", "Because you bought outerwear"),
    ("Knitwear", "VIEWED_CATEGORY", "Because you looked at knitwear"),
    ("Denim", "NEW_OFFER", "New for you"),
]


async def test_offers_are_ranked_for_the_member_and_say_why(api, uows):
    await tea_drinker(api, uows)
    await catalogue(api)
    edges = (await offers_of(api, "alice"))["edges"]
    found = [(e["node"]["title"], e["node"]["reasonCode"], e["node"]["reason"]) for e in edges]
    assert found == RANKED
    assert all(e["node"]["redeemable"] and e["node"]["earlyAccess"] is False for e in edges)


async def test_reasons_are_in_the_members_language(api, uows):
    await tea_drinker(api, uows, "olena", locale="uk")
    await catalogue(api)
    reasons = [e["node"]["reason"] for e in (await offers_of(api, "olena"))["edges"]]
    assert reasons[:4] == [
        "З вашої улюбленої категорії: чай",
        "Пасує до вашого стилю: спортивний",
        "Пропозиція для рівня Gold",
        "Бо ви купували: верхній одяг",
    ]


async def test_a_relabelled_option_shows_in_reasons_once_the_shared_labels_are_read_again(
    database, uows, client_for
):
    # Given labels kept for no time at all (RULES_CACHE_SECONDS=0: re-read in the background)
    async with client_for(database, rules_cache_seconds=0) as client:
        api = Api(client)
        await tea_drinker(api, uows)
        await catalogue(api)
        assert (await offers_of(api, "alice"))["edges"][0]["node"]["reason"].endswith(": tea")
        # When marketing renames the category
        relabel = {
            "kind": "CATEGORY",
            "code": "tea",
            "reason": "Rename",
            "labels": [{"locale": "en", "label": "Loose-leaf tea"}],
        }
        body = await api(SET_OPTION, {"input": relabel}, MIA)
        assert body["data"]["setStyleOption"]["errors"] == [], body
        # Then a visit or two later the reason names it so (the visit that finds the labels
        # stale answers with them and has them read again)
        reasons = []
        for _ in range(3):
            reasons.append((await offers_of(api, "alice"))["edges"][0]["node"]["reason"])
            await asyncio.sleep(0.05)
        assert reasons[-1] == "From your favourite category: loose-leaf tea", reasons


async def test_a_member_without_history_sees_the_newest_first(api, uows):
    await give(uows, (await enrol(api, "bob"))[0], 100)
    await catalogue(api)
    # "Gold" is for gold members, "Sporty" for sporty StyleIDs: bob is neither.
    assert await titles(api, "bob") == ["Tea", "Outerwear", "Knitwear", "Free coffee", "Denim"]


async def test_a_tea_drinker_who_dislikes_coffee_never_sees_a_coffee_offer(api, uows):
    await tea_drinker(api, uows)
    await catalogue(api)
    await offer_titled(api, "Coffee and tea", categories=["tea", "coffee"])
    listed, after = [], None
    while True:
        page = await offers_of(api, "alice", first=2, after=after)
        listed += [e["node"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    featured = [(await dashboard(api, "alice"))["featuredOffer"] for _ in range(2 * FEATURED_POOL)]
    shown = listed + featured
    assert shown and not any("coffee" in offer["categories"] for offer in shown)
    assert (await dashboard(api, "alice"))["redeemableOfferCount"] == len(listed) == 6


async def test_paging_by_two_gives_every_offer_exactly_once_in_rank_order(api, uows):
    await tea_drinker(api, uows)
    await catalogue(api)
    for n in range(5):  # ties: equal scores run newest first
        await offer_titled(api, f"Plain {n}", categories=["denim"])
    whole = await titles(api, "alice")
    paged, after, pages = [], None, 0
    while True:
        page = await offers_of(api, "alice", first=2, after=after)
        paged += [e["node"]["title"] for e in page["edges"]]
        pages += 1
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert paged == whole and len(set(paged)) == len(paged) == 11 and pages == 6


async def test_a_bad_cursor_is_a_bad_user_input(api, uows):
    await enrol(api, "alice")
    for cursor in ("b2ZmZXI6MQ==", "x", "b2ZmZXI6LTE6Mw==", "dm91Y2hlcjoxOjE="):
        body = await api(
            "query($a: String) { offers(first: 2, after: $a) { edges { cursor } } }",
            {"a": cursor},
            "member:alice",
        )
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", cursor


async def test_the_featured_offer_changes_between_two_consecutive_visits(api, uows):
    await tea_drinker(api, uows)
    await catalogue(api)
    visits = [(await dashboard(api, "alice"))["featuredOffer"]["title"] for _ in range(7)]
    assert visits == ["Tea", "Sporty", "Gold", "Outerwear", "Knitwear", "Tea", "Sporty"]
    first = (await dashboard(api, "alice"))["featuredOffer"]
    assert (first["reasonCode"], first["reason"]) == ("TIER", "A Gold-tier offer")


async def test_the_only_eligible_offer_is_featured_again_and_none_gives_null(api, uows):
    member_id, _ = await enrol(api, "alice")
    assert (await dashboard(api, "alice"))["featuredOffer"] is None
    await offer_titled(api, "Dear", pointsCost=500)  # not redeemable: 0 points
    assert (await dashboard(api, "alice"))["featuredOffer"] is None
    await offer_titled(api, "Free", pointsCost=0)
    assert [(await dashboard(api, "alice"))["featuredOffer"]["title"] for _ in range(2)] == [
        "Free",
        "Free",
    ]
    await give(uows, member_id, 500)
    assert (await dashboard(api, "alice"))["featuredOffer"]["title"] == "Dear"


async def test_an_offer_that_closes_is_no_longer_featured(api, uows):
    await give(uows, (await enrol(api, "alice"))[0], 100)
    first = await offer_titled(api, "First")
    await offer_titled(api, "Second")
    assert (await dashboard(api, "alice"))["featuredOffer"]["title"] == "Second"
    assert (await dashboard(api, "alice"))["featuredOffer"]["title"] == "First"
    body = await api(UPDATE, {"input": {"id": first, "listed": False}}, MIA)
    assert body["data"]["updateOffer"]["errors"] == []
    assert [(await dashboard(api, "alice"))["featuredOffer"]["title"] for _ in range(2)] == [
        "Second",
        "Second",
    ]


@contextlib.asynccontextmanager
async def server(database, clock, verifier) -> AsyncIterator[Api]:
    """A server process's app, started and stopped (its lifespan runs)."""
    app = create_app(
        Settings(mode="production", jobs_enabled=False, push_backend="log"),
        verifier=verifier,
        clock=clock,
        database=database,
    )
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://test") as client,
    ):
        yield Api(client)


async def stored_pick(database, member_id: int) -> int | None:
    """The offer id stored as the member's last featured, if any."""
    async with database.reader.connect() as conn:
        found = await conn.scalar(
            select(col(FeaturedOffer.offer_id)).where(col(FeaturedOffer.member_id) == member_id)
        )
    return int(found) if found is not None else None


async def test_picks_are_stored_in_batches_and_the_next_server_goes_on_rotating(
    api, uows, database, clock, verifier, monkeypatch
):
    # Given a member with three redeemable offers and a server storing picks every 50 ms
    monkeypatch.setattr("backend.main.STORE_EVERY_SECONDS", 0.05)
    member_id = (await enrol(api, "alice"))[0]
    await give(uows, member_id, 100)
    ids = {title: await offer_titled(api, title) for title in ("First", "Second", "Third")}
    async with server(database, clock, verifier) as first:
        # When the member visits, the pick is stored shortly after, without a write per visit
        assert (await dashboard(first, "alice"))["featuredOffer"]["title"] == "Third"
        for _ in range(100):
            if await stored_pick(database, member_id) is not None:
                break
            await asyncio.sleep(0.02)
        assert await stored_pick(database, member_id) == int(GlobalID.from_id(ids["Third"]).node_id)
        # and a visit just before the server stops is stored as it stops
        assert (await dashboard(first, "alice"))["featuredOffer"]["title"] == "Second"
    assert await stored_pick(database, member_id) == int(GlobalID.from_id(ids["Second"]).node_id)
    # Then another server goes on from there
    async with server(database, clock, verifier) as second:
        assert (await dashboard(second, "alice"))["featuredOffer"]["title"] == "First"


async def test_dashboards_at_once_above_the_pool_sizes_all_answer(api, uows, database):
    ids = [(await enrol(api, f"m{n}"))[0] for n in range(4)]
    for member_id in ids:
        await give(uows, member_id, 1000)
    for n in range(3):
        await offer_titled(api, f"Offer {n}")
    # 24 requests: more than the 10 readers; every visit picks a featured offer.
    answers = await asyncio.gather(
        *(dashboard(api, f"m{n % 4}") for n in range(24)), return_exceptions=True
    )
    assert not [a for a in answers if isinstance(a, BaseException)], answers
    assert all(a["featuredOffer"]["title"].startswith("Offer") for a in answers)
    assert (database.reader.pool.checkedout(), database.writer.pool.checkedout()) == (0, 0)
    # Sequential visits after the burst still rotate.
    visits = [(await dashboard(api, "m0"))["featuredOffer"]["title"] for _ in range(3)]
    assert visits[0] != visits[1] != visits[2]


async def dashboard_costs(api, database, count_queries, uid: str) -> tuple[int, dict[str, int]]:
    """Statements and checkouts of one Dashboard visit."""
    await dashboard(api, uid)  # the shared program rules read first
    count_queries.count = 0
    with counting_checkouts(database) as checkouts:
        me = await dashboard(api, uid)
    assert me["featuredOffer"] is not None
    return count_queries.count, checkouts


async def test_the_dashboard_costs_the_same_statements_for_2_or_40_offers(
    steady_api, uows, database, count_queries
):
    api = steady_api  # counted: the shared rules and labels are not re-read meanwhile
    for uid in ("few", "many"):
        await tea_drinker(api, uows, uid)
    for n in range(2):
        await offer_titled(api, f"Few {n}", categories=["tea"], perMemberLimit=1)
    few = await dashboard_costs(api, database, count_queries, "few")
    for n in range(38):
        await offer_titled(api, f"Many {n}", categories=["outerwear"], perMemberLimit=1)
    many = await dashboard_costs(api, database, count_queries, "many")
    assert few == many, (few, many)
    statements, checkouts = many
    # Reads: the member, with as columns the member's offer facts (StyleID profile, clubs,
    # active vouchers, last featured; the profile also answers `styleProfile`), points (settled
    # lots; the offers' balance too), their categories, the open offers with the vouchers taken.
    # The reason's option labels are shared like the program rules. No write: the featured pick
    # is stored later, with other visits' picks.
    assert statements == 1, statements
    # One batch, one reader: `me` with every read its fields need; no writer.
    assert checkouts == {"reader": 1, "writer": 0}, checkouts


# Per-member tables the dashboard's offer figures read, besides the ledger's.
OFFER_HOT = (
    *HOT,
    "voucher",
    "club_membership",
    "member_category",
    "style_profile",
    "featured_offer",
)


async def test_the_dashboards_offer_reads_use_indexes_only(api, uows, database):
    club_id = await club(uows)
    await tea_drinker(api, uows)
    await join(uows, "alice", club_id)
    await offer_titled(api, "Tea", categories=["tea"], perMemberLimit=1)
    await offer_titled(api, "Club", categories=[], audience={"clubId": club_gid(club_id)})
    await dashboard(api, "alice")  # the shared program rules read first
    with capturing(database) as sent:
        me = await dashboard(api, "alice")
    assert me["featuredOffer"] is not None
    assert any("club_membership" in statement for statement, _ in sent)
    assert await full_scans(database, sent, OFFER_HOT) == []
