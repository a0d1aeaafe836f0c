"""Per-request loaders of notifications by id, one read connection per batch."""

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
    """Notifications by id."""

    def __init__(self, connection: Connect) -> None:
        self._connection = connection
        self.notification = DataLoader(self._notifications)

    async def _notifications(self, ids: Sequence[int]) -> list[Row[Any] | None]:
        """Notification rows by id."""
        async with self._connection() as conn:
            return await queries.by_ids(conn, notification_queries.NOTIFICATION, ids)
