"""The automations' candidate scans: each reads an index of its own, a page of member ids at a time.

Each scan leaves out members whose occasion is already written (an anti-join on the occasions'
unique index), so a run after a run finds only what is new; the per-member step decides again
under the member lock.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Row,
    Select,
    String,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.tables import Club, ClubMembership, Lot, Member, Occasion, TierMonth
from backend.rewards.automations.rules import OccasionKind
from backend.rewards.program import TierRule

MEMBER = Member.__table__  # type: ignore[attr-defined]
LOT = Lot.__table__  # type: ignore[attr-defined]
OCCASION = Occasion.__table__  # type: ignore[attr-defined]
TIER_MONTH = TierMonth.__table__  # type: ignore[attr-defined]
TERM = ClubMembership.__table__  # type: ignore[attr-defined]
CLUB = Club.__table__  # type: ignore[attr-defined]
ACTIVE = "active"


def _done(kind: OccasionKind, member_id: Any, key: Any) -> Any:
    """Whether the member's occasion row exists (the unique index answers it)."""
    return exists().where(
        OCCASION.c.kind == kind.value, OCCASION.c.member_id == member_id, OCCASION.c.key == key
    )


def _after(column: Any, after: int) -> list[Any]:
    """The keyset condition of a page after the first (none on the first, which leaves the
    planner free to start from the scan's own index rather than the primary key)."""
    return [column > after] if after else []


async def page(session: AsyncSession, stmt: Select[Any]) -> list[Row[Any]]:
    """Run a scan's page: rows whose first column is the member id."""
    return list((await session.execute(stmt)).all())


def birthdays(born: list[date], years: list[str], *, after: int, limit: int) -> Select[Any]:
    """Active members born on one of `born` with no birthday occasion in `years` yet, with what
    tells whether it is their birthday where they live."""
    done = exists().where(
        OCCASION.c.kind == OccasionKind.BIRTHDAY.value,
        OCCASION.c.member_id == MEMBER.c.id,
        OCCASION.c.key.in_(years),
    )
    return (
        select(MEMBER.c.id, MEMBER.c.birth_date, MEMBER.c.time_zone)
        .where(MEMBER.c.birth_date.in_(born), MEMBER.c.status == ACTIVE, not_(done))
        .where(*_after(MEMBER.c.id, after))
        .order_by(MEMBER.c.id)
        .limit(limit)
    )


def _unwarned_open_lots(now: datetime, horizon: datetime) -> Any:
    """Open lots expiring in (now, horizon] not yet warned about: `ix_lot_unwarned_expiry`'s
    condition, repeated with literal constants so both databases use the partial index."""
    return and_(
        LOT.c.released,
        LOT.c.remaining > literal_column("0"),
        not_(LOT.c.expiry_warned),
        LOT.c.expires_at > now,
        LOT.c.expires_at <= horizon,
    )


def expiring(now: datetime, horizon: datetime, *, after: int, limit: int) -> Select[Any]:
    """Active members with open lots expiring by `horizon` that no warning looked at yet."""
    return (
        select(LOT.c.member_id)
        .distinct()
        .join(MEMBER, MEMBER.c.id == LOT.c.member_id)
        .where(_unwarned_open_lots(now, horizon), MEMBER.c.status == ACTIVE)
        .where(*_after(LOT.c.member_id, after))
        .order_by(LOT.c.member_id)
        .limit(limit)
    )


def members_lots(member_id: int, now: datetime, horizon: datetime) -> Select[Any]:
    """One member's unwarned open lots expiring by `horizon` (their `ix_lot_member_open` rows)."""
    return select(LOT.c.id, LOT.c.expires_at, LOT.c.remaining).where(
        LOT.c.member_id == member_id, _unwarned_open_lots(now, horizon)
    )


def near_next_tier(
    ladder: tuple[TierRule, ...],
    *,
    month: date,
    first: date,
    key_prefix: str,
    percent: int,
    after: int,
    limit: int,
) -> Select[Any]:
    """Active members who earned this month whose qualifying points reach `percent` % of a tier
    above theirs that they have not reached, and who were not nudged towards it this month."""
    this_month, window = TIER_MONTH.alias("this_month"), TIER_MONTH.alias("window")
    sums = (
        select(this_month.c.member_id, func.sum(window.c.points).label("points"))
        .join(window, window.c.member_id == this_month.c.member_id)
        .where(this_month.c.month == month, window.c.month >= first)
        .where(*_after(this_month.c.member_id, after))
        .group_by(this_month.c.member_id)
        .subquery()
    )
    climbs = sorted((tier for tier in ladder if tier.threshold > 0), key=lambda t: t.threshold)
    if not climbs:
        return select(sums.c.member_id).where(literal(False))
    near = or_(
        *(
            and_(
                sums.c.points * 100 >= tier.threshold * percent,
                sums.c.points < tier.threshold,
                MEMBER.c.tier_code.in_([t.code for t in ladder if t.position < tier.position]),
            )
            for tier in climbs
        )
    )
    target = case(
        *((sums.c.points < tier.threshold, literal(f"{key_prefix}{tier.code}")) for tier in climbs)
    )
    return (
        select(sums.c.member_id)
        .join(MEMBER, MEMBER.c.id == sums.c.member_id)
        .where(near, MEMBER.c.status == ACTIVE)
        .where(not_(_done(OccasionKind.TIER_NUDGE, sums.c.member_id, target)))
        .order_by(sums.c.member_id)
        .limit(limit)
    )


def _ending_terms(now: datetime, horizon: datetime) -> Select[Any]:
    """Last terms in clubs sold for points that end in (now, horizon], not yet reminded of."""
    later = TERM.alias("later")
    renewed = exists().where(
        later.c.member_id == TERM.c.member_id,
        later.c.club_id == TERM.c.club_id,
        later.c.started_at >= TERM.c.ends_at,
    )
    return (
        select(TERM.c.id, TERM.c.member_id, TERM.c.club_id, TERM.c.ends_at, CLUB.c.name)
        .join(CLUB, CLUB.c.id == TERM.c.club_id)
        .join(MEMBER, MEMBER.c.id == TERM.c.member_id)
        .where(TERM.c.ends_at > now, TERM.c.ends_at <= horizon)
        .where(CLUB.c.active, not_(CLUB.c.invitation_only), MEMBER.c.status == ACTIVE)
        .where(not_(renewed))
        .where(not_(_done(OccasionKind.CLUB_RENEWAL, TERM.c.member_id, cast(TERM.c.id, String))))
    )


def ending(now: datetime, horizon: datetime, *, after: int, limit: int) -> Select[Any]:
    """Members with a club term to remind them of."""
    terms = _ending_terms(now, horizon).where(*_after(TERM.c.member_id, after)).subquery()
    return select(terms.c.member_id).distinct().order_by(terms.c.member_id).limit(limit)


def members_ending_terms(member_id: int, now: datetime, horizon: datetime) -> Select[Any]:
    """One member's club terms to remind them of."""
    return _ending_terms(now, horizon).where(TERM.c.member_id == member_id)
