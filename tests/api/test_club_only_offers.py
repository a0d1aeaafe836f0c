"""Club-only offers through the API: the club's members alone see and redeem them, early too."""

from __future__ import annotations

from datetime import timedelta

from tests.api.offers_support import CREATE, MIA, OFFER, UPDATE, offer_input, redeem, state
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
AUDIENCE = "query($id: ID!) { node(id: $id) { ... on Offer { audience { clubId clubOnly } } } }"


async def club_only_offer(api, uows, *, club_only: bool = True) -> tuple[int, str]:
    """A club with 3 days of early access, `alice` in it and `bob` not, and an offer for the
    club's members alone starting in two days; the club's id and the offer's global id."""
    club_id = await club(uows)
    for uid in ("alice", "bob"):
        await give(uows, (await enrol(api, uid))[0], 1000)
    await join(uows, "alice", club_id)
    offer_id = await offer_titled(
        api,
        "Members' drop",
        startsAt=PUBLIC_START.isoformat(),
        audience={"clubId": club_gid(club_id), "clubOnly": club_only},
    )
    return club_id, offer_id


async def seen_by(api, uid: str, offer_id: str) -> dict[str, object]:
    """Everything a member may see of the offer: list, `offer`, `node` and the dashboard."""
    me = await dashboard(api, uid)
    one = (await api(OFFER, {"id": offer_id}, f"member:{uid}"))["data"]["offer"]
    node = (await api(NODE, {"id": offer_id}, f"member:{uid}"))["data"]["node"]
    featured = me["featuredOffer"]
    return {
        "titles": await titles(api, uid),
        "offer": one and one["title"],
        "node": node and node["title"],
        "count": me["redeemableOfferCount"],
        "featured": featured and featured["title"],
    }


SEEN = {
    "titles": ["Members' drop"],
    "offer": "Members' drop",
    "node": "Members' drop",
    "count": 1,
    "featured": "Members' drop",
}
UNSEEN = {"titles": [], "offer": None, "node": None, "count": 0, "featured": None}


async def test_only_club_members_see_it_early_and_after_the_public_start(api, uows, clock):
    _, offer_id = await club_only_offer(api, uows)
    assert await seen_by(api, "alice", offer_id) == SEEN
    assert await seen_by(api, "bob", offer_id) == UNSEEN
    move_to(clock, PUBLIC_START)
    assert await seen_by(api, "alice", offer_id) == SEEN
    assert await seen_by(api, "bob", offer_id) == UNSEEN
    answer = (await api(AUDIENCE, {"id": offer_id}, MIA))["data"]["node"]["audience"]
    assert answer["clubOnly"] is True


async def test_a_club_member_redeems_it_early_and_after_the_public_start(api, uows, clock):
    _, offer_id = await club_only_offer(api, uows)
    assert (await redeem(api, "alice", offer_id, "early"))["errors"] == []
    move_to(clock, PUBLIC_START)
    assert (await redeem(api, "alice", offer_id, "later"))["errors"] == []


async def test_a_non_member_is_never_in_its_audience_and_nothing_changes(
    api, uows, database, clock
):
    _, offer_id = await club_only_offer(api, uows)
    for moment in (START, PUBLIC_START):
        move_to(clock, moment)
        before = await state(database)
        payload = await redeem(api, "bob", offer_id, f"k-{moment.day}")
        assert payload["voucher"] is None
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [
            ("NOT_IN_AUDIENCE", "offerId")
        ]
        assert await state(database) == before


async def test_club_only_needs_a_club_and_nothing_is_written(api, uows, database):
    _, offer_id = await club_only_offer(api, uows, club_only=False)
    before = await state(database)
    created = await api(CREATE, offer_input(audience={"clubOnly": True}), MIA)
    updated = await api(UPDATE, {"input": {"id": offer_id, "audience": {"clubOnly": True}}}, MIA)
    for payload in (created["data"]["createOffer"], updated["data"]["updateOffer"]):
        assert payload["offer"] is None
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [
            ("INVALID_AUDIENCE", "audience.clubOnly")
        ]
    assert await state(database) == before
    answer = (await api(AUDIENCE, {"id": offer_id}, MIA))["data"]["node"]["audience"]
    assert answer == {"clubId": answer["clubId"], "clubOnly": False}


async def test_update_offer_makes_it_club_only_and_open_again(api, uows, clock):
    club_id, offer_id = await club_only_offer(api, uows, club_only=False)
    move_to(clock, PUBLIC_START)
    assert await titles(api, "bob") == ["Members' drop"]
    for club_only, bob_sees in ((True, []), (False, ["Members' drop"])):
        audience = {"clubId": club_gid(club_id), "clubOnly": club_only}
        body = await api(UPDATE, {"input": {"id": offer_id, "audience": audience}}, MIA)
        assert body["data"]["updateOffer"]["errors"] == []
        assert await titles(api, "bob") == bob_sees
        assert await titles(api, "alice") == ["Members' drop"]
