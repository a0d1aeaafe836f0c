"""The monthly leaderboard: the top members by points earned this month, and a member's rank.

Points come from `earned_month` (kept by the ledger, see `EarnedMonth`): earned in the month,
less what was reversed or expired of them since; staff adjustments never count. Only members
with points above zero are on the board. Ranks come from the month's score histogram
(`earned_score`, see `EarnedScore`): a sum over the bands of scores above and the scores
above within the member's band, not a count of members. Ranks are standard competition ranks (`games.leaderboard`): tied members share the best rank and the next rank skips (1, 2, 2, 4);
among tied members the newer membership is listed first. Names: a member who opted in
(`leaderboardOptIn`) shows their display name; everyone else shows a stable anonymous name,
"Member #" and six digits from HMAC-SHA256 of the member id under the database's random
`leaderboard_alias_key`: the same every month, unlinkable to the id or card without the key
(two members may share one, the rank tells them apart).
"""

from __future__ import annotations

import enum
import hashlib
import hmac
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import Connection, Row, and_, bindparam, func, select, tuple_

from backend.db import prepared
from backend.db.tables import EarnedMonth, EarnedScore, Member
from backend.rewards.ledger.scores import SCORE_BAND
from backend.rewards.queries import Carried, learn
from backend.rewards.tiers.rules import month_of
from games.leaderboard import page_ranks, page_start, rank_of

EARNED = EarnedMonth.__table__  # type: ignore[attr-defined]
SCORE = EarnedScore.__table__  # type: ignore[attr-defined]
MEMBER = Member.__table__  # type: ignore[attr-defined]
ALIAS_KEY = "leaderboard_alias_key"
IN_MONTH = EARNED.c.month == bindparam("month")
BOARD = (
    select(
        EARNED.c.member_id,
        EARNED.c.points,
        MEMBER.c.display_name,
        MEMBER.c.leaderboard_opt_in,
    )
    .select_from(EARNED.join(MEMBER, MEMBER.c.id == EARNED.c.member_id))
    .where(IN_MONTH, EARNED.c.points > 0)
    .order_by(EARNED.c.points.desc(), EARNED.c.member_id.desc())
    .limit(bindparam("limit"))
)


def _members(condition: Any) -> Any:
    """The members of the month's histogram rows that meet `condition` (one index range)."""
    members = select(func.coalesce(func.sum(SCORE.c.members), 0)).where(condition)
    return members.scalar_subquery()


def _members_above(month: Any, points: Any) -> Any:
    """The members with more than `points` in `month`: those of the bands above its band, and
    of the scores above it within its band; at most the bands and one band's scores."""
    in_month = SCORE.c.month == month
    bands = _members(and_(in_month, SCORE.c.width == SCORE_BAND, SCORE.c.points > points))
    band_top = points - points % SCORE_BAND + SCORE_BAND
    scores = _members(
        and_(in_month, SCORE.c.width == 1, SCORE.c.points > points, SCORE.c.points < band_top)
    )
    return bands + scores


MONTH: Any = bindparam("month")
POINTS: Any = bindparam("points")
# The members above the cursor's score and at it, from the histogram in the page's own statement
# (one snapshot); they read no row of the page, so each is evaluated once per statement.
BOARD_AFTER = BOARD.add_columns(
    _members_above(MONTH, POINTS).label("above"),
    _members(and_(SCORE.c.month == MONTH, SCORE.c.width == 1, SCORE.c.points == POINTS)).label(
        "at"
    ),
).where(tuple_(EARNED.c.points, EARNED.c.member_id) < tuple_(POINTS, bindparam("id")))
# A member's points and the members above them, in one statement.
MINE = select(
    EARNED.c.points, _members_above(EARNED.c.month, EARNED.c.points).label("higher")
).where(EARNED.c.member_id == bindparam("member_id"), EARNED.c.month == MONTH)


class Period(enum.StrEnum):
    """Which points the board ranks."""

    CURRENT_MONTH = "CURRENT_MONTH"


def period_month(period: Period, now: datetime) -> date:
    """The first day of the UTC calendar month a period ranks."""
    return month_of(now)


def alias(member_id: int, key: str) -> str:
    """A member's anonymous board name: stable, and not revealing the id without the key."""
    digest = hmac.new(key.encode(), f"member:{member_id}".encode(), hashlib.sha256).digest()
    return f"Member #{int.from_bytes(digest[:8], 'big') % 1_000_000:06d}"


@dataclass(frozen=True)
class BoardRow:
    """One member on the board."""

    member_id: int
    points: int
    rank: int
    display_name: str | None  # only when the member opted in


@dataclass(frozen=True)
class BoardPage:
    """A page of a month's board, highest first, after the cursor (points, member id).

    A read of the request's batch (`backend.rewards.queries.Read`).
    """

    month: date
    first: int
    after: tuple[int, int] | None

    def run(self, conn: Connection) -> tuple[list[BoardRow], bool]:
        """The page's rows ranked, and whether more follow."""
        params: dict[str, Any] = {"month": self.month, "limit": self.first + 1}
        if self.after is None:
            rows = prepared.rows(conn, BOARD, params)
        else:
            points, member_id = self.after
            rows = prepared.rows(conn, BOARD_AFTER, {**params, "points": points, "id": member_id})
        page = list(rows[: self.first])
        return self._ranked(page), len(rows) > self.first

    def _ranked(self, rows: list[Row[Any]]) -> list[BoardRow]:
        """Rank the page from the histogram's members above and at the cursor's score."""
        points = [r.points for r in rows]
        cursor = self.after[0] if self.after else None
        above, at = (int(rows[0].above), int(rows[0].at)) if rows and self.after else (0, 0)
        first_rank, first_position = page_start(points, cursor=cursor, above=above, at=at)
        ranks = page_ranks(points, first_rank=first_rank, first_position=first_position)
        return [
            BoardRow(r.member_id, r.points, rank, r.display_name if r.leaderboard_opt_in else None)
            for r, rank in zip(rows, ranks, strict=True)
        ]


@dataclass(frozen=True)
class Standing:
    """A member's place on a board."""

    rank: int
    points: int


@dataclass(frozen=True)
class RankOf:
    """A member's rank and points on a month's board; None while they earned nothing there.

    A read of the request's batch: one statement, the member's row and the histogram's members
    of the scores above.
    """

    member_id: int
    month: date

    def run(self, conn: Connection) -> Standing | None:
        """One indexed statement, bounded by the number of distinct scores above the member's."""
        mine = prepared.first(conn, MINE, {"member_id": self.member_id, "month": self.month})
        return standing(mine.points, mine.higher) if mine is not None else None


def standing(points: int | None, higher: int) -> Standing | None:
    """The standing of a member with `points` this month (None: no row) and `higher` above."""
    if points is None or points <= 0:
        return None
    return Standing(rank_of(int(higher)), int(points))


# The member's month and the members above them as columns of their own statement (`RankFold`).
_MY_MONTH = and_(EARNED.c.member_id == MEMBER.c.id, EARNED.c.month == bindparam("rank_month"))


@dataclass(frozen=True)
class RankFold:
    """`RankOf` as columns of the member's statement (`queries.Fold`): their month's row
    joined (one key probe) and the histogram's members above it."""

    month: date
    carried: ClassVar[Carried] = Carried(
        (
            EARNED.c.points.label("rank_points"),
            _members_above(EARNED.c.month, EARNED.c.points).label("rank_higher"),
        ),
        lambda source: source.outerjoin(EARNED, _MY_MONTH),
    )

    def params(self) -> dict[str, Any]:
        """The board's month."""
        return {"rank_month": self.month}

    def learn(self, conn: Connection, row: Row[Any]) -> None:
        """Keep the member's standing."""
        learn(conn, RankOf(row.id, self.month), standing(row.rank_points, row.rank_higher))
