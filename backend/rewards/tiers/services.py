"""Tier use cases: qualifying points and re-evaluation inside a ledger transaction."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlmodel import col

from backend.db.tables import LedgerEntry
from backend.rewards.clock import add_months
from backend.rewards.events import TierChanged
from backend.rewards.ledger import EntryKind
from backend.rewards.program import ProgramRules
from backend.rewards.tiers.rules import decide_tier
from backend.rewards.uow import LockedMember, UnitOfWork

QUALIFYING_KINDS = (EntryKind.EARN, EntryKind.RELEASE, EntryKind.REVERSE)


def qualifying_window_start(now: datetime, rules: ProgramRules) -> datetime:
    """The start of the rolling window whose earned points count towards tiers."""
    return add_months(now, -int(rules.setting("tier_window_months")))


async def qualifying_points(
    db: AsyncSession | AsyncConnection, *, member_id: int, since: datetime
) -> int:
    """Spendable points earned since `since`, net of reversals (no pending, no adjustments)."""
    return (await qualifying_summary(db, member_id=member_id, since=since))[0]


async def qualifying_summary(
    db: AsyncSession | AsyncConnection, *, member_id: int, since: datetime
) -> tuple[int, datetime | None]:
    """Qualifying points since `since` and when the oldest of them was earned."""
    stmt = select(
        func.coalesce(func.sum(LedgerEntry.amount), 0), func.min(LedgerEntry.created_at)
    ).where(
        col(LedgerEntry.member_id) == member_id,
        col(LedgerEntry.kind).in_(QUALIFYING_KINDS),
        col(LedgerEntry.created_at) > since,
        col(LedgerEntry.amount) != 0,
    )
    points, oldest = (await db.execute(stmt)).one()
    if isinstance(oldest, str):  # SQLite hands back the aggregate untyped
        oldest = datetime.fromisoformat(oldest).replace(tzinfo=UTC)
    return max(0, int(points)), oldest


async def reevaluate(uow: UnitOfWork, *, member: LockedMember, rules: ProgramRules) -> bool:
    """Move the member to the tier their points and grace period give; tell whether it changed."""
    uow.check_locked(member)
    since = qualifying_window_start(uow.now, rules)
    qualifying = await qualifying_points(uow.session, member_id=member.id or 0, since=since)
    current = rules.tier(member.tier_code)
    new = decide_tier(
        ladder=rules.tiers,
        current=current,
        reached_at=member.tier_reached_at,
        qualifying=qualifying,
        now=uow.now,
        grace_months=int(rules.setting("tier_grace_months")),
    )
    if new.code == current.code:
        if uow.now >= add_months(member.tier_reached_at, int(rules.setting("tier_grace_months"))):
            member.tier_reached_at = uow.now  # re-qualified: a new grace period starts
        return False
    member.tier_code, member.tier_reached_at = new.code, uow.now
    uow.emit(TierChanged(member_id=member.id or 0, old_tier=current.code, new_tier=new.code))
    return True
