"""The member's spins on the dashboard (`me`), a read of the request's batch."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from backend.api.context import Info
from backend.rewards.games.wheel.queries import WheelNow


def wheel_read(member: Any, now: datetime) -> WheelNow:
    """The read behind the dashboard's wheel fields (`me` runs it ahead with the member)."""
    return WheelNow(member.id, member.time_zone, now)


def spins_left_today(root: Any, info: Info) -> int:
    """Spins the member can take today without paying (0 while there is no wheel); at once
    under `me`, which read the wheel ahead."""
    return root.answer(info, lambda reads: reads.wheel(root), _spins_left)  # type: ignore[no-any-return]


def _spins_left(wheel: Any, _reads: Any) -> int:
    """The spins left of the member's wheel as of now."""
    return wheel.left.total  # type: ignore[no-any-return]


def next_free_spin_at(root: Any, info: Info) -> datetime:
    """When the member's free spins refill: their next local midnight (at once under `me`)."""
    return root.answer(info, lambda reads: reads.wheel(root), _next_free_spin)  # type: ignore[no-any-return]


def _next_free_spin(wheel: Any, _reads: Any) -> datetime:
    """When the member's wheel refills its free spins."""
    return wheel.next_free_spin_at  # type: ignore[no-any-return]
