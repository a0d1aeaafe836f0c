"""Read side of the inbox: lean Core queries for the API's loaders and lists."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from sqlalchemy import Connection, Row, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.db import prepared
from backend.db.tables import Notification
from backend.rewards.queries import MEMBER, Carried, learn

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


UNREAD = (
    select(func.count())
    .select_from(NOTIFICATION)
    .where(NOTIFICATION.c.member_id == bindparam("member_id"), NOTIFICATION.c.read_at.is_(None))
)


@dataclass(frozen=True)
class UnreadCount:
    """A member's unread notifications (a read of the request's batch, see `queries.Read`)."""

    member_id: int

    def run(self, conn: Connection) -> int:
        """One count on the member's unread index."""
        return int(prepared.scalar_one(conn, UNREAD, {"member_id": self.member_id}))


# The unread count as a column of the member's own statement (`UnreadFold`).
_UNREAD_OF_MEMBER = (
    select(func.count())
    .where(NOTIFICATION.c.member_id == MEMBER.c.id, NOTIFICATION.c.read_at.is_(None))
    .scalar_subquery()
    .label("unread_notifications")
)


@dataclass(frozen=True)
class UnreadFold:
    """`UnreadCount` as a column of the member's statement (`queries.Fold`)."""

    carried: ClassVar[Carried] = Carried((_UNREAD_OF_MEMBER,))

    def params(self) -> dict[str, Any]:
        """It takes none."""
        return {}

    def learn(self, conn: Connection, row: Row[Any]) -> None:
        """Keep the member's count."""
        learn(conn, UnreadCount(row.id), int(row.unread_notifications))
