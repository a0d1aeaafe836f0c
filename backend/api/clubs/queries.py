"""Club reads: the open clubs with the member's status (a Relay connection)."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry import relay

from backend.api.clubs.types import Club, viewer
from backend.api.context import Info
from backend.api.errors import PublicError
from backend.api.permissions import IsMember
from backend.api.types import MAX_PAGE, decode_cursor, encode_cursor
from backend.rewards.clubs.queries import clubs_page

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
        """Keyset-paginate the open clubs; statuses load in one batch for the page."""
        if not 1 <= first <= MAX_PAGE:
            raise PublicError("BAD_USER_INPUT", f"`first` must be between 1 and {MAX_PAGE}.")
        after_id = decode_cursor(after, CURSOR)
        reader = await viewer(info)
        async with info.context.loaders.connection() as conn:
            rows, more = await clubs_page(conn, first=first, after_id=after_id)
        edges = [
            relay.Edge(cursor=encode_cursor(r.id, CURSOR), node=Club.of(r, reader)) for r in rows
        ]
        return relay.Connection(
            edges=edges,
            page_info=relay.PageInfo(
                has_next_page=more,
                has_previous_page=after is not None,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
        )
