"""The points ledger: FIFO lots, expiry, pending points, reversals, concurrency."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from backend.db.tables import LedgerEntry, Lot
from backend.rewards.errors import DomainError, InsufficientPoints
from backend.rewards.jobs import settle_due
from backend.rewards.ledger import EntryKind, Posting, Source, reverse_credit
from tests.helpers import assert_consistent, give, member_row, new_member, spend


async def test_spending_takes_the_oldest_lots_first(uows, clock):
    member = await new_member(uows)
    first = await give(uows, member.id, 100)
    clock.advance(days=10)
    second = await give(uows, member.id, 50)
    await spend(uows, member.id, 120)
    async with uows() as uow:
        lots = {
            lot.entry_id: lot.remaining
            for lot in (await uow.session.execute(select(Lot))).scalars()
        }
    assert lots == {first.id: 0, second.id: 30}
    assert (await assert_consistent(uows, member.id)).balance == 30


async def test_overspending_is_refused_and_changes_nothing(uows):
    member = await new_member(uows)
    await give(uows, member.id, 100)
    with pytest.raises(InsufficientPoints) as refused:
        await spend(uows, member.id, 101)
    assert refused.value.code == "INSUFFICIENT_POINTS"
    after = await assert_consistent(uows, member.id)
    assert after.balance == 100
    async with uows() as uow:
        count = (
            await uow.session.execute(select(func.count()).select_from(LedgerEntry))
        ).scalar_one()
    assert count == 1


@pytest.mark.parametrize("points", [0, -5, 10**12])
async def test_zero_negative_or_absurd_points_are_refused(uows, points):
    member = await new_member(uows)
    with pytest.raises(DomainError) as refused:
        await give(uows, member.id, points)
    assert refused.value.code == "INVALID_POINTS"
    assert (await assert_consistent(uows, member.id)).balance == 0


async def test_points_expire_twelve_months_after_earning_and_are_never_spendable(uows, clock):
    member = await new_member(uows)
    await give(uows, member.id, 100)
    clock.advance(days=200)
    await give(uows, member.id, 40)
    clock.advance(days=170)  # the first lot is now past its 12 months
    with pytest.raises(InsufficientPoints):
        await spend(uows, member.id, 41)  # the refused spend rolls back, expiry included
    report = await settle_due(uows)
    assert report.entries == 1
    after = await assert_consistent(uows, member.id)
    assert after.balance == 40
    async with uows() as uow:
        kinds = [
            e.kind
            for e in (
                await uow.session.execute(select(LedgerEntry).order_by(LedgerEntry.id))
            ).scalars()
        ]
    assert kinds == ["earn", "earn", "expire"]
    assert (await settle_due(uows)).entries == 0  # running the job again finds nothing to do


async def test_pending_points_are_not_spendable_until_released(uows, clock):
    member = await new_member(uows)
    await give(uows, member.id, 80, available_at=clock.now().replace(day=15))
    fresh = await member_row(uows, member.id)
    assert (fresh.balance, fresh.pending) == (0, 80)
    with pytest.raises(InsufficientPoints):
        await spend(uows, member.id, 1)
    clock.advance(days=14)
    await spend(uows, member.id, 30)  # the spend settles the matured lot first
    after = await assert_consistent(uows, member.id)
    assert (after.balance, after.pending) == (50, 0)


async def test_reversing_spent_points_drives_the_balance_negative_then_new_points_repay(
    uows, clock
):
    member = await new_member(uows)
    earned = await give(uows, member.id, 100)
    await spend(uows, member.id, 90)

    async def reverse(uow):
        m = await uow.lock_member(member.id)
        entry = await reverse_credit(
            uow,
            member=m,
            earn_entry_id=earned.id,
            points=100,
            posting=Posting("refund", Source.ORDER),
        )
        await uow.commit()
        return entry

    entry = await uows.run(reverse)
    assert (entry.kind, entry.amount, entry.related_entry_id) == (
        EntryKind.REVERSE,
        -100,
        earned.id,
    )
    after = await assert_consistent(uows, member.id)
    assert (after.balance, after.debt) == (-90, 90)
    with pytest.raises(InsufficientPoints):
        await spend(uows, member.id, 1)
    await give(uows, member.id, 100)
    repaid = await assert_consistent(uows, member.id)
    assert (repaid.balance, repaid.debt) == (10, 0)
    await spend(uows, member.id, 10)
    assert (await assert_consistent(uows, member.id)).balance == 0


async def test_fifty_concurrent_spends_of_the_whole_balance_let_exactly_one_through(uows):
    member = await new_member(uows)
    await give(uows, member.id, 100)
    results = await asyncio.gather(
        *(spend(uows, member.id, 100) for _ in range(50)), return_exceptions=True
    )
    succeeded = [r for r in results if isinstance(r, LedgerEntry)]
    refused = [r for r in results if isinstance(r, InsufficientPoints)]
    assert (len(succeeded), len(refused)) == (1, 49), [
        r for r in results if not isinstance(r, LedgerEntry | InsufficientPoints)
    ]
    after = await assert_consistent(uows, member.id)
    assert after.balance == 0
    async with uows() as uow:
        minimum = (
            await uow.session.execute(select(func.min(LedgerEntry.balance_after)))
        ).scalar_one()
    assert minimum == 0
