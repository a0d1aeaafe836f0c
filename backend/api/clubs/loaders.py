"""Club loaders of one request: clubs by id and a member's standing per club, batched."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from functools import cached_property, partial
from typing import Any

from sqlalchemy import Row
from strawberry.dataloader import DataLoader

from backend.rewards import queries
from backend.rewards.clubs import queries as club_queries
from backend.rewards.clubs.rules import Standing

Reader = Callable[[queries.Read[Any]], Awaitable[Any]]  # runs a read in the shared batch


class ClubLoaders:
    """Clubs by id and (member id, club id) standings; each batch is one read of the request's
    shared batch (`Loaders.read`), so it shares a connection with the other fields' reads.

    Each loader is made on first use, and loads through a module function, not through `self`
    (which keeps it): no reference cycle.
    """

    def __init__(self, read: Reader, now: datetime) -> None:
        self._read = read
        self.now = now

    @cached_property
    def club(self) -> DataLoader[int, Row[Any] | None]:
        """Clubs by id."""
        return DataLoader(partial(_clubs, self._read))

    @cached_property
    def standing(self) -> DataLoader[tuple[int, int], Standing]:
        """Last term end and pending invitation of each (member, club)."""
        return DataLoader(partial(_standings, self._read, self.now))


async def _clubs(read: Reader, ids: Sequence[int]) -> list[Row[Any] | None]:
    """Clubs by id."""
    rows: list[Row[Any] | None] = await read(queries.ByIds(club_queries.CLUB, tuple(ids)))
    return rows


async def _standings(
    read: Reader, now: datetime, pairs: Sequence[tuple[int, int]]
) -> list[Standing]:
    """Last term end and pending invitation of each (member, club)."""
    found: list[Standing] = await read(club_queries.Standings(tuple(pairs), now))
    return found
