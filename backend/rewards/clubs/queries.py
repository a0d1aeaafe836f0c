"""Club reads: lean Core selects for the API's loaders and for other areas (offers' audiences).

They take a reader connection or a unit of work's session, so a write (e.g. a redemption that
checks a club audience) reads through its own transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from backend.db.tables import Club, ClubInvitation, ClubMembership
from backend.rewards.clubs.rules import Standing

CLUB = Club.__table__  # type: ignore[attr-defined]
MEMBERSHIP = ClubMembership.__table__  # type: ignore[attr-defined]
INVITATION = ClubInvitation.__table__  # type: ignore[attr-defined]

Reader = AsyncConnection | AsyncSession


async def clubs_page(
    conn: Reader, *, first: int, after_id: int | None
) -> tuple[list[Row[Any]], bool]:
    """A page of the active clubs by id, after `after_id`; and whether more follow."""
    stmt = select(CLUB).where(CLUB.c.active.is_(True))
    if after_id is not None:
        stmt = stmt.where(CLUB.c.id > after_id)
    rows = (await conn.execute(stmt.order_by(CLUB.c.id).limit(first + 1))).all()
    return list(rows[:first]), len(rows) > first


async def standings(
    conn: Reader, pairs: Sequence[tuple[int, int]], *, now: datetime
) -> list[Standing]:
    """Each (member id, club id)'s last term end and pending invitation, in two statements."""
    members = {m for m, _ in pairs}
    clubs = {c for _, c in pairs}
    ends = select(
        MEMBERSHIP.c.member_id, MEMBERSHIP.c.club_id, func.max(MEMBERSHIP.c.ends_at).label("end")
    ).where(MEMBERSHIP.c.member_id.in_(members), MEMBERSHIP.c.club_id.in_(clubs))
    ends = ends.group_by(MEMBERSHIP.c.member_id, MEMBERSHIP.c.club_id)
    latest = {(r.member_id, r.club_id): r.end for r in (await conn.execute(ends)).all()}
    invited = _pending_invitations(members, clubs, now=now)
    until = {(r.member_id, r.club_id): r.until for r in (await conn.execute(invited)).all()}
    return [Standing(latest.get(pair), until.get(pair)) for pair in pairs]


def _pending_invitations(members: Iterable[int], clubs: Iterable[int], *, now: datetime) -> Any:
    """Select the latest expiry of each open, unaccepted invitation per member and club."""
    return (
        select(
            INVITATION.c.member_id,
            INVITATION.c.club_id,
            func.max(INVITATION.c.expires_at).label("until"),
        )
        .where(
            INVITATION.c.member_id.in_(list(members)),
            INVITATION.c.club_id.in_(list(clubs)),
            INVITATION.c.accepted_at.is_(None),
            INVITATION.c.expires_at > now,
        )
        .group_by(INVITATION.c.member_id, INVITATION.c.club_id)
    )


async def active_club_ids(conn: Reader, *, member_id: int, now: datetime) -> frozenset[int]:
    """The open clubs in which the member has a term running at `now` (e.g. for offer audiences)."""
    return (await active_club_ids_by_member(conn, [member_id], now=now))[member_id]


async def active_club_ids_by_member(
    conn: Reader, member_ids: Sequence[int], *, now: datetime
) -> dict[int, frozenset[int]]:
    """`active_club_ids` of several members in one statement (for DataLoaders)."""
    stmt = (
        select(MEMBERSHIP.c.member_id, MEMBERSHIP.c.club_id)
        .join(CLUB, CLUB.c.id == MEMBERSHIP.c.club_id)
        .where(
            MEMBERSHIP.c.member_id.in_(member_ids),
            MEMBERSHIP.c.started_at <= now,
            MEMBERSHIP.c.ends_at > now,
            CLUB.c.active.is_(True),
        )
        .distinct()
    )
    found: dict[int, set[int]] = {m: set() for m in member_ids}
    for row in (await conn.execute(stmt)).all():
        found[row.member_id].add(row.club_id)
    return {m: frozenset(clubs) for m, clubs in found.items()}
