"""The member's unread count on the dashboard (`me`), through a batched loader."""

from __future__ import annotations

from typing import Any

from backend.api.context import Info


async def unread_notification_count(root: Any, info: Info) -> int:
    """The member's unread notifications, batched by the request's loader."""
    return int(await info.context.loaders.notifications.unread.load(root.id))
