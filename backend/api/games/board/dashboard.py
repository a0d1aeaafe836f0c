"""The member's leaderboard rank on the dashboard (`me`), a read of the request's batch."""

from __future__ import annotations

from typing import Any

from backend.api.context import Info


def leaderboard_rank(root: Any, info: Info) -> int | None:
    """The member's rank this month (at once under `me`, which read it ahead)."""
    return root.answer(info, lambda reads: reads.rank(root), _rank)  # type: ignore[no-any-return]


def _rank(standing: Any, _reads: Any) -> int | None:
    """The rank of the member's standing, None before they earn points this month."""
    return standing.rank if standing else None
