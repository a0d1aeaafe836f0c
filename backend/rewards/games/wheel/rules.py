"""The wheel's calendar: a member's free spins refill at their local midnight; the budget is per UTC day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from backend.rewards.members.rules import zone
from games.wheel import Segment, Wheel


def next_local_midnight(now: datetime, time_zone: str) -> datetime:
    """When the member's next local day starts (UTC), DST transitions included."""
    tz: ZoneInfo = zone(time_zone)
    tomorrow = now.astimezone(tz).date() + timedelta(days=1)
    return datetime.combine(tomorrow, time(0), tzinfo=tz).astimezone(UTC)


def budget_day(now: datetime) -> date:
    """The day the program-wide points budget counts: the UTC calendar day."""
    return now.astimezone(UTC).date()


def free_used_on(today: date, *, free_day: date | None, free_used: int) -> int:
    """Free spins already used on the member's local `today`.

    A day earlier than the one recorded (the member moved their time zone west) counts as the
    recorded one, so changing time zones never refills the allowance early.
    """
    if free_day is None or today > free_day:
        return 0
    return free_used


@dataclass(frozen=True)
class Config:
    """A stored wheel version: its id and the wheel."""

    id: int
    wheel: Wheel

    @classmethod
    def of(cls, row: Any) -> Config:
        """Read a `wheel_config` row."""
        return cls(
            row.id,
            Wheel(
                tuple(Segment.of(s) for s in row.segments),
                row.free_spins_per_day,
                row.extra_spin_price,
                row.daily_points_budget,
            ),
        )
