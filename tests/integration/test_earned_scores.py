"""The leaderboard's score histogram (`earned_score`) follows `earned_month` on both databases:
ties, members moving between scores, refunds and expiries taking points back, bulk credits, and
concurrent earns of many members on a small pool (no deadlock); ranks read from it are exact."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import select

from backend.db.engine import Pools, open_database
from backend.db.tables import EarnedMonth
from backend.rewards.games.leaderboard import BoardPage, RankOf
from backend.rewards.ledger import Posting, Source, credit_each, reverse_credit, settle
from backend.rewards.tiers.rules import month_of
from backend.rewards.uow import UnitOfWorkFactory
from tests.helpers import give, new_member
from tests.integration.test_ledger_properties import assert_scores_match_earned_months


async def ranks(uows, month) -> dict[int, int | None]:
    """Each member's rank as `RankOf` reads it."""
    async with uows() as uow:
        conn = await uow.session.connection()
        ids = (await uow.session.execute(select(EarnedMonth.member_id))).scalars().all()
        return {i: getattr(await conn.run_sync(RankOf(i, month).run), "rank", None) for i in ids}


async def counted_ranks(uows, month) -> dict[int, int | None]:
    """Each member's rank counted from `earned_month`: 1 + the members with more points."""
    async with uows() as uow:
        stmt = select(EarnedMonth).where(EarnedMonth.month == month)
        points = {r.member_id: r.points for r in (await uow.session.execute(stmt)).scalars()}
    return {
        i: 1 + sum(q > p for q in points.values()) if p > 0 else None for i, p in points.items()
    }


async def test_scores_follow_ties_moves_refunds_expiries_and_bulk_credits(uows, clock):
    ids = [(await new_member(uows, uid=f"m{i}")).id for i in range(5)]
    month = month_of(clock.now())

    async def check() -> None:
        await assert_scores_match_earned_months(uows)
        assert await ranks(uows, month) == await counted_ranks(uows, month)

    earns = {i: await give(uows, i, 400) for i in ids[:3]}  # three tied at 400
    await check()
    await give(uows, ids[0], 200)  # from 400 to 600 (another band); 400 keeps two
    short = await give(uows, ids[3], 100, lifetime_months=1)
    await check()
    assert (await ranks(uows, month))[ids[3]] == 4

    async def refund(uow):
        member = await uow.lock_member(ids[1])
        posting = Posting("refund", Source.ORDER)
        await reverse_credit(uow, member=member, earn_entry_id=earns[ids[1]].id, points=400, posting=posting)  # fmt: skip
        await uow.commit()

    await uows.run(refund)  # back to zero: off the board, out of the histogram
    await check()

    async def bulk(uow):
        members = await uow.lock_members(ids)
        await credit_each(
            uow, members=members, points=200, posting=Posting("gift", Source.CAMPAIGN)
        )
        await uow.commit()

    await uows.run(bulk)  # 800, 200, 600, 300, 200: new ties, a member joining
    await check()
    assert await ranks(uows, month) == dict(zip(ids, [1, 4, 2, 3, 4], strict=True))
    clock.advance(days=31)

    async def expire(uow):
        await settle(uow, member=await uow.lock_member(ids[3]))
        await uow.commit()

    await uows.run(expire)  # the 100 of June expire: 300 becomes 200 on June's board
    assert short.kind == "earn"
    await check()
    assert await ranks(uows, month) == dict(zip(ids, [1, 3, 2, 3, 3], strict=True))


async def test_pages_far_down_the_board_rank_from_the_histogram(uows, clock):
    ids = [(await new_member(uows, uid=f"p{i}")).id for i in range(7)]
    for i, points in zip(ids, (512, 400, 400, 400, 256, 256, 255), strict=True):
        await give(uows, i, points)
    month = month_of(clock.now())
    seen, after = [], None
    async with uows() as uow:
        conn = await uow.session.connection()
        for _ in range(4):  # pages of two: a tie split across pages, a page of one tie
            rows, more = await conn.run_sync(BoardPage(month, 2, after).run)
            seen += [(r.rank, r.points) for r in rows]
            after = (rows[-1].points, rows[-1].member_id) if rows else None
    assert seen == [(1, 512), (2, 400), (2, 400), (2, 400), (5, 256), (5, 256), (7, 255)]
    assert not more
    assert await ranks(uows, month) == await counted_ranks(uows, month)  # band edges too


async def test_concurrent_earns_of_many_members_on_a_small_pool(database, clock, caplog):
    db = open_database(database.url, Pools(readers=2, writers=3))
    uows = UnitOfWorkFactory(db.session_factory(), clock)
    try:
        ids = [(await new_member(uows, uid=f"c{i}")).id for i in range(24)]
        earns = [await give(uows, i, 200 * (n % 2 + 1)) for n, i in enumerate(ids)]  # 200s, 400s

        async def refund(uow, earn):
            member = await uow.lock_member(earn.member_id)
            posting = Posting("refund", Source.ORDER)
            await reverse_credit(uow, member=member, earn_entry_id=earn.id, points=200, posting=posting)  # fmt: skip
            await uow.commit()

        async def gift(uow, group):
            members = await uow.lock_members(group)
            await credit_each(uow, members=members, points=200, posting=Posting("gift", Source.CAMPAIGN))  # fmt: skip
            await uow.commit()

        with caplog.at_level(logging.INFO, logger="backend.rewards.uow"):
            await asyncio.gather(
                *(give(uows, i, 200) for i in ids[::2]),  # 200 to 400 while 400s go to 200
                *(uows.run(lambda uow, e=e: refund(uow, e)) for e in earns[1::2]),
                *(uows.run(lambda uow, k=k: gift(uow, ids[k::3])) for k in range(3)),
            )
        await assert_scores_match_earned_months(uows)
        month = month_of(clock.now())
        assert await ranks(uows, month) == await counted_ranks(uows, month)
        if db.writer.dialect.name == "postgresql":
            assert "retrying" not in caplog.text, caplog.text  # no deadlock, nothing run twice
    finally:
        await db.dispose()
