"""Pure tier decisions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from backend.rewards.clock import add_months
from backend.rewards.program import TierRule


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
