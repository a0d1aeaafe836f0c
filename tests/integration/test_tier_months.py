"""The `tier_month` aggregate: kept with the ledger, read by tier progress, rebuilt by 0005."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from backend.db.tables import TierMonth
from backend.rewards.ledger import Posting, Source, reverse_credit
from backend.rewards.program import load_rules
from backend.rewards.tiers.services import qualifying_now
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
