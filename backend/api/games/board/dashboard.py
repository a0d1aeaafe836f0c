"""The member's leaderboard rank on the dashboard (`me`), a read of the request's batch."""

from __future__ import annotations

from typing import Any

from backend.api.context import Info
from backend.rewards.games.leaderboard import Period, RankOf, period_month


async def leaderboard_rank(root: Any, info: Info) -> int | None:
    """The member's rank this month (`me` reads it ahead with the member)."""
    month = period_month(Period.CURRENT_MONTH, info.context.loaders.now)
    standing = await info.context.loaders.read(RankOf(root.id, month))
    return standing.rank if standing else None
