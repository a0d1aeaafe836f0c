"""Per-request loaders of notifications: by id and unread counts, one read connection per batch."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection
from strawberry.dataloader import DataLoader

from backend.rewards import queries
from backend.rewards.notifications import queries as notification_queries

Connect = Callable[[], AbstractAsyncContextManager[AsyncConnection]]


class NotificationLoaders:
    """Notifications by id and unread counts by member id."""

    def __init__(self, connection: Connect) -> None:
        self._connection = connection
        self.notification = DataLoader(self._notifications)
        self.unread = DataLoader(self._unread)

    async def _notifications(self, ids: Sequence[int]) -> list[Row[Any] | None]:
        """Notification rows by id."""
        async with self._connection() as conn:
            return await queries.by_ids(conn, notification_queries.NOTIFICATION, ids)

    async def _unread(self, member_ids: Sequence[int]) -> list[int]:
        """Unread notifications per member."""
        async with self._connection() as conn:
            counts = await notification_queries.unread_counts(conn, member_ids)
        return [counts.get(member_id, 0) for member_id in member_ids]
