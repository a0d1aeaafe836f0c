"""Ledger use cases. They take only a `LockedMember`, which `uow.lock_member` hands out.

Entries are only ever inserted: the database refuses UPDATE and DELETE on `ledger_entry` and
`lot_allocation` (triggers), so every entry is written with its final kind and amounts.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import cast

from sqlalchemy import Executable, bindparam, insert, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col

from backend.db.tables import EarnedMonth, LedgerEntry, Lot, LotAllocation, TierMonth
from backend.rewards.clock import add_months
from backend.rewards.errors import DomainError, InsufficientPoints
from backend.rewards.events import PointsChanged
from backend.rewards.ledger.rules import (
    Expiry,
    LotState,
    OpenLot,
    Release,
    allocate_fifo,
    debt_repaid,
    settle_lots,
    split_reversal,
)
from backend.rewards.ledger.scores import ScoreMoves
from backend.rewards.tiers.rules import month_of
from backend.rewards.uow import LockedMember, UnitOfWork


class EntryKind(enum.StrEnum):
    """What an entry did: credit, release pending points, spend, expire, reverse or correct."""

    EARN = "earn"
    RELEASE = "release"
    REDEEM = "redeem"
    EXPIRE = "expire"
    REVERSE = "reverse"
    ADJUST = "adjust"


TIER_QUALIFYING = frozenset({EntryKind.EARN, EntryKind.RELEASE, EntryKind.REVERSE})
"""Entries whose spendable `amount` counts towards tiers (no pending, no staff adjustments)."""


TAKEN_BACK = frozenset({EntryKind.REVERSE, EntryKind.EXPIRE})
"""Entries that take an earn's points back: they stop counting on the leaderboard."""


class Source(enum.StrEnum):
    """Where the points came from or went to."""

    ORDER = "order"
    GAME = "game"
    CAMPAIGN = "campaign"
    ACTION = "action"
    STAFF = "staff"
    OFFER = "offer"
    CLUB = "club"
    REFERRAL = "referral"
    BIRTHDAY = "birthday"
    SYSTEM = "system"


@dataclass(frozen=True)
class Posting:
    """Why an entry is written: reason text, source, the source's reference and who acted."""

    reason: str
    source: Source
    source_ref: str | None = None
    actor: str | None = None


def _check_points(points: int) -> None:
    """Refuse zero, negative or absurd amounts before anything is written."""
    if not 0 < points <= 1_000_000_000:
        raise DomainError(
            "INVALID_POINTS", "Points must be a positive whole number.", field="points"
        )


async def _append(
    uow: UnitOfWork,
    member: LockedMember,
    *,
    kind: EntryKind,
    posting: Posting,
    amount: int = 0,
    pending_delta: int = 0,
    related_entry_id: int | None = None,
) -> LedgerEntry:
    """Write one entry and move the cached balances with it, in the same transaction."""
    member.balance += amount
    member.pending += pending_delta
    entry = LedgerEntry(
        member_id=cast(int, member.id),
        kind=kind,
        amount=amount,
        pending_delta=pending_delta,
        balance_after=member.balance,
        pending_after=member.pending,
        reason=posting.reason[:200],
        source=posting.source,
        source_ref=posting.source_ref,
        actor=posting.actor,
        related_entry_id=related_entry_id,
        created_at=uow.now,
    )
    await uow.write_balances(member)  # the row always holds the balances its entries end on
    await uow.insert(entry)
    if kind in TIER_QUALIFYING and amount:
        await _add_to_month(uow, TierMonth, entry.member_id, month_of(uow.now), amount)
        uow.read_with_lock.pop(entry.member_id, None)  # its tier points read with the lock
    await _count_as_earned(uow, entry)
    uow.emit(
        PointsChanged(
            member_id=entry.member_id,
            entry_id=entry.id or 0,
            balance=member.balance,
            pending=member.pending,
        )
    )
    return entry


async def _add_to_month(
    uow: UnitOfWork, model: type[TierMonth | EarnedMonth], member_id: int, month: date, points: int
) -> int:
    """Add points to a member's row of a month in a monthly aggregate (one upsert); the row's
    points now."""
    stmt = _month_upsert(uow.session.get_bind().dialect.name, model)
    params = {"member_id": member_id, "month": month, "points": points}
    return int((await uow.session.execute(stmt, params)).scalar_one())


@functools.cache
def _month_upsert(dialect_name: str, model: type[TierMonth | EarnedMonth]) -> Executable:
    """The upsert of `_add_to_month`, built once per dialect and table with bind parameters (not
    rebuilt and re-keyed for every entry)."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    table = model.__table__  # type: ignore[union-attr]
    stmt = dialect.insert(table).values(
        member_id=bindparam("member_id"), month=bindparam("month"), points=bindparam("points")
    )
    upsert: Executable = stmt.on_conflict_do_update(
        index_elements=[table.c.member_id, table.c.month],
        set_={"points": table.c.points + stmt.excluded.points},
    ).returning(table.c.points)
    return upsert


async def _count_as_earned(uow: UnitOfWork, entry: LedgerEntry) -> None:
    """Keep `earned_month` (the leaderboard's): an earn counts in its month, pending or not; a
    reversal or expiry of an earn's points takes them back from the earn's month."""
    points = entry.amount + entry.pending_delta
    if entry.kind == EntryKind.EARN:
        earned_at = entry.created_at
    elif entry.kind in TAKEN_BACK and entry.related_entry_id is not None and points:
        earn = await uow.session.get(LedgerEntry, entry.related_entry_id)
        if earn is None or earn.kind != EntryKind.EARN:  # a staff adjustment never counted
            return
        earned_at = earn.created_at
    else:
        return
    month = month_of(earned_at)
    now = await _add_to_month(uow, EarnedMonth, entry.member_id, month, points)
    uow.held(ScoreMoves).move(month, now - points, now)


def _allocate(uow: UnitOfWork, entry: LedgerEntry, takes: list[tuple[int, int]]) -> None:
    """Record which lots a debit took points from."""
    for lot_id, amount in takes:
        uow.session.add(LotAllocation(entry_id=cast(int, entry.id), lot_id=lot_id, amount=amount))


async def _spendable_lots(uow: UnitOfWork, member_id: int) -> list[Lot]:
    """Released, unexpired lots with points left, oldest expiry first."""
    stmt = (
        select(Lot)
        .where(
            col(Lot.member_id) == member_id,
            col(Lot.released).is_(True),
            col(Lot.remaining) > 0,
            col(Lot.expires_at) > uow.now,
        )
        .order_by(col(Lot.expires_at), col(Lot.id))
    )
    return list((await uow.session.execute(stmt)).scalars())


async def _take_from_lots(
    uow: UnitOfWork, member_id: int, points: int
) -> tuple[list[tuple[int, int]], int]:
    """Consume up to `points` oldest-first; return the takes and the shortfall."""
    lots = await _spendable_lots(uow, member_id)
    takes, left = allocate_fifo([OpenLot(lot.id or 0, lot.remaining) for lot in lots], points)
    by_id = {lot.id: lot for lot in lots}
    for lot_id, amount in takes:
        by_id[lot_id].remaining -= amount
    return takes, left


def _repay(member: LockedMember, paid: int) -> None:
    """Let a newly spendable lot pay off points a reversal clawed back beyond the balance (the
    caller takes `paid` from the lot)."""
    if paid:  # an untouched member stays clean: nothing for the session to flush
        member.debt -= paid


async def credit(
    uow: UnitOfWork,
    *,
    member: LockedMember,
    points: int,
    posting: Posting,
    kind: EntryKind = EntryKind.EARN,
    lifetime_months: int = 12,
    available_at: datetime | None = None,
) -> LedgerEntry:
    """Credit a lot of points (an EARN, or a staff ADJUST), spendable now or from `available_at`."""
    uow.check_locked(member)
    _check_points(points)
    pending = available_at is not None and available_at > uow.now
    entry = await _append(
        uow,
        member,
        kind=kind,
        posting=posting,
        amount=0 if pending else points,
        pending_delta=points if pending else 0,
    )
    paid = 0 if pending else debt_repaid(debt=member.debt, points=points)
    _repay(member, paid)
    lot = {
        "member_id": member.id,
        "entry_id": entry.id,
        "amount": points,
        "remaining": points - paid,
        "expired": 0,
        "earned_at": uow.now,
        "available_at": available_at if pending else uow.now,
        "expires_at": add_months(uow.now, lifetime_months),
        "released": not pending,
        "expiry_warned": False,
    }
    lot_id = await uow.insert_values(Lot, lot)  # a dict: the lot's object was never used
    if paid:
        _allocate(uow, entry, [(lot_id, paid)])
    return entry


async def credit_each(
    uow: UnitOfWork,
    *,
    members: Sequence[LockedMember],
    points: int,
    posting: Posting,
    lifetime_months: int = 12,
) -> dict[int, int]:
    """Credit the same spendable EARN lot to each of many members (a campaign's batch).

    The same entries, lots and tier months as `credit` member by member, written with one
    statement per table; members who owe points (whose credit repays debt first) go through
    `credit` itself. Returns the entry id of each member.
    """
    _check_points(points)
    entries: dict[int, int] = {}
    plain = []
    for member in members:
        uow.check_locked(member)
        if member.debt:
            entry = await credit(
                uow, member=member, points=points, posting=posting, lifetime_months=lifetime_months
            )
            entries[cast(int, member.id)] = cast(int, entry.id)
        else:
            plain.append(member)
    if not plain:
        return entries
    written = await _append_each(uow, plain, points=points, posting=posting)
    expires = add_months(uow.now, lifetime_months)
    lots = [
        {
            "member_id": member_id,
            "entry_id": entry_id,
            "amount": points,
            "remaining": points,
            "expired": 0,
            "earned_at": uow.now,
            "available_at": uow.now,
            "expires_at": expires,
            "released": True,
        }
        for member_id, entry_id in written.items()
    ]
    await uow.session.execute(insert(Lot.__table__), lots)  # type: ignore[attr-defined]
    for aggregate in (TierMonth, EarnedMonth):  # an EARN counts for the tier and the leaderboard
        await _add_each_to_month(uow, aggregate, list(written), points)
    return entries | written


async def _append_each(
    uow: UnitOfWork, members: Sequence[LockedMember], *, points: int, posting: Posting
) -> dict[int, int]:
    """`_append` of one EARN per member in one statement; the entry id by member id."""
    rows = []
    for member in members:
        member.balance += points  # written when the session flushes, as `_append` does
        rows.append(
            {
                "member_id": member.id,
                "kind": EntryKind.EARN.value,
                "amount": points,
                "pending_delta": 0,
                "balance_after": member.balance,
                "pending_after": member.pending,
                "reason": posting.reason[:200],
                "source": posting.source.value,
                "source_ref": posting.source_ref,
                "related_entry_id": None,
                "actor": posting.actor,
                "created_at": uow.now,
            }
        )
    table = LedgerEntry.__table__  # type: ignore[attr-defined]
    # Not sorted by parameter order (SQLite would then insert row by row): one entry per member,
    # so the member id tells which id is whose.
    stmt = insert(table).returning(table.c.id, table.c.member_id)
    written = {int(m): int(i) for i, m in (await uow.session.execute(stmt, rows)).all()}
    assert len(written) == len(members), "one entry per member"
    for member in members:
        uow.emit(
            PointsChanged(
                member_id=cast(int, member.id),
                entry_id=written[cast(int, member.id)],
                balance=member.balance,
                pending=member.pending,
            )
        )
    return written


async def _add_each_to_month(
    uow: UnitOfWork,
    model: type[TierMonth | EarnedMonth],
    member_ids: Sequence[int],
    points: int,
) -> None:
    """`_add_to_month` of this month for many members at once (one statement); `earned_month`'s
    moves join the histogram's."""
    dialect = postgresql if uow.session.get_bind().dialect.name == "postgresql" else sqlite
    table = model.__table__  # type: ignore[union-attr]
    stmt = dialect.insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.member_id, table.c.month],
        set_={"points": table.c.points + stmt.excluded.points},
    )
    month = month_of(uow.now)
    rows = [{"member_id": m, "month": month, "points": points} for m in member_ids]
    if model is TierMonth:
        await uow.session.execute(stmt, rows)
        for member_id in member_ids:  # their tier points read with their locks
            uow.read_with_lock.pop(member_id, None)
        return
    moves = uow.held(ScoreMoves)
    for now in (await uow.session.execute(stmt.returning(table.c.points), rows)).scalars():
        moves.move(month, now - points, now)


async def debit(
    uow: UnitOfWork,
    *,
    member: LockedMember,
    points: int,
    posting: Posting,
    kind: EntryKind = EntryKind.REDEEM,
) -> LedgerEntry:
    """Spend points oldest lot first; never below zero, expired and pending points excluded."""
    uow.check_locked(member)
    _check_points(points)
    await settle(uow, member=member)
    if member.balance < points:
        raise InsufficientPoints(needed=points, available=max(member.balance, 0))
    takes, left = await _take_from_lots(uow, member.id or 0, points)
    if left:  # the cached balance and the lots disagree: refuse rather than lose points
        raise AssertionError(f"ledger out of balance for member {member.id}")
    entry = await _append(uow, member, kind=kind, posting=posting, amount=-points)
    _allocate(uow, entry, takes)
    return entry


async def reverse_credit(
    uow: UnitOfWork, *, member: LockedMember, earn_entry_id: int, points: int, posting: Posting
) -> LedgerEntry:
    """Take back `points` of an earn (refund): unspent first, spent ones may push the balance below zero."""
    uow.check_locked(member)
    _check_points(points)
    await settle(uow, member=member)
    lot = (
        await uow.session.execute(select(Lot).where(col(Lot.entry_id) == earn_entry_id))
    ).scalar_one()
    if lot.member_id != member.id:
        raise AssertionError("reversal of another member's lot")
    split = split_reversal(points=points, remaining=lot.remaining, expired=lot.expired)
    lot.remaining -= split.from_lot
    lot.expired -= split.from_expired
    if not lot.released:
        entry = await _append(
            uow,
            member,
            kind=EntryKind.REVERSE,
            posting=posting,
            pending_delta=-split.from_lot,
            related_entry_id=earn_entry_id,
        )
        _allocate(uow, entry, [(lot.id or 0, split.from_lot)])
        return entry
    takes, shortfall = await _take_from_lots(uow, member.id or 0, split.from_elsewhere)
    member.debt += shortfall
    entry = await _append(
        uow,
        member,
        kind=EntryKind.REVERSE,
        posting=posting,
        amount=-split.balance_effect,
        related_entry_id=earn_entry_id,
    )
    _allocate(uow, entry, [(lot.id or 0, split.from_lot), *takes] if split.from_lot else takes)
    return entry


async def settle(uow: UnitOfWork, *, member: LockedMember) -> list[LedgerEntry]:
    """Write the releases and expiries due now (the plan of `settle_lots`) as entries."""
    uow.check_locked(member)
    lots = {lot.id or 0: lot for lot in await _due_lots(uow, member.id or 0)}
    plan = settle_lots(
        balance=member.balance,
        pending=member.pending,
        debt=member.debt,
        lots=[_state(lot) for lot in lots.values()],
        now=uow.now,
    )
    written = [await _release(uow, member, lots[r.lot_id], r) for r in plan.releases]
    written += [await _expire(uow, member, lots[e.lot_id], e) for e in plan.expiries]
    if (member.balance, member.pending, member.debt) != (plan.balance, plan.pending, plan.debt):
        raise AssertionError(f"settling member {member.id} missed its plan")
    return written


def _state(lot: Lot) -> LotState:
    """The part of a lot that settling looks at."""
    return LotState(lot.id or 0, lot.remaining, lot.released, lot.available_at, lot.expires_at)


async def _due_lots(uow: UnitOfWork, member_id: int) -> list[Lot]:
    """Pending lots whose return window is over, and spendable lots past their expiry."""
    stmt = select(Lot).where(
        col(Lot.member_id) == member_id,
        or_(
            col(Lot.released).is_(False) & (col(Lot.available_at) <= uow.now),
            col(Lot.released).is_(True)
            & (col(Lot.remaining) > 0)
            & (col(Lot.expires_at) <= uow.now),
        ),
    )
    return list((await uow.session.execute(stmt.order_by(col(Lot.id)))).scalars())


async def _release(
    uow: UnitOfWork, member: LockedMember, lot: Lot, release: Release
) -> LedgerEntry:
    """Move a lot's points from pending to spendable; they repay debt first."""
    lot.released = True
    entry = await _append(
        uow,
        member,
        kind=EntryKind.RELEASE,
        posting=Posting("Return window over: points are now spendable", Source.SYSTEM),
        amount=release.points,
        pending_delta=-release.points,
        related_entry_id=lot.entry_id,
    )
    _repay(member, release.repaid)
    lot.remaining -= release.repaid
    if release.repaid:
        _allocate(uow, entry, [(lot.id or 0, release.repaid)])
    return entry


async def _expire(uow: UnitOfWork, member: LockedMember, lot: Lot, expiry: Expiry) -> LedgerEntry:
    """Write off what is left of an expired lot."""
    lot.remaining -= expiry.points
    lot.expired += expiry.points
    entry = await _append(
        uow,
        member,
        kind=EntryKind.EXPIRE,
        posting=Posting("Points expired", Source.SYSTEM),
        amount=-expiry.points,
        related_entry_id=lot.entry_id,
    )
    _allocate(uow, entry, [(lot.id or 0, expiry.points)])
    return entry
