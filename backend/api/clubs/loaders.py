"""Club loaders of one request: clubs by id and a member's standing per club, batched."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection
from strawberry.dataloader import DataLoader

from backend.rewards import queries
from backend.rewards.clubs import queries as club_queries
from backend.rewards.clubs.rules import Standing

Connect = Callable[[], AbstractAsyncContextManager[AsyncConnection]]


class ClubLoaders:
    """Clubs by id and (member id, club id) standings; each batch borrows one read connection."""

    def __init__(self, connection: Connect, now: datetime) -> None:
        self._connection = connection
        self.now = now
        self.club = DataLoader(self._clubs)
        self.standing = DataLoader(self._standings)

    async def _clubs(self, ids: Sequence[int]) -> list[Row[Any] | None]:
        """Clubs by id."""
        async with self._connection() as conn:
            return await queries.by_ids(conn, club_queries.CLUB, ids)

    async def _standings(self, pairs: Sequence[tuple[int, int]]) -> list[Standing]:
        """Last term end and pending invitation of each (member, club)."""
        async with self._connection() as conn:
            return await club_queries.standings(conn, pairs, now=self.now)
