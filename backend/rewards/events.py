"""Domain events, published to live subscribers only after the transaction that caused them commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class PointsChanged:
    """A member's balance moved: the spendable and pending points after the entry."""

    member_id: int
    entry_id: int
    balance: int
    pending: int


@dataclass(frozen=True)
class TierChanged:
    """A member reached a new tier or dropped to a lower one after the grace period."""

    member_id: int
    old_tier: str
    new_tier: str


@dataclass(frozen=True)
class NotificationReceived:
    """A notification landed in the member's inbox (its texts as written, in their language)."""

    member_id: int
    notification_id: int
    kind: str
    title: str
    body: str
    deep_link: str


MemberEvent = PointsChanged | TierChanged | NotificationReceived
"""What a member may be told live; every event names the member it is for."""


def committed(events: Sequence[MemberEvent]) -> list[MemberEvent]:
    """What one committed transaction tells subscribers: each member's last balance, other events.

    A purchase writes several entries; only the balances after the whole transaction are news.
    """
    last = {e.member_id: e for e in events if isinstance(e, PointsChanged)}
    return [e for e in events if not isinstance(e, PointsChanged) or last[e.member_id] is e]
