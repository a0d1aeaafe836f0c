"""The monthly leaderboard over the API: competition ranks with ties, opt-in names, my rank;
reversed, expired and staff-adjusted points never count; every read goes through an index."""

from __future__ import annotations

import base64
import re

from backend.rewards.games.leaderboard import RankOf
from backend.rewards.ledger import EntryKind, Posting, Source, credit, reverse_credit, settle
from backend.rewards.tiers.rules import month_of
from tests.api.board_operations import BOARD, DRAWS, MY_RANK, OPT_IN, create, enrolled, enter
from tests.api.test_query_counts import counting_checkouts
from tests.api.test_query_plans import HOT, capturing, full_scans, plan_lines
from tests.helpers import give, spend

ANONYMOUS = re.compile(r"Member #\d{6}")


async def board(api, uid: str, **variables) -> dict:
    """The leaderboard as a member sees it."""
    body = await api(BOARD, variables, f"member:{uid}")
    assert "errors" not in body, body
    return body["data"]["leaderboard"]


def rows(found: dict) -> list[tuple]:
    """(rank, points, name, isMe) of each entry."""
    return [
        (n["rank"], n["points"], n["name"], n["isMe"])
        for n in (e["node"] for e in found["entries"]["edges"])
    ]


async def test_ties_share_a_rank_only_opted_in_members_are_named_and_pages_keep_ranks(
    api, uows, clock
):
    ids = {uid: await enrolled(api, uid) for uid in ("ann", "bea", "cas", "dan", "eve")}
    for uid, points in (("ann", 50), ("bea", 40), ("cas", 40), ("dan", 10)):
        await give(uows, ids[uid], points)
    await staff_adjustment(uows, ids["eve"], 500)  # staff corrections are not earnings
    opted = await api(OPT_IN, {"on": True, "name": "Bea"}, "member:bea")
    assert opted["data"]["updateProfile"] == {"member": {"leaderboardOptIn": True}, "errors": []}

    seen = await board(api, "cas")

    ranked = rows(seen)
    assert [(r[0], r[1], r[3]) for r in ranked] == [
        (1, 50, False), (2, 40, True), (2, 40, False), (4, 10, False)
    ]  # fmt: skip
    assert [r[2] for r in ranked][2] == "Bea"  # ties list the newer membership first
    assert all(ANONYMOUS.fullmatch(r[2]) for i, r in enumerate(ranked) if i != 2)
    assert (seen["myRank"], seen["myPoints"], seen["period"]) == (2, 40, "CURRENT_MONTH")
    assert (seen["startsAt"], seen["endsAt"]) == (
        "2026-06-01T00:00:00+00:00",
        "2026-07-01T00:00:00+00:00",
    )
    first = await board(api, "dan", first=2)
    after = await board(api, "dan", first=2, after=first["entries"]["pageInfo"]["endCursor"])
    assert [r[0] for r in rows(first)] + [r[0] for r in rows(after)] == [1, 2, 2, 4]
    assert [r[2] for r in rows(first) + rows(after)] == [r[2] for r in ranked]  # stable names
    assert after["entries"]["pageInfo"]["hasNextPage"] is False
    assert (await api(MY_RANK, None, "member:dan"))["data"]["me"] == {
        "leaderboardRank": 4, "leaderboardOptIn": False
    }  # fmt: skip
    assert (await api(MY_RANK, None, "member:eve"))["data"]["me"]["leaderboardRank"] is None
    assert (await board(api, "eve"))["myRank"] is None


async def staff_adjustment(uows, member_id: int, points: int) -> None:
    """Credit points as a staff adjustment (ADJUST)."""

    async def use_case(uow):
        member = await uow.lock_member(member_id)
        posting = Posting("goodwill", Source.STAFF)
        await credit(uow, member=member, points=points, posting=posting, kind=EntryKind.ADJUST)
        await uow.commit()

    await uows.run(use_case)


async def test_reversed_and_expired_points_leave_the_board_spent_ones_stay(api, uows, clock):
    ann, bea = await enrolled(api, "ann"), await enrolled(api, "bea")
    earn = await give(uows, ann, 300)
    await give(uows, bea, 250)
    await spend(uows, bea, 200)  # spending does not undo earning

    async def refund(uow):
        member = await uow.lock_member(ann)
        posting = Posting("refund", Source.ORDER)
        await reverse_credit(uow, member=member, earn_entry_id=earn.id, points=100, posting=posting)
        await uow.commit()

    await uows.run(refund)
    assert [(r[0], r[1]) for r in rows(await board(api, "ann"))] == [(1, 250), (2, 200)]

    june = month_of(clock.now())
    short = await give(uows, bea, 100, lifetime_months=1)  # expires on 1 July
    assert short.kind == "earn"
    clock.advance(days=31)

    async def expire(uow):
        await settle(uow, member=await uow.lock_member(bea))
        await uow.commit()

    await uows.run(expire)
    async with uows() as uow:
        conn = await uow.session.connection()
        standing = await conn.run_sync(RankOf(bea, june).run)
    assert (standing.rank, standing.points) == (1, 250)  # the expired 100 no longer count
    assert (await board(api, "ann"))["entries"]["edges"] == []  # a new month starts empty


async def test_the_board_my_rank_and_the_draws_read_through_indexes(api, uows, database):
    for i, uid in enumerate(("ann", "bea", "cas")):
        await give(uows, await enrolled(api, uid), 10 * (i + 1))
    draw = await create(api)
    await enter(api, "ann", draw["id"])
    first = await board(api, "ann", first=1)
    with capturing(database) as sent:
        await board(api, "ann", first=1, after=first["entries"]["pageInfo"]["endCursor"])
        await api(MY_RANK, None, "member:ann")
        await api(DRAWS, None, "member:ann")
    assert (
        await full_scans(database, sent, (*HOT, "earned_month", "earned_score", "draw_ticket"))
        == []
    )
    with capturing(database) as sent:
        await api(MY_RANK, None, "member:ann")
    lines = [line for _, line in await plan_lines(database, sent)]
    # The rank sums the histogram's scores above; it ranges over no member's row of the board.
    assert any("earned_score" in line for line in lines), lines
    assert not any("ix_earned_month_rank" in line for line in lines), lines


async def test_my_rank_joins_the_opening_querys_single_batch(api, uows, database, count_queries):
    await give(uows, await enrolled(api, "ann"), 30)
    await api(MY_RANK, None, "member:ann")  # the shared program rules are read
    count_queries.count = 0
    with counting_checkouts(database) as checkouts:
        body = await api(MY_RANK, None, "member:ann")
    assert body["data"]["me"]["leaderboardRank"] == 1
    # the member, with their points this month and the histogram's members above as columns
    assert (count_queries.count, checkouts) == (1, {"reader": 1, "writer": 0})


async def test_forged_cursors_and_page_sizes_are_bad_user_input(api):
    await enrolled(api, "ann")
    forged = base64.urlsafe_b64encode(b"board:12:999999999999").decode()
    for variables in ({"first": 0}, {"first": 101}, {"after": "x"}, {"after": forged}):
        body = await api(BOARD, variables, "member:ann")
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", variables
    body = await api(BOARD, None, "integration:pos")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
