"""The member's unread count on the dashboard (`me`), a read of the request's batch."""

from __future__ import annotations

from typing import Any

from backend.api.context import Info


def unread_notification_count(root: Any, info: Info) -> int:
    """The member's unread notifications (`me` reads it ahead with the member)."""
    return root.answer(info, lambda reads: reads.unread(root), lambda count, _: count)  # type: ignore[no-any-return]
