"""Prize-draw reads for the API's loaders (reads of the request's batch, `queries.Read`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, bindparam, select

from backend.db.tables import DrawTicket, PrizeDraw

DRAW = PrizeDraw.__table__  # type: ignore[attr-defined]
TICKET = DrawTicket.__table__  # type: ignore[attr-defined]
NEWEST = select(DRAW).order_by(DRAW.c.id.desc()).limit(bindparam("limit"))
OLDER = NEWEST.where(DRAW.c.id < bindparam("before_id"))
MY_TICKETS = (
    select(TICKET.c.draw_id, TICKET.c.ticket)
    .where(
        TICKET.c.member_id == bindparam("member_id"),
        TICKET.c.draw_id.in_(bindparam("draw_ids", expanding=True)),
    )
    .order_by(TICKET.c.ticket)
)
TICKETS = (
    select(TICKET.c.ticket, TICKET.c.holder, TICKET.c.member_id)
    .where(TICKET.c.draw_id == bindparam("draw_id"), TICKET.c.ticket > bindparam("after"))
    .order_by(TICKET.c.ticket)
    .limit(bindparam("limit"))
)


@dataclass(frozen=True)
class DrawsPage:
    """A page of draws, newest first, older than `before_id`; and whether more follow."""

    first: int
    before_id: int | None

    def run(self, conn: Connection) -> tuple[list[Row[Any]], bool]:
        """One row more than the page, to tell whether more follow."""
        params: dict[str, Any] = {"limit": self.first + 1}
        if self.before_id is None:
            rows = conn.execute(NEWEST, params).all()
        else:
            rows = conn.execute(OLDER, {**params, "before_id": self.before_id}).all()
        return list(rows[: self.first]), len(rows) > self.first


@dataclass(frozen=True)
class MyTickets:
    """A member's ticket numbers in each of some draws, in number order."""

    member_id: int
    draw_ids: tuple[int, ...]

    def run(self, conn: Connection) -> dict[int, list[int]]:
        """One statement on the member's tickets index."""
        found: dict[int, list[int]] = {d: [] for d in self.draw_ids}
        params = {"member_id": self.member_id, "draw_ids": list(self.draw_ids)}
        for row in conn.execute(MY_TICKETS, params):
            found[row.draw_id].append(row.ticket)
        return found


@dataclass(frozen=True)
class TicketsPage:
    """A page of a draw's tickets in number order after ticket `after` (0: from the first)."""

    draw_id: int
    first: int
    after: int

    def run(self, conn: Connection) -> tuple[list[Row[Any]], bool]:
        """One range of the draw's unique (draw, ticket) index."""
        params = {"draw_id": self.draw_id, "after": self.after, "limit": self.first + 1}
        rows = conn.execute(TICKETS, params).all()
        return list(rows[: self.first]), len(rows) > self.first
