"""Read side: lean Core queries for the API's loaders (no ORM objects on hot paths)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.db.tables import LedgerEntry, Lot, Member, Purchase
from backend.rewards.ledger.rules import LotState, expiring_within, settle_lots

MEMBER = Member.__table__  # type: ignore[attr-defined]
ENTRY = LedgerEntry.__table__  # type: ignore[attr-defined]
LOT = Lot.__table__  # type: ignore[attr-defined]
PURCHASE = Purchase.__table__  # type: ignore[attr-defined]
# Entries with their lot's state (earn entries have one), so history can tell pending points.
ENTRY_WITH_LOT = select(
    ENTRY, LOT.c.released.label("lot_released"), LOT.c.available_at.label("lot_available_at")
).select_from(ENTRY.outerjoin(LOT, LOT.c.entry_id == ENTRY.c.id))


@dataclass(frozen=True)
class PointsNow:
    """A member's points as of a moment: spendable, pending, and what expires soon."""

    balance: int
    pending: int
    expiring: int
    first_expiry: datetime | None


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


async def points_now(
    conn: AsyncConnection, *, member: Any, now: datetime, warning_days: int
) -> PointsNow:
    """A member's cached balances (`id`, `balance`, `pending`, `debt`) as of `now`, in one query.

    The job writes those as entries later; until it does, the read applies the same rule, so an
    expired lot never shows in the balance and a matured one already does.
    """
    until = now + timedelta(days=warning_days)
    stmt = select(
        LOT.c.id, LOT.c.remaining, LOT.c.released, LOT.c.available_at, LOT.c.expires_at
    ).where(
        LOT.c.member_id == member.id,
        LOT.c.remaining > 0,
        or_(
            and_(LOT.c.released.is_(False), LOT.c.available_at <= now),
            and_(LOT.c.released.is_(True), LOT.c.expires_at <= until),
        ),
    )
    lots = [LotState(*row) for row in (await conn.execute(stmt)).all()]
    settled = settle_lots(
        balance=member.balance, pending=member.pending, debt=member.debt, lots=lots, now=now
    )
    expiring, first = expiring_within(settled.lots, now=now, until=until)
    return PointsNow(settled.balance, settled.pending, expiring, first)
