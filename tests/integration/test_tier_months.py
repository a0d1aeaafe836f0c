"""The `tier_month` aggregate: kept with the ledger, read by tier progress, rebuilt by 0005."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from backend.db.tables import TierMonth
from backend.rewards.ledger import Posting, Source, credit, reverse_credit
from backend.rewards.program import load_rules
from backend.rewards.tiers.services import lock_counting, qualifying_now, reevaluate
from tests.helpers import assert_consistent, give, new_member
from tests.integration.test_migrations import _migrate


async def tier_months(uows, member_id: int) -> dict[date, int]:
    """The member's `tier_month` rows."""
    async with uows() as uow:
        rows = await uow.session.execute(select(TierMonth).where(TierMonth.member_id == member_id))
        return {row.month: row.points for row in rows.scalars()}


async def counted(uows, member_id: int):
    """Tier progress as the dashboard and `reevaluate` read it now."""
    async with uows() as uow:
        rules = await load_rules(uow.session)
        return await qualifying_now(uow.session, member_id=member_id, now=uow.now, rules=rules)


async def refund(uows, member_id: int, entry_id: int, points: int) -> None:
    """Reverse part of an earn."""

    async def use_case(uow):
        member = await uow.lock_member(member_id)
        posting = Posting("refund", Source.ORDER)
        await reverse_credit(
            uow, member=member, earn_entry_id=entry_id, points=points, posting=posting
        )
        await uow.commit()

    await uows.run(use_case)


async def test_earns_and_refunds_land_in_their_month_and_count_for_twelve_months(uows, clock):
    member = await new_member(uows)
    june = await give(uows, member.id, 300)  # 1 June 2026
    await give(uows, member.id, 40, kind="adjust")  # staff adjustments never count
    clock.advance(days=45)  # mid July
    await give(uows, member.id, 200)
    await refund(uows, member.id, june.id, 100)
    assert await tier_months(uows, member.id) == {date(2026, 6, 1): 300, date(2026, 7, 1): 100}
    progress = await counted(uows, member.id)
    assert (progress.points, progress.oldest_leaves_at) == (400, datetime(2027, 6, 1, tzinfo=UTC))
    clock.advance(days=319)  # 31 May 2027: June 2026 still counts
    assert (await counted(uows, member.id)).points == 400
    clock.advance(days=1)  # 1 June 2027: it left the window
    progress = await counted(uows, member.id)
    assert (progress.points, progress.oldest_leaves_at) == (100, datetime(2027, 7, 1, tzinfo=UTC))
    await assert_consistent(uows, member.id)


async def test_0005_rebuilds_the_months_from_the_ledger(database, uows, clock):
    member = await new_member(uows)
    other = await new_member(uows, uid="bob")
    first = await give(uows, member.id, 300)
    await give(uows, other.id, 70, available_at=clock.now() + timedelta(days=14))  # pending
    clock.advance(days=40)
    await give(uows, member.id, 25)
    await refund(uows, member.id, first.id, 300)
    kept = {m: await tier_months(uows, m) for m in (member.id, other.id)}
    assert kept == {member.id: {date(2026, 6, 1): 300, date(2026, 7, 1): -275}, other.id: {}}
    await _migrate(database, "downgrade", "0004")
    await _migrate(database, "upgrade", "head")
    assert {m: await tier_months(uows, m) for m in (member.id, other.id)} == kept


async def test_a_lock_that_waited_for_a_writer_reads_the_tier_points_it_committed(uows):
    # Given a member with 100 qualifying points, and a writer holding their lock while it
    # credits 300 more
    member = await new_member(uows)
    await give(uows, member.id, 100)
    credited, release = asyncio.Event(), asyncio.Event()

    async def writer(uow):
        locked = await uow.lock_member(member.id)
        await credit(uow, member=locked, points=300, posting=Posting("test", Source.STAFF))
        credited.set()
        await release.wait()
        await uow.commit()

    async def points_read_with_the_lock() -> int:
        async with uows() as uow:
            rules = await load_rules(uow.session)
            await lock_counting(uow, "id", member.id, rules=rules)
            return int(uow.read_with_lock[member.id].row.window_points)

    writing = asyncio.create_task(uows.run(writer))
    await credited.wait()
    # When another unit of work locks the member, reading their points in the same statement
    reading = asyncio.create_task(points_read_with_the_lock())
    await asyncio.sleep(0.3)
    assert not reading.done()  # it waits for the writer
    release.set()
    await writing
    # Then it reads what the writer committed (PostgreSQL's statement began before the commit)
    assert await reading == 400


async def test_points_the_ledger_adds_after_the_lock_count_for_the_tier(uows):
    # Given a member locked with their tier points read (none)
    member = await new_member(uows)
    async with uows() as uow:
        rules = await load_rules(uow.session)
        top = rules.tiers[-1]
        locked = await lock_counting(uow, "id", member.id, rules=rules)
        assert locked is not None and locked.tier_code != top.code
        # When the same unit of work credits the top tier's threshold, spendable at once
        posting = Posting("test", Source.STAFF)
        await credit(uow, member=locked, points=top.threshold, posting=posting)
        # Then the re-evaluation counts them: the points read with the lock are not used
        assert await reevaluate(uow, member=locked, rules=rules)
        assert locked.tier_code == top.code
