"""Offer and voucher queries: lean Core statements that a session or a read connection can run."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from backend.db.tables import MemberCategory, Offer, Purchase, Voucher
from backend.rewards.offers.rules import VoucherStatus

OFFER = Offer.__table__  # type: ignore[attr-defined]
VOUCHER = Voucher.__table__  # type: ignore[attr-defined]
MEMBER_CATEGORY = MemberCategory.__table__  # type: ignore[attr-defined]
PURCHASE = Purchase.__table__  # type: ignore[attr-defined]
Db = AsyncSession | AsyncConnection


async def open_offers(db: Db, *, now: datetime) -> list[Row[Any]]:
    """Listed offers whose window is open now, newest first (one statement, whatever the count)."""
    stmt = select(OFFER).where(
        OFFER.c.listed.is_(True),
        OFFER.c.starts_at <= now,
        or_(OFFER.c.ends_at.is_(None), OFFER.c.ends_at > now),
    )
    return list((await db.execute(stmt.order_by(OFFER.c.id.desc()))).all())


async def categories_bought(db: Db, member_ids: Sequence[int]) -> dict[int, frozenset[str]]:
    """The categories each member bought at least once."""
    stmt = select(MEMBER_CATEGORY.c.member_id, MEMBER_CATEGORY.c.category).where(
        MEMBER_CATEGORY.c.member_id.in_(member_ids), MEMBER_CATEGORY.c.bought > 0
    )
    found: dict[int, set[str]] = {m: set() for m in member_ids}
    for row in (await db.execute(stmt)).all():
        found[row.member_id].add(row.category)
    return {m: frozenset(c) for m, c in found.items()}


async def taken(
    db: Db, member_ids: Sequence[int], offer_ids: Iterable[int]
) -> dict[tuple[int, int], int]:
    """How many vouchers each member holds of each offer, keyed by (member id, offer id)."""
    wanted = list(offer_ids)
    if not wanted:
        return {}
    stmt = (
        select(VOUCHER.c.member_id, VOUCHER.c.offer_id, func.count().label("n"))
        .where(VOUCHER.c.offer_id.in_(wanted), VOUCHER.c.member_id.in_(member_ids))
        .group_by(VOUCHER.c.member_id, VOUCHER.c.offer_id)
    )
    return {(r.member_id, r.offer_id): r.n for r in (await db.execute(stmt)).all()}


def _status_filter(status: VoucherStatus, now: datetime) -> Any:
    """The WHERE clause of vouchers with a status as of `now`."""
    if status == VoucherStatus.USED:
        return VOUCHER.c.used_at.is_not(None)
    unused = VOUCHER.c.used_at.is_(None)
    if status == VoucherStatus.ACTIVE:
        return unused & (VOUCHER.c.expires_at > now)
    return unused & (VOUCHER.c.expires_at <= now)


async def active_voucher_counts(
    db: Db, member_ids: Sequence[int], *, now: datetime
) -> dict[int, int]:
    """Unused, unexpired vouchers per member."""
    stmt = (
        select(VOUCHER.c.member_id, func.count().label("n"))
        .where(VOUCHER.c.member_id.in_(member_ids), _status_filter(VoucherStatus.ACTIVE, now))
        .group_by(VOUCHER.c.member_id)
    )
    return {row.member_id: row.n for row in (await db.execute(stmt)).all()}


async def vouchers_page(
    db: Db,
    *,
    member_id: int,
    first: int,
    before_id: int | None,
    status: VoucherStatus | None,
    now: datetime,
) -> tuple[list[Row[Any]], bool]:
    """A page of a member's vouchers, newest first, older than `before_id`; is there more?"""
    stmt = select(VOUCHER).where(VOUCHER.c.member_id == member_id)
    if before_id is not None:
        stmt = stmt.where(VOUCHER.c.id < before_id)
    if status is not None:
        stmt = stmt.where(_status_filter(status, now))
    rows = (await db.execute(stmt.order_by(VOUCHER.c.id.desc()).limit(first + 1))).all()
    return list(rows[:first]), len(rows) > first


async def voucher_by_code(db: Db, code: str) -> Row[Any] | None:
    """The voucher with a canonical code."""
    return (await db.execute(select(VOUCHER).where(VOUCHER.c.code == code))).first()


async def take_stock(session: AsyncSession, offer_id: int) -> bool:
    """Take one unit of a limited stock; False when none is left (a conditional update, no lock)."""
    stmt = (
        update(OFFER)
        .where(OFFER.c.id == offer_id, OFFER.c.stock > 0)
        .values(stock=OFFER.c.stock - 1)
    )
    return bool((await session.execute(stmt)).rowcount)  # type: ignore[attr-defined]


async def mark_used(
    session: AsyncSession, *, voucher_id: int, now: datetime, by: str, reference: str
) -> bool:
    """Mark an unused, unexpired voucher used; False when it was used or expired meanwhile."""
    stmt = (
        update(VOUCHER)
        .where(VOUCHER.c.id == voucher_id, VOUCHER.c.used_at.is_(None), VOUCHER.c.expires_at > now)
        .values(used_at=now, used_by=by, used_reference=reference)
    )
    return bool((await session.execute(stmt)).rowcount)  # type: ignore[attr-defined]


async def count_bought(session: AsyncSession, member_id: int) -> int:
    """A member's purchases that were not refunded in full (what the milestone ladder counts)."""
    stmt = select(func.count()).where(
        PURCHASE.c.member_id == member_id, PURCHASE.c.refunded_amount < PURCHASE.c.amount
    )
    return int((await session.execute(stmt)).scalar_one())


async def record_bought(session: AsyncSession, member_id: int, categories: set[str]) -> None:
    """Count one more purchase in each category (one upsert for all of them)."""
    if not categories:
        return
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(MEMBER_CATEGORY).values(
        [{"member_id": member_id, "category": c, "bought": 1} for c in sorted(categories)]
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[MEMBER_CATEGORY.c.member_id, MEMBER_CATEGORY.c.category],
            set_={"bought": MEMBER_CATEGORY.c.bought + 1},
        )
    )
