"""Pure settling rule: what is released and expired at a moment, and the balances after it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from backend.rewards.ledger.rules import (
    Expiry,
    LotState,
    Release,
    expiring_within,
    settle_lots,
)

NOW = datetime(2026, 6, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def lot(id: int, remaining: int, *, released: bool = True, available=-30, expires=300) -> LotState:
    """A lot available and expiring so many days from NOW."""
    return LotState(id, remaining, released, NOW + available * DAY, NOW + expires * DAY)


def test_nothing_due_leaves_the_balances_as_they_are():
    plan = settle_lots(
        balance=100,
        pending=50,
        debt=0,
        lots=[lot(1, 100), lot(2, 50, released=False, available=3)],
        now=NOW,
    )
    assert (plan.releases, plan.expiries) == ((), ())
    assert (plan.balance, plan.pending, plan.debt) == (100, 50, 0)


def test_a_matured_pending_lot_becomes_spendable():
    plan = settle_lots(
        balance=0, pending=80, debt=0, lots=[lot(7, 80, released=False, available=0)], now=NOW
    )
    assert plan.releases == (Release(7, 80, 0),)
    assert (plan.balance, plan.pending) == (80, 0)
    assert plan.lots == (lot(7, 80, released=True, available=0),)


def test_an_expired_lot_leaves_the_balance():
    plan = settle_lots(
        balance=140, pending=0, debt=0, lots=[lot(1, 100, expires=0), lot(2, 40)], now=NOW
    )
    assert plan.expiries == (Expiry(1, 100),)
    assert plan.balance == 40
    assert [x.remaining for x in plan.lots] == [0, 40]


def test_matured_points_repay_debt_first_and_only_the_rest_can_expire():
    lots = [
        lot(3, 50, released=False, available=-1, expires=0),
        lot(2, 100, released=False, available=-2),
    ]
    plan = settle_lots(balance=-90, pending=150, debt=90, lots=lots, now=NOW)
    assert plan.releases == (Release(2, 100, 90), Release(3, 50, 0))
    assert plan.expiries == (Expiry(3, 50),)
    assert (plan.balance, plan.pending, plan.debt) == (10, 0, 0)
    assert [(x.id, x.remaining) for x in plan.lots] == [(2, 10), (3, 0)]


def test_debt_larger_than_what_matures_stays_owed():
    plan = settle_lots(
        balance=-90, pending=30, debt=90, lots=[lot(1, 30, released=False, available=0)], now=NOW
    )
    assert (plan.balance, plan.pending, plan.debt) == (-60, 0, 60)
    assert plan.lots[0].remaining == 0


def test_expiring_soon_counts_spendable_points_in_the_window_only():
    lots = (
        lot(1, 10, expires=5),
        lot(2, 20, expires=30),
        lot(3, 40, expires=31),
        lot(4, 0, expires=2),
        lot(5, 80, released=False, available=3, expires=10),
        lot(6, 7, expires=0),
    )
    assert expiring_within(lots, now=NOW, until=NOW + 30 * DAY) == (30, NOW + 5 * DAY)
    assert expiring_within((), now=NOW, until=NOW + 30 * DAY) == (0, None)
