"""The member's unread count on the dashboard (`me`), a read of the request's batch."""

from __future__ import annotations

from typing import Any

from backend.api.context import Info
from backend.rewards.notifications.queries import UnreadCount


async def unread_notification_count(root: Any, info: Info) -> int:
    """The member's unread notifications (`me` reads it ahead with the member)."""
    return await info.context.loaders.read(UnreadCount(root.id))
