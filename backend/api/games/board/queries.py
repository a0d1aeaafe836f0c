"""Leaderboard and prize-draw queries: thin resolvers over the request's batched reads."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Annotated

import strawberry
from strawberry import relay

from backend.api.context import Info
from backend.api.games.board.types import (
    Draw,
    Leaderboard,
    LeaderboardEntry,
    LeaderboardPeriod,
    as_draws,
    draw_viewer,
    month_bounds,
)
from backend.api.permissions import IsMemberOrStaff
from backend.api.types import (
    connection,
    decode_cursor,
    decode_rank_cursor,
    encode_rank_cursor,
    page,
    page_size,
)
from backend.rewards.games.draw_reads import DrawsPage
from backend.rewards.games.leaderboard import (
    ALIAS_KEY,
    BoardPage,
    Period,
    RankOf,
    Standing,
    alias,
    period_month,
)
from backend.rewards.ports import Role
from backend.rewards.queries import MemberByUid

BOARD_CURSOR = "board"
DRAW_CURSOR = "draw"


async def _standing(info: Info, month: date) -> tuple[int | None, Standing | None]:
    """The signed-in member's id and standing in a month (None for staff or before enrolment)."""
    principal = info.context.principal
    if principal is None or principal.role != Role.MEMBER:
        return None, None
    row = await info.context.loaders.read(MemberByUid(principal.uid))
    if row is None:
        return None, None
    return row.id, await info.context.loaders.read(RankOf(row.id, month))


@strawberry.type(description="The leaderboard and prize draws.")
class BoardQuery:
    @strawberry.field(
        description="The leaderboard of a period: members ranked by points earned in it, most "
        "first (Relay connection in `entries`), with your own rank.",
        permission_classes=[IsMemberOrStaff],
    )
    async def leaderboard(
        self,
        info: Info,
        period: Annotated[
            LeaderboardPeriod,  # type: ignore[valid-type]
            strawberry.argument(description="Which points to rank."),
        ] = Period.CURRENT_MONTH,
        first: Annotated[int, strawberry.argument(description="Page size, 1 to 100.")] = 10,
        after: Annotated[
            str | None, strawberry.argument(description="Cursor of the last entry already seen.")
        ] = None,
    ) -> Leaderboard:
        """Read the page, the alias key and the caller's standing in one batch."""
        loaders = info.context.loaders
        month = period_month(Period(period), loaders.now)
        read = BoardPage(month, page_size(first), decode_rank_cursor(after, BOARD_CURSOR))
        rules = await loaders.rules()
        (rows, more), (me, standing) = await asyncio.gather(
            loaders.read(read), _standing(info, month)
        )
        key = str(rules.setting(ALIAS_KEY))
        edges = [
            relay.Edge(
                cursor=encode_rank_cursor(r.points, r.member_id, BOARD_CURSOR),
                node=LeaderboardEntry(
                    rank=r.rank,
                    points=r.points,
                    name=r.display_name or alias(r.member_id, key),
                    anonymous=r.display_name is None,
                    is_me=r.member_id == me,
                ),
            )
            for r in rows
        ]
        starts_at, ends_at = month_bounds(month)
        return Leaderboard(
            period=Period(period),
            starts_at=starts_at,
            ends_at=ends_at,
            entries=page(edges, more, after),
            my_rank=standing.rank if standing else None,
            my_points=standing.points if standing else 0,
        )

    @strawberry.field(
        description="Prize draws, newest first, each with its status and your tickets "
        "(Relay connection).",
        permission_classes=[IsMemberOrStaff],
    )
    async def draws(
        self,
        info: Info,
        first: Annotated[int, strawberry.argument(description="Page size, 1 to 100.")] = 20,
        after: Annotated[
            str | None, strawberry.argument(description="Cursor of the last draw already seen.")
        ] = None,
    ) -> relay.Connection[Draw]:
        """Page through the draws (one batch with the viewer), then the viewer's tickets."""
        read = DrawsPage(page_size(first), decode_cursor(after, DRAW_CURSOR))
        reader, (rows, more) = await asyncio.gather(
            draw_viewer(info), info.context.loaders.read(read)
        )
        converted = await as_draws(info, reader, rows)
        nodes = [(d.id, d) for d in converted if d is not None]
        return connection(nodes, more=more, after=after, kind=DRAW_CURSOR)
