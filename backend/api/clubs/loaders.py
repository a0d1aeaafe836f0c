"""Club loaders of one request: clubs by id and a member's standing per club, batched."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row
from strawberry.dataloader import DataLoader

from backend.rewards import queries
from backend.rewards.clubs import queries as club_queries
from backend.rewards.clubs.rules import Standing

Reader = Callable[[queries.Read[Any]], Awaitable[Any]]  # runs a read in the shared batch


class ClubLoaders:
    """Clubs by id and (member id, club id) standings; each batch is one read of the request's
    shared batch (`Loaders.read`), so it shares a connection with the other fields' reads."""

    def __init__(self, read: Reader, now: datetime) -> None:
        self._read = read
        self.now = now
        self.club = DataLoader(self._clubs)
        self.standing = DataLoader(self._standings)

    async def _clubs(self, ids: Sequence[int]) -> list[Row[Any] | None]:
        """Clubs by id."""
        rows: list[Row[Any] | None] = await self._read(queries.ByIds(club_queries.CLUB, tuple(ids)))
        return rows

    async def _standings(self, pairs: Sequence[tuple[int, int]]) -> list[Standing]:
        """Last term end and pending invitation of each (member, club)."""
        found: list[Standing] = await self._read(club_queries.Standings(tuple(pairs), self.now))
        return found
