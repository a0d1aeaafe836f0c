"""Early access through the API: club members see and redeem early from the club's stock."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import func, select
from strawberry.relay import GlobalID

from backend.db.tables import Offer, Voucher
from backend.rewards.offers.services import redeem_offer
from tests.api.offers_support import CREATE, MIA, OFFER, offer_input, redeem, state
from tests.api.personal_support import (
    NODE,
    club,
    club_gid,
    dashboard,
    enrol,
    join,
    move_to,
    offer_titled,
    titles,
)
from tests.conftest import START
from tests.helpers import give

PUBLIC_START = START + timedelta(days=2)  # the club (3 days early) is in from START - 1 day


async def early_offer(
    api, uows, *, stock: int | None = 10, club_stock: int | None = 2, starts=PUBLIC_START
):
    """A club with 3 days of early access, `alice` in it and `bob` not, and an offer of the club
    starting at `starts` (in two days); the offer's global id."""
    club_id = await club(uows)
    for uid in ("alice", "bob"):
        await give(uows, (await enrol(api, uid))[0], 1000)
    await join(uows, "alice", club_id)
    return await offer_titled(
        api,
        "Drop",
        stock=stock,
        clubStock=club_stock,
        startsAt=starts.isoformat(),
        audience={"clubId": club_gid(club_id)},
    )


async def stocks(database, offer_id: str) -> tuple[int | None, int | None]:
    """The offer's (stock, club stock)."""
    pk = int(GlobalID.from_id(offer_id).node_id)
    async with database.reader.connect() as conn:
        row = (
            await conn.execute(select(Offer.stock, Offer.club_stock).where(Offer.id == pk))
        ).one()
    return row.stock, row.club_stock


async def test_club_members_see_it_early_and_others_from_the_public_start(api, uows, clock):
    offer_id = await early_offer(api, uows)
    alice = (await api(OFFER, {"id": offer_id}, "member:alice"))["data"]["offer"]
    assert (alice["title"], alice["redeemable"]) == ("Drop", True)
    listed = (await dashboard(api, "alice"))["featuredOffer"]
    assert (listed["title"], listed["reasonCode"], listed["reason"]) == (
        "Drop",
        "EARLY_ACCESS",
        "Early access for Sneakers Club members",
    )
    for query, variables in ((OFFER, {"id": offer_id}), (NODE, {"id": offer_id})):
        body = await api(query, variables, "member:bob")
        assert next(iter(body["data"].values())) is None
    assert await titles(api, "bob") == []
    assert (await dashboard(api, "bob"))["redeemableOfferCount"] == 0

    move_to(clock, PUBLIC_START - timedelta(microseconds=1))  # the last moment before
    assert await titles(api, "bob") == []
    move_to(clock, PUBLIC_START)
    assert await titles(api, "bob") == ["Drop"]
    assert await titles(api, "alice") == ["Drop"]
    node = (await api(OFFER, {"id": offer_id}, "member:alice"))["data"]["offer"]
    assert node["redeemable"] is True


async def test_early_access_opens_exactly_early_access_days_before_the_start(api, uows, clock):
    starts = START + timedelta(days=5)
    await early_offer(api, uows, starts=starts)
    move_to(clock, starts - timedelta(days=3, microseconds=1))
    assert await titles(api, "alice") == []
    move_to(clock, starts - timedelta(days=3))
    assert await titles(api, "alice") == ["Drop"]
    assert await titles(api, "bob") == []


async def test_a_club_member_redeems_early_from_the_clubs_stock(api, uows, database):
    offer_id = await early_offer(api, uows)
    payload = await redeem(api, "alice", offer_id)
    assert payload["errors"] == [] and payload["voucher"]["status"] == "ACTIVE"
    assert await stocks(database, offer_id) == (10, 1)


async def test_a_non_member_cannot_redeem_before_the_public_start_and_nothing_changes(
    api, uows, database
):
    offer_id = await early_offer(api, uows)
    before = await state(database)
    payload = await redeem(api, "bob", offer_id)
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("NOT_YET_OPEN", "offerId")]
    assert await state(database) == before


async def test_when_the_clubs_units_are_gone_early_access_is_out_of_stock(api, uows, database):
    offer_id = await early_offer(api, uows, club_stock=0)
    before = await state(database)
    payload = await redeem(api, "alice", offer_id)
    assert [e["code"] for e in payload["errors"]] == ["OUT_OF_STOCK"]
    assert await state(database) == before


async def test_what_the_club_left_joins_the_public_stock_and_goes_first(api, uows, database, clock):
    offer_id = await early_offer(api, uows, stock=1, club_stock=2)
    move_to(clock, PUBLIC_START)
    for n, expected in enumerate([(1, 1), (1, 0), (0, 0)]):
        assert (await redeem(api, "bob", offer_id, f"k-{n}"))["errors"] == []
        assert await stocks(database, offer_id) == expected
    assert [e["code"] for e in (await redeem(api, "alice", offer_id, "k-9"))["errors"]] == [
        "OUT_OF_STOCK"
    ]


async def test_without_reserved_units_early_access_takes_the_public_stock(api, uows, database):
    offer_id = await early_offer(api, uows, stock=3, club_stock=None)
    assert (await redeem(api, "alice", offer_id))["errors"] == []
    assert await stocks(database, offer_id) == (2, None)


async def test_racing_club_members_get_exactly_the_reserved_units(api, uows, database):
    club_id = await club(uows)
    uids = [f"fan{n}" for n in range(12)]
    for uid in uids:
        await give(uows, (await enrol(api, uid))[0], 1000)
        await join(uows, uid, club_id)
    offer_id = await offer_titled(
        api,
        "Drop",
        stock=50,
        clubStock=3,
        startsAt=PUBLIC_START.isoformat(),
        audience={"clubId": club_gid(club_id)},
    )
    pk = int(GlobalID.from_id(offer_id).node_id)
    # 12 at once against 5 writer connections; through the service (the API's budget is per member).
    results = await asyncio.gather(
        *(
            uows.run(lambda uow, u=uid: redeem_offer(uow, uid=u, offer_id=pk, idempotency_key="k"))
            for uid in uids
        ),
        return_exceptions=True,
    )
    won = [r for r in results if not isinstance(r, BaseException)]
    lost = [r for r in results if isinstance(r, BaseException)]
    assert len(won) == 3 and {getattr(e, "code", None) for e in lost} == {"OUT_OF_STOCK"}
    assert await stocks(database, offer_id) == (50, 0)
    async with database.reader.connect() as conn:
        issued = (
            await conn.execute(select(func.count()).where(Voucher.offer_id == pk))
        ).scalar_one()
    assert issued == 3


async def test_club_stock_needs_a_club_and_stays_in_range(api):
    for fields, field in (
        ({"clubStock": 2}, "clubStock"),
        ({"clubStock": -1, "audience": {"clubId": club_gid(1)}}, "clubStock"),
        ({"clubStock": 1_000_000_001, "audience": {"clubId": club_gid(1)}}, "clubStock"),
    ):
        body = await api(CREATE, offer_input(**fields), MIA)
        errors = body["data"]["createOffer"]["errors"]
        assert [(e["code"], e["field"]) for e in errors] == [("INVALID_STOCK", field)]
