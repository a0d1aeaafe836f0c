"""The leaderboard's score histogram `earned_score`, kept with `earned_month`.

Each change of a member's points in `earned_month` moves them from their old score to the new
one, and from the old score's band to the new one's (scores above zero only). A unit of work gathers its moves and writes them just before it
commits, in one upsert in ascending (month, points) order: every transaction locks histogram
rows in one statement, in one order, and only for its commit, so concurrent earns cannot
deadlock on them and wait on a popular score's row as briefly as possible.
"""

from __future__ import annotations

import functools
from collections import Counter
from datetime import date

from sqlalchemy import Executable, bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.tables import EarnedScore

SCORE = EarnedScore.__table__  # type: ignore[attr-defined]
SCORE_BAND = 256
"""Scores per band: a rank sums at most the bands above and the scores of one band."""


def band(points: int) -> int:
    """The lowest score of the band `points` is in."""
    return points - points % SCORE_BAND


class ScoreMoves:
    """The members a unit of work added to and took from each (month, score)."""

    def __init__(self) -> None:
        """Start with no moves."""
        self.members: Counter[tuple[date, int, int]] = Counter()

    def move(self, month: date, old: int, new: int) -> None:
        """A member's points in `month` went from `old` to `new` (a move inside a band cancels
        out on the band's row)."""
        if old > 0:
            self.members[month, 1, old] -= 1
            self.members[month, SCORE_BAND, band(old)] -= 1
        if new > 0:
            self.members[month, 1, new] += 1
            self.members[month, SCORE_BAND, band(new)] += 1

    async def write(self, session: AsyncSession) -> None:
        """Add the moves to the histogram (one statement, rows in ascending order)."""
        rows = [
            {"month": month, "width": width, "points": points, "members": members}
            for (month, width, points), members in sorted(self.members.items())
            if members
        ]
        self.members.clear()
        if not rows:
            return
        await session.execute(_score_upsert(session.get_bind().dialect.name), rows)


@functools.cache
def _score_upsert(dialect_name: str) -> Executable:
    """The histogram's upsert of one (month, width, points) row, built once per dialect with bind
    parameters and sent with all the rows' parameters at once, in their order: SQLAlchemy caches
    no multi-row VALUES, so that form was compiled again for every write."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    stmt = dialect.insert(SCORE).values(
        month=bindparam("month"),
        width=bindparam("width"),
        points=bindparam("points"),
        members=bindparam("members"),
    )
    upsert: Executable = stmt.on_conflict_do_update(
        index_elements=[SCORE.c.month, SCORE.c.width, SCORE.c.points],
        set_={"members": SCORE.c.members + stmt.excluded.members},
    )
    return upsert
