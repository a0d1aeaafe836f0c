"""Property test: random earn/spend/refund/expire sequences keep every ledger invariant."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from backend.db.tables import EarnedMonth, EarnedScore, LedgerEntry, Lot, Member, TierMonth
from backend.rewards import queries
from backend.rewards.errors import InsufficientPoints
from backend.rewards.ledger import Posting, Source, reverse_credit, settle
from backend.rewards.ledger.scores import SCORE_BAND, band
from backend.rewards.ledger.services import TAKEN_BACK, TIER_QUALIFYING, EntryKind
from backend.rewards.tiers.rules import month_of
from tests.helpers import assert_consistent, give, new_member, spend

EXAMPLES = itertools.count()
operation = st.one_of(
    st.tuples(st.just("earn"), st.integers(1, 500), st.booleans()),
    st.tuples(st.just("spend"), st.integers(1, 700)),
    st.tuples(st.just("refund"), st.integers(0, 20), st.integers(1, 500)),
    st.tuples(st.just("advance"), st.integers(1, 200)),
    st.tuples(st.just("settle")),
)


async def spendable_now(uows, member_id: int) -> int:
    """What the rules say may be spent now: released or matured, unexpired points, less any debt."""
    async with uows() as uow:
        now = uow.now
        member = await uow.session.get_one(Member, member_id)
        lots = (await uow.session.execute(select(Lot).where(Lot.member_id == member_id))).scalars()
        usable = sum(
            lot.remaining
            for lot in lots
            if (lot.released or lot.available_at <= now) and lot.expires_at > now
        )
    return max(0, usable - member.debt)


async def assert_shown_as_settled(uows, member_id: int) -> None:
    """The balances the app reads now equal what settling now would write (then rolled back)."""
    async with uows() as uow:
        member = await uow.lock_member(member_id)
        conn = await uow.session.connection()
        read = queries.PointsAsOf.of(member, now=uow.now, warning_days=30)
        shown = await conn.run_sync(read.run)
        await settle(uow, member=member)
        assert (shown.balance, shown.pending) == (member.balance, member.pending)


async def assert_tier_months_match_entries(uows, member_id: int) -> None:
    """The maintained `tier_month` rows equal the qualifying entries summed per UTC month."""
    async with uows() as uow:
        entries = (
            await uow.session.execute(select(LedgerEntry).where(LedgerEntry.member_id == member_id))
        ).scalars()
        summed: dict = {}
        for entry in entries:
            if entry.kind in TIER_QUALIFYING and entry.amount:
                month = month_of(entry.created_at)
                summed[month] = summed.get(month, 0) + entry.amount
        rows = (
            await uow.session.execute(select(TierMonth).where(TierMonth.member_id == member_id))
        ).scalars()
        kept = {row.month: row.points for row in rows}
    assert kept == summed


async def assert_earned_months_match_entries(uows, member_id: int) -> None:
    """The maintained `earned_month` rows equal each earn's points in its month, less what
    reversals and expiries took back of it: reversed and expired points never count."""
    async with uows() as uow:
        stmt = select(LedgerEntry).where(LedgerEntry.member_id == member_id)
        entries = {e.id: e for e in (await uow.session.execute(stmt)).scalars()}
        stmt = select(EarnedMonth).where(EarnedMonth.member_id == member_id)
        kept = {row.month: row.points for row in (await uow.session.execute(stmt)).scalars()}
    summed: dict = {}
    for entry in entries.values():
        earn = entry if entry.kind == EntryKind.EARN else None
        if entry.kind in TAKEN_BACK and entry.related_entry_id:
            earn = entries[entry.related_entry_id]
        if earn is not None and earn.kind == EntryKind.EARN:
            month = month_of(earn.created_at)
            summed[month] = summed.get(month, 0) + entry.amount + entry.pending_delta
    assert kept == summed
    assert all(points >= 0 for points in kept.values())


async def assert_scores_match_earned_months(uows) -> None:
    """The histogram `earned_score` counts the `earned_month` rows above zero per score and per
    band of scores."""
    async with uows() as uow:
        earned = (await uow.session.execute(select(EarnedMonth))).scalars().all()
        kept = (await uow.session.execute(select(EarnedScore))).scalars()
        found = {(s.month, s.width, s.points): s.members for s in kept if s.members}
    expected = Counter(
        key
        for row in earned
        if row.points > 0
        for key in ((row.month, 1, row.points), (row.month, SCORE_BAND, band(row.points)))
    )
    assert found == dict(expected)


async def run_steps(uows, clock, member_id: int, steps) -> None:
    """Apply the operations, checking the invariants after each."""
    earns: list[tuple[int, int]] = []  # (earn entry id, points still reversible)
    for step in steps:
        kind = step[0]
        if kind == "earn":
            available_at = clock.now() + timedelta(days=14) if step[2] else None
            entry = await give(uows, member_id, step[1], available_at=available_at)
            earns.append((entry.id, step[1]))
        elif kind == "spend":
            allowed = await spendable_now(uows, member_id)
            before = await assert_consistent(uows, member_id)
            try:
                await spend(uows, member_id, step[1])
                assert step[1] <= allowed
            except InsufficientPoints:
                assert step[1] > allowed
                after = await assert_consistent(uows, member_id)
                assert (after.balance, after.pending) == (before.balance, before.pending)
        elif kind == "refund" and earns:
            index = step[1] % len(earns)
            entry_id, reversible = earns[index]
            points = min(step[2], reversible)
            if points:

                async def use_case(uow, entry_id=entry_id, points=points):
                    member = await uow.lock_member(member_id)
                    await reverse_credit(
                        uow,
                        member=member,
                        earn_entry_id=entry_id,
                        points=points,
                        posting=Posting("refund", Source.ORDER),
                    )
                    await uow.commit()

                await uows.run(use_case)
                earns[index] = (entry_id, reversible - points)
        elif kind == "advance":
            clock.advance(days=step[1])  # months go by, so entries land in several tier months
        elif kind == "settle":

            async def settle_case(uow):
                await settle(uow, member=await uow.lock_member(member_id))
                await uow.commit()

            await uows.run(settle_case)
        member = await assert_consistent(uows, member_id)
        assert member.balance >= 0 or member.debt > 0
        await assert_shown_as_settled(uows, member_id)
        await assert_tier_months_match_entries(uows, member_id)
        await assert_earned_months_match_entries(uows, member_id)
        await assert_scores_match_earned_months(uows)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(operation, min_size=1, max_size=25))
async def test_random_sequences_keep_the_ledger_balanced(uows, clock, steps):
    member = await new_member(uows, uid=f"prop-{next(EXAMPLES)}")
    await run_steps(uows, clock, member.id, steps)
