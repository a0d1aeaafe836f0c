"""Hunts left today on the dashboard (`me`), a read of the request's batch."""

from __future__ import annotations

from typing import Any

from backend.api.context import Info
from backend.rewards.games.mascot.queries import HuntsStarted
from backend.rewards.games.mascot.rules import current_rules, hunts_left


def hunts_started(member: Any, now: Any) -> HuntsStarted:
    """The read behind `mascotHuntsLeftToday` (`me` reads it ahead with the member)."""
    return HuntsStarted.today(member, now=now)


async def mascot_hunts_left_today(root: Any, info: Info) -> int:
    """Hunts the member may still start on their local day."""
    loaders = info.context.loaders
    rules = current_rules(await loaders.rules())
    return hunts_left(rules, await loaders.read(hunts_started(root, loaders.now)))
