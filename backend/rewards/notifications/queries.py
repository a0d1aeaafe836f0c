"""Read side of the inbox: lean Core queries for the API's loaders and lists."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.db.tables import Notification

NOTIFICATION = Notification.__table__  # type: ignore[attr-defined]


async def notifications_page(
    conn: AsyncConnection, *, member_id: int, first: int, before_id: int | None
) -> tuple[list[Row[Any]], bool]:
    """A page of a member's notifications, newest first, older than `before_id`; more?"""
    stmt = select(NOTIFICATION).where(NOTIFICATION.c.member_id == member_id)
    if before_id is not None:
        stmt = stmt.where(NOTIFICATION.c.id < before_id)
    rows = (await conn.execute(stmt.order_by(NOTIFICATION.c.id.desc()).limit(first + 1))).all()
    return list(rows[:first]), len(rows) > first


async def unread_counts(conn: AsyncConnection, member_ids: Sequence[int]) -> dict[int, int]:
    """Unread notifications per member (members without any are left out)."""
    stmt = (
        select(NOTIFICATION.c.member_id, func.count())
        .where(NOTIFICATION.c.member_id.in_(member_ids), NOTIFICATION.c.read_at.is_(None))
        .group_by(NOTIFICATION.c.member_id)
    )
    return {int(member_id): int(count) for member_id, count in (await conn.execute(stmt)).all()}
