"""The member's spins on the dashboard (`me`), a read of the request's batch."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from backend.api.context import Info
from backend.rewards.games.wheel.queries import WheelNow


def wheel_read(member: Any, now: datetime) -> WheelNow:
    """The read behind the dashboard's wheel fields (`me` runs it ahead with the member)."""
    return WheelNow(member.id, member.time_zone, now)


async def spins_left_today(root: Any, info: Info) -> int:
    """Spins the member can take today without paying (0 while there is no wheel)."""
    loaders = info.context.loaders
    return (await loaders.read(wheel_read(root, loaders.now))).left.total


async def next_free_spin_at(root: Any, info: Info) -> datetime:
    """When the member's free spins refill: their next local midnight."""
    loaders = info.context.loaders
    return (await loaders.read(wheel_read(root, loaders.now))).next_free_spin_at
