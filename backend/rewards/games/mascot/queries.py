"""Read side of the hunts: hunts started on a member's day (dashboard) and the flagged ones (staff)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar

from sqlalchemy import Connection, Row, bindparam, func, select

from backend.db import prepared
from backend.db.tables import MascotHunt, Member
from backend.rewards.members.rules import local_day
from backend.rewards.queries import Carried, learn

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


# A member's local day is the UTC day or one either side of it (zones span UTC-12 to UTC+14):
# before the member's zone is known, their statement counts the hunts of all three (`HuntsFold`).
_NEAR_DAYS = {-1: "hunts_day_before", 0: "hunts_day", 1: "hunts_day_after"}


def _started_on(name: str) -> Any:
    """The member's hunts started on the day bound to `name`, one index probe."""
    started = select(func.count()).where(
        HUNT.c.member_id == MEMBER.c.id, HUNT.c.local_day == bindparam(name)
    )
    return started.scalar_subquery().label(name)


@dataclass(frozen=True)
class HuntsFold:
    """`HuntsStarted.today` as columns of the member's statement (`queries.Fold`)."""

    now: datetime
    carried: ClassVar[Carried] = Carried(tuple(_started_on(n) for n in _NEAR_DAYS.values()))

    def params(self) -> dict[str, Any]:
        """The UTC day and its neighbours."""
        today = self.now.astimezone(UTC).date()
        return {name: today + timedelta(days=shift) for shift, name in _NEAR_DAYS.items()}

    def learn(self, conn: Connection, row: Row[Any]) -> None:
        """Keep the count of the member's own local day."""
        day = local_day(self.now, row.time_zone)
        name = _NEAR_DAYS.get((day - self.now.astimezone(UTC).date()).days)
        if name is not None:  # else `HuntsStarted` sends its own statement
            learn(conn, HuntsStarted(row.id, day), int(getattr(row, name)))


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
