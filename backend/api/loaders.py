"""Per-request DataLoaders: every object edge is batched; each batch borrows a read connection briefly."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection
from strawberry.dataloader import DataLoader

from backend.api.clubs.loaders import ClubLoaders
from backend.api.notifications.loaders import NotificationLoaders
from backend.api.offers.loaders import OfferLoaders
from backend.db.engine import Database
from backend.rewards import queries
from backend.rewards.program import ProgramRules, RulesCache
from backend.rewards.tiers.rules import Qualifying
from backend.rewards.tiers.services import qualifying_now


class Loaders:
    """The loaders of one request; created fresh for every request so nothing leaks between users."""

    def __init__(self, database: Database, rules: RulesCache, now: datetime) -> None:
        self._db = database
        self._rules = rules
        self.now = now
        self.member = DataLoader(self._members)
        self.entry = DataLoader(self._entries)
        self.purchase = DataLoader(self._purchases)
        self.qualifying = DataLoader(self._qualifying)
        self.member_by_uid = DataLoader(self._members_by_uid)
        self.clubs = ClubLoaders(self.connection, now)
        self.offers = OfferLoaders(self)
        self.notifications = NotificationLoaders(self.connection)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection]:
        """Borrow a read connection for one batch or short read; it goes back to the pool at once.

        Never hold it while waiting for anything else from a pool (rules, another connection, a
        unit of work): under a burst every connection would be held by a waiter.
        """
        async with self._db.reader.connect() as conn:
            yield conn

    async def rules(self) -> ProgramRules:
        """The program rules (shared, refreshed in the background); ask before borrowing."""
        return await self._rules.get()

    async def _by_ids(self, table: Any, ids: Sequence[int]) -> list[Row[Any] | None]:
        """Load rows of one table by id."""
        async with self.connection() as conn:
            return await queries.by_ids(conn, table, ids)

    async def _members(self, ids: Sequence[int]) -> list[Row[Any] | None]:
        """Members by id."""
        return await self._by_ids(queries.MEMBER, ids)

    async def _entries(self, ids: Sequence[int]) -> list[Row[Any] | None]:
        """Ledger entries by id, with their lot's state."""
        async with self.connection() as conn:
            return await queries.entries_by_ids(conn, ids)

    async def _purchases(self, ids: Sequence[int]) -> list[Row[Any] | None]:
        """Purchases by id."""
        return await self._by_ids(queries.PURCHASE, ids)

    async def _members_by_uid(self, uids: Sequence[str]) -> list[Row[Any] | None]:
        """Members by Firebase uid."""
        async with self.connection() as conn:
            return [await queries.member_by_uid(conn, uid) for uid in uids]

    async def _qualifying(self, member_ids: Sequence[int]) -> list[Qualifying]:
        """Tier-qualifying points per member and when the oldest month of them stops counting."""
        rules = await self.rules()
        async with self.connection() as conn:
            return [
                await qualifying_now(conn, member_id=m, now=self.now, rules=rules)
                for m in member_ids
            ]
