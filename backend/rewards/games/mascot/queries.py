"""Read side of the hunts: hunts started on a member's day (dashboard) and the flagged ones (staff)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, func, select

from backend.db import prepared
from backend.db.tables import MascotHunt, Member
from backend.rewards.members.rules import local_day

HUNT = MascotHunt.__table__  # type: ignore[attr-defined]
MEMBER = Member.__table__  # type: ignore[attr-defined]

STARTED_ON = (
    select(func.count())
    .select_from(HUNT)
    .where(HUNT.c.member_id == bindparam("member_id"), HUNT.c.local_day == bindparam("day"))
)


@dataclass(frozen=True)
class HuntsStarted:
    """How many hunts a member started on one local day (a read of the request's batch)."""

    member_id: int
    day: date

    @classmethod
    def today(cls, member: Any, *, now: datetime) -> HuntsStarted:
        """The read for a member (row or object with `id` and `time_zone`) on their day at `now`."""
        return cls(member.id, local_day(now, member.time_zone))

    def run(self, conn: Connection) -> int:
        """One count on the member-and-day index."""
        params = {"member_id": self.member_id, "day": self.day}
        return int(prepared.scalar_one(conn, STARTED_ON, params))


FLAGGED = (
    select(HUNT, MEMBER.c.card_number)
    .select_from(HUNT.join(MEMBER, MEMBER.c.id == HUNT.c.member_id))
    .where(HUNT.c.flagged.is_(True), HUNT.c.id < bindparam("before_id"))
    .order_by(HUNT.c.id.desc())
    .limit(bindparam("limit"))
)


@dataclass(frozen=True)
class FlaggedHunts:
    """A page of flagged hunts, newest first, older than `before_id`, with the card numbers."""

    first: int
    before_id: int | None

    def run(self, conn: Connection) -> tuple[list[Row[Any]], bool]:
        """The page's rows, and whether more follow."""
        params = {"before_id": self.before_id or 2**31 - 1, "limit": self.first + 1}
        rows = prepared.rows(conn, FLAGGED, params)
        return list(rows[: self.first]), len(rows) > self.first
