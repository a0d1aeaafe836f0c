"""Pure tier decisions."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from backend.rewards.clock import add_months
from backend.rewards.program import TierRule


def month_of(moment: datetime) -> date:
    """The first day of a moment's UTC calendar month: the key of its `tier_month` row."""
    utc = moment.astimezone(UTC)
    return date(utc.year, utc.month, 1)


def first_counted_month(now: datetime, window_months: int) -> date:
    """The oldest month whose points count: the window is this month and the ones before it."""
    return month_of(add_months(now, 1 - window_months))


@dataclass(frozen=True)
class Qualifying:
    """Points that count towards tiers now, and when the oldest month of them stops counting."""

    points: int
    oldest_leaves_at: datetime | None


def qualifying(
    months: Iterable[tuple[date, int]], *, now: datetime, window_months: int
) -> Qualifying:
    """Sum the monthly totals inside the window; the oldest month with points earned leaves it
    at the start of the month `window_months` months later (month granularity)."""
    first = first_counted_month(now, window_months)
    counted = [(month, points) for month, points in months if month >= first]
    earned = [month for month, points in counted if points > 0]
    oldest = min(earned, default=None)
    leaves = (
        add_months(datetime(oldest.year, oldest.month, 1, tzinfo=UTC), window_months)
        if oldest
        else None
    )
    return Qualifying(counted_points(sum(points for _, points in counted)), leaves)


def counted_points(window_total: int) -> int:
    """Qualifying points from the total of the window's months: never below zero (a month's
    reversals can outweigh its earns)."""
    return max(0, window_total)


def tier_for(ladder: tuple[TierRule, ...], qualifying: int) -> TierRule:
    """The highest tier whose threshold the qualifying points reach."""
    reached = [t for t in ladder if t.threshold <= qualifying]
    return max(reached, key=lambda t: t.position) if reached else ladder[0]


def decide_tier(
    *,
    ladder: tuple[TierRule, ...],
    current: TierRule,
    reached_at: datetime,
    qualifying: int,
    now: datetime,
    grace_months: int,
) -> TierRule:
    """Go up as soon as earned; go down only once the grace after reaching the tier is over."""
    earned = tier_for(ladder, qualifying)
    if earned.position >= current.position:
        return earned
    return earned if now >= add_months(reached_at, grace_months) else current


@dataclass(frozen=True)
class TierProgress:
    """Where a member stands on the ladder."""

    current: TierRule
    next: TierRule | None
    qualifying_points: int
    points_to_next: int
    retained_until: datetime


def progress(
    *,
    ladder: tuple[TierRule, ...],
    current: TierRule,
    reached_at: datetime,
    qualifying: int,
    grace_months: int,
) -> TierProgress:
    """Progress to the next tier and how long the current one is kept."""
    higher = [t for t in ladder if t.position > current.position]
    nxt = min(higher, key=lambda t: t.position) if higher else None
    return TierProgress(
        current=current,
        next=nxt,
        qualifying_points=qualifying,
        points_to_next=max(0, nxt.threshold - qualifying) if nxt else 0,
        retained_until=add_months(reached_at, grace_months),
    )
