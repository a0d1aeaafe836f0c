"""Domain events, published after the transaction that caused them commits."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PointsChanged:
    """A member's balance moved."""

    member_id: int
    entry_id: int
    balance: int


@dataclass(frozen=True)
class TierChanged:
    """A member reached a new tier or dropped to a lower one after the grace period."""

    member_id: int
    old_tier: str
    new_tier: str
