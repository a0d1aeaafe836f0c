"""Tier use cases: qualifying points and re-evaluation inside a ledger transaction."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Row, Select, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from backend.db.tables import Member, TierMonth
from backend.rewards.clock import add_months
from backend.rewards.events import TierChanged
from backend.rewards.notifications.rules import Kind
from backend.rewards.notifications.services import notify
from backend.rewards.program import ProgramRules
from backend.rewards.queries import MemberRows, RowsFold, answer
from backend.rewards.tiers.rules import (
    Qualifying,
    counted_points,
    decide_tier,
    first_counted_month,
    qualifying,
)
from backend.rewards.uow import LockedMember, UnitOfWork, lock_query

TIER_MONTH = TierMonth.__table__  # type: ignore[attr-defined]
TIER_MONTHS = MemberRows(
    "tier_month_rows",
    select(TIER_MONTH.c.month, TIER_MONTH.c.points)
    .where(
        TIER_MONTH.c.member_id == bindparam("member_id"),
        TIER_MONTH.c.month >= bindparam("first"),
    )
    .order_by(TIER_MONTH.c.month),
)
# The total of `TIER_MONTHS` as a column of a statement that reads the member.
WINDOW_POINTS = (
    select(func.coalesce(func.sum(TIER_MONTH.c.points), 0))
    .where(
        TIER_MONTH.c.member_id == Member.__table__.c.id,  # type: ignore[attr-defined]
        TIER_MONTH.c.month >= bindparam("first"),
    )
    .scalar_subquery()
    .label("window_points")
)


@dataclass(frozen=True)
class QualifyingNow:
    """Tier-qualifying points as of `now`, from at most `window_months + 1` monthly rows.

    The ledger keeps `tier_month` in the transaction of every entry that counts, so this read
    does not grow with the member's history; the dashboard (as a batched read) and `reevaluate`
    (inside its unit of work) both use it.
    """

    member_id: int
    now: datetime
    window_months: int

    @property
    def first(self) -> date:
        """The first month the window counts."""
        return first_counted_month(self.now, self.window_months)

    @property
    def params(self) -> dict[str, int | date]:
        """The bind parameters of `TIER_MONTHS`."""
        return {"member_id": self.member_id, "first": self.first}

    @staticmethod
    def fold(now: datetime, window_months: int) -> RowsFold:
        """The monthly rows as a column of the member's statement (`MemberWith`)."""
        return TIER_MONTHS.fold(first=first_counted_month(now, window_months))

    def of_rows(self, rows: list[Row[Any]]) -> Qualifying:
        """Apply the tier rule to the monthly rows."""
        months = [(row.month, row.points) for row in rows]
        return qualifying(months, now=self.now, window_months=self.window_months)

    def run(self, conn: Connection) -> Qualifying:
        """One indexed range of the member's months."""
        return self.of_rows(answer(conn, TIER_MONTHS.of(self.member_id, first=self.first)))


async def qualifying_now(
    db: AsyncSession | AsyncConnection, *, member_id: int, now: datetime, rules: ProgramRules
) -> Qualifying:
    """`QualifyingNow` with the program's window, inside a unit of work."""
    read = QualifyingNow(member_id, now, int(rules.setting("tier_window_months")))
    return read.of_rows(list((await db.execute(TIER_MONTHS.statement, read.params)).all()))


@functools.cache
def _lock_counting(column: str) -> Select[Any]:
    """The lock of `lock_counting`, built once per column."""
    return lock_query(column, WINDOW_POINTS)


async def lock_counting(
    uow: UnitOfWork, column: str, value: object, *, rules: ProgramRules
) -> LockedMember | None:
    """Find and lock a member by a unique column's value, as `uow.lock_member_by` does, with
    their tier-qualifying points read in the same statement for a later `reevaluate`."""
    first = first_counted_month(uow.now, int(rules.setting("tier_window_months")))
    params = {"value": value, "first": first}
    return await uow.lock_member_reading(_lock_counting(column), params)


async def _points_now(uow: UnitOfWork, member: LockedMember, rules: ProgramRules) -> int:
    """Tier-qualifying points now: as read with the member's lock (`lock_counting`) while the
    ledger has written no tier month since, else read from their months."""
    member_id = member.id or 0
    known = uow.read_with_lock.get(member_id)
    first = first_counted_month(uow.now, int(rules.setting("tier_window_months")))
    if known is not None and known.params.get("first") == first:
        return counted_points(int(known.row.window_points))
    counted = await qualifying_now(uow.session, member_id=member_id, now=uow.now, rules=rules)
    return counted.points


async def reevaluate(uow: UnitOfWork, *, member: LockedMember, rules: ProgramRules) -> bool:
    """Move the member to the tier their points and grace period give; tell whether it changed."""
    uow.check_locked(member)
    current = rules.tier(member.tier_code)
    new = decide_tier(
        ladder=rules.tiers,
        current=current,
        reached_at=member.tier_reached_at,
        qualifying=await _points_now(uow, member, rules),
        now=uow.now,
        grace_months=int(rules.setting("tier_grace_months")),
    )
    if new.code == current.code:
        if uow.now >= add_months(member.tier_reached_at, int(rules.setting("tier_grace_months"))):
            member.tier_reached_at = uow.now  # re-qualified: a new grace period starts
        return False
    member.tier_code, member.tier_reached_at = new.code, uow.now
    uow.emit(TierChanged(member_id=member.id or 0, old_tier=current.code, new_tier=new.code))
    if new.position > current.position:
        await notify(
            uow, member_id=member.id or 0, kind=Kind.TIER_REACHED, params={"tier": new.name}
        )
    return True
