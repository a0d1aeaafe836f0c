"""Club reads: the open clubs with the member's status (a Relay connection)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import strawberry
from strawberry import relay

from backend.api.clubs.types import Club, viewer
from backend.api.context import Info
from backend.api.permissions import IsMember
from backend.api.types import connection, decode_cursor, page_size
from backend.rewards.clubs.queries import ClubsPage

CURSOR = "club"


@strawberry.type(description="Club queries.")
class ClubsQuery:
    @strawberry.field(
        description="The open clubs, oldest first, each with your status, price and perks "
        "(Relay connection).",
        permission_classes=[IsMember],
    )
    async def clubs(
        self,
        info: Info,
        first: Annotated[int, strawberry.argument(description="Page size, 1 to 100.")] = 20,
        after: Annotated[
            str | None, strawberry.argument(description="Cursor of the last club already seen.")
        ] = None,
    ) -> relay.Connection[Club]:
        """Keyset-paginate the open clubs (one batch with the viewer); statuses load in one
        batch for the page."""
        page = ClubsPage(page_size(first), decode_cursor(after, CURSOR))
        reader, (rows, more) = await asyncio.gather(viewer(info), info.context.loaders.read(page))
        nodes = [(r.id, Club.of(r, reader)) for r in rows]
        return connection(nodes, more=more, after=after, kind=CURSOR)
