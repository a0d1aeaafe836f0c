"""Club reads: lean Core selects for the API's loaders and for other areas (offers' audiences).

They take a reader connection or a unit of work's session, so a write (e.g. a redemption that
checks a club audience) reads through its own transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from backend.db.tables import Club, ClubInvitation, ClubMembership
from backend.rewards.clubs.rules import Standing

CLUB = Club.__table__  # type: ignore[attr-defined]
MEMBERSHIP = ClubMembership.__table__  # type: ignore[attr-defined]
INVITATION = ClubInvitation.__table__  # type: ignore[attr-defined]

Reader = AsyncConnection | AsyncSession


ACTIVE_CLUBS = select(CLUB).where(CLUB.c.active.is_(True)).order_by(CLUB.c.id)


@dataclass(frozen=True)
class ClubsPage:
    """A page of the active clubs by id, after `after_id`, and whether more follow
    (a read that joins the request's batch, see `backend.rewards.queries.Read`)."""

    first: int
    after_id: int | None

    def run(self, conn: Connection) -> tuple[list[Row[Any]], bool]:
        """One row more than the page is asked for, to tell whether more follow."""
        stmt = ACTIVE_CLUBS
        if self.after_id is not None:
            stmt = stmt.where(CLUB.c.id > self.after_id)
        rows = conn.execute(stmt.limit(self.first + 1)).all()
        return list(rows[: self.first]), len(rows) > self.first


@dataclass(frozen=True)
class Standings:
    """Each (member id, club id)'s last term end and pending invitation, in two statements
    (a read that joins the request's batch, see `backend.rewards.queries.Read`)."""

    pairs: tuple[tuple[int, int], ...]
    now: datetime

    def run(self, conn: Connection) -> list[Standing]:
        """The latest term end per pair, then the open invitations."""
        members = {m for m, _ in self.pairs}
        clubs = {c for _, c in self.pairs}
        ends = select(
            MEMBERSHIP.c.member_id,
            MEMBERSHIP.c.club_id,
            func.max(MEMBERSHIP.c.ends_at).label("end"),
        ).where(MEMBERSHIP.c.member_id.in_(members), MEMBERSHIP.c.club_id.in_(clubs))
        ends = ends.group_by(MEMBERSHIP.c.member_id, MEMBERSHIP.c.club_id)
        latest = {(r.member_id, r.club_id): r.end for r in conn.execute(ends)}
        invited = _pending_invitations(members, clubs, now=self.now)
        until = {(r.member_id, r.club_id): r.until for r in conn.execute(invited)}
        return [Standing(latest.get(pair), until.get(pair)) for pair in self.pairs]


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
