"""Offer and voucher queries: lean Core statements that a session or a read connection can run."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Executable, Row, bindparam, case, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from backend.db.tables import FeaturedOffer, MemberCategory, Offer, Purchase, Voucher
from backend.rewards.offers.rules import VoucherStatus

OFFER = Offer.__table__  # type: ignore[attr-defined]
VOUCHER = Voucher.__table__  # type: ignore[attr-defined]
MEMBER_CATEGORY = MemberCategory.__table__  # type: ignore[attr-defined]
PURCHASE = Purchase.__table__  # type: ignore[attr-defined]
FEATURED = FeaturedOffer.__table__  # type: ignore[attr-defined]
Db = AsyncSession | AsyncConnection


def _status_filter(status: VoucherStatus, now: datetime) -> Any:
    """The WHERE clause of vouchers with a status as of `now`."""
    if status == VoucherStatus.USED:
        return VOUCHER.c.used_at.is_not(None)
    unused = VOUCHER.c.used_at.is_(None)
    if status == VoucherStatus.ACTIVE:
        return unused & (VOUCHER.c.expires_at > now)
    return unused & (VOUCHER.c.expires_at <= now)


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


async def take_stock(session: AsyncSession, offer_id: int, *, early: bool = False) -> bool:
    """Take one unit as `units_left` counts them; False when none is left.

    One conditional update, no lock: during early access from the club's units (the public
    stock when none are reserved), afterwards from what the club left first, then the public
    stock (NULL: unlimited). SET reads the row as it was before the update.
    """
    club, public = OFFER.c.club_stock, OFFER.c.stock
    stmt = update(OFFER).where(OFFER.c.id == offer_id)
    if early:
        stmt = stmt.where(or_(club > 0, club.is_(None) & or_(public.is_(None), public > 0))).values(
            club_stock=case((club > 0, club - 1), else_=club),
            stock=case((club.is_(None), public - 1), else_=public),
        )
    else:
        from_club = func.coalesce(club, 0) > 0
        stmt = stmt.where(or_(from_club, public.is_(None), public > 0)).values(
            club_stock=case((from_club, club - 1), else_=club),
            stock=case((from_club, public), else_=public - 1),
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


# A member's purchases the milestone ladder counts (those not refunded in full) besides one
# order: a column of that order's INSERT (`purchases.services`), which adds the order itself.
# Leaving the order out counts the same on both databases: a RETURNING subquery sees the row
# just inserted on SQLite, not on PostgreSQL.
BOUGHT_BESIDES = (
    select(func.count())
    .where(
        PURCHASE.c.member_id == bindparam("bought_member_id"),
        PURCHASE.c.refunded_amount < PURCHASE.c.amount,
        PURCHASE.c.order_id != bindparam("bought_order_id"),
    )
    .scalar_subquery()
)


def _dialect(session: AsyncSession) -> Any:
    """The dialect module whose INSERT knows ON CONFLICT."""
    return postgresql if session.get_bind().dialect.name == "postgresql" else sqlite


async def record_bought(session: AsyncSession, member_id: int, categories: set[str]) -> None:
    """Count one more purchase in each category (one upsert for all of them)."""
    if not categories:
        return
    rows = [{"member_id": member_id, "category": c} for c in sorted(categories)]
    await session.execute(_bought_upsert(session.get_bind().dialect.name), rows)


@functools.cache
def _bought_upsert(dialect_name: str) -> Executable:
    """`record_bought`'s upsert of one category, built once per dialect with bind parameters and
    sent with a row of parameters per category: SQLAlchemy caches no multi-row VALUES, so that
    form was compiled again for every purchase."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    stmt = dialect.insert(MEMBER_CATEGORY).values(
        member_id=bindparam("member_id"), category=bindparam("category"), bought=1
    )
    upsert: Executable = stmt.on_conflict_do_update(
        index_elements=[MEMBER_CATEGORY.c.member_id, MEMBER_CATEGORY.c.category],
        set_={"bought": MEMBER_CATEGORY.c.bought + 1},
    )
    return upsert


async def record_view(
    session: AsyncSession, *, member_id: int, category: str, now: datetime
) -> int:
    """Count one more view of a category and stamp it; the member's views of it so far."""
    stmt = (
        _dialect(session)
        .insert(MEMBER_CATEGORY)
        .values(member_id=member_id, category=category, bought=0, viewed=1, last_viewed_at=now)
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[MEMBER_CATEGORY.c.member_id, MEMBER_CATEGORY.c.category],
        set_={"viewed": MEMBER_CATEGORY.c.viewed + 1, "last_viewed_at": now},
    )
    result = await session.execute(stmt.returning(MEMBER_CATEGORY.c.viewed))
    return int(result.scalar_one())


async def remember_featured(
    session: AsyncSession, picks: Sequence[tuple[int, int, datetime]]
) -> None:
    """Store the offers members were featured, (member id, offer id, shown at) each: one upsert
    sent for all of them; a member's stored pick is replaced."""
    stmt = _dialect(session).insert(FEATURED)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[FEATURED.c.member_id],
            set_={"offer_id": stmt.excluded.offer_id, "shown_at": stmt.excluded.shown_at},
        ),
        [{"member_id": m, "offer_id": o, "shown_at": at} for m, o, at in picks],
    )
