"""Hunts left today on the dashboard (`me`), a read of the request's batch."""

from __future__ import annotations

from typing import Any

from backend.api.context import Info
from backend.rewards.games.mascot.queries import HuntsStarted
from backend.rewards.games.mascot.rules import daily_hunts, hunts_left


def hunts_started(member: Any, now: Any) -> HuntsStarted:
    """The read behind `mascotHuntsLeftToday` (`me` reads it ahead with the member)."""
    return HuntsStarted.today(member, now=now)


def mascot_hunts_left_today(root: Any, info: Info) -> int:
    """Hunts the member may still start on their local day (at once under `me`)."""
    return root.answer(info, lambda reads: hunts_started(root, reads.now), _hunts_left)  # type: ignore[no-any-return]


def _hunts_left(started: Any, reads: Any) -> int:
    """The hunts left today, under the program's current hunt rules."""
    return hunts_left(daily_hunts(reads.rules), started)
