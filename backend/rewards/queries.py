"""Read side: lean Core queries for the API's loaders (no ORM objects on hot paths)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.db.tables import LedgerEntry, Lot, Member, Purchase

MEMBER = Member.__table__  # type: ignore[attr-defined]
ENTRY = LedgerEntry.__table__  # type: ignore[attr-defined]
LOT = Lot.__table__  # type: ignore[attr-defined]
PURCHASE = Purchase.__table__  # type: ignore[attr-defined]
# Entries with their lot's state (earn entries have one), so history can tell pending points.
ENTRY_WITH_LOT = select(
    ENTRY, LOT.c.released.label("lot_released"), LOT.c.available_at.label("lot_available_at")
).select_from(ENTRY.outerjoin(LOT, LOT.c.entry_id == ENTRY.c.id))


@dataclass(frozen=True)
class Expiring:
    """Points that expire within the warning window, and the first date they do."""

    points: int
    first_date: datetime | None


async def member_by_uid(conn: AsyncConnection, uid: str) -> Row[Any] | None:
    """The member row of a Firebase user."""
    return (await conn.execute(select(MEMBER).where(MEMBER.c.uid == uid))).first()


async def by_ids(conn: AsyncConnection, table: Any, ids: Sequence[int]) -> list[Row[Any] | None]:
    """Rows of a table by primary key, in the order asked, None where missing (for DataLoaders)."""
    rows = (await conn.execute(select(table).where(table.c.id.in_(ids)))).all()
    found = {row.id: row for row in rows}
    return [found.get(i) for i in ids]


async def entries_by_ids(conn: AsyncConnection, ids: Sequence[int]) -> list[Row[Any] | None]:
    """Entries with their lot's state by id, in the order asked, None where missing."""
    rows = (await conn.execute(ENTRY_WITH_LOT.where(ENTRY.c.id.in_(ids)))).all()
    found = {row.id: row for row in rows}
    return [found.get(i) for i in ids]


async def entries_page(
    conn: AsyncConnection, *, member_id: int, first: int, before_id: int | None
) -> tuple[list[Row[Any]], bool]:
    """A page of a member's entries (with lot state), newest first, older than `before_id`; more?"""
    stmt = ENTRY_WITH_LOT.where(ENTRY.c.member_id == member_id)
    if before_id is not None:
        stmt = stmt.where(ENTRY.c.id < before_id)
    rows = (await conn.execute(stmt.order_by(ENTRY.c.id.desc()).limit(first + 1))).all()
    return list(rows[:first]), len(rows) > first


async def expiring_soon(
    conn: AsyncConnection, *, member_id: int, now: datetime, days: int
) -> Expiring:
    """Spendable points that expire in the next `days` days."""
    stmt = select(func.coalesce(func.sum(LOT.c.remaining), 0), func.min(LOT.c.expires_at)).where(
        LOT.c.member_id == member_id,
        LOT.c.released.is_(True),
        LOT.c.remaining > 0,
        LOT.c.expires_at > now,
        LOT.c.expires_at <= now + timedelta(days=days),
    )
    points, first = (await conn.execute(stmt)).one()
    if first is not None and first.tzinfo is None:
        first = LOT.c.expires_at.type.process_result_value(first, None)
    return Expiring(int(points), first)
