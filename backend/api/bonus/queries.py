"""Bonus-event reads: the events running now or coming, from the cached program rules."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry import relay

from backend.api.bonus.types import BonusEventGql, BonusEventWhen
from backend.api.context import Info
from backend.api.permissions import IsSignedIn
from backend.api.types import decode_rank_cursor, encode_rank_cursor, page, page_size
from backend.rewards.program import BonusEventRule

CURSOR = "bonus"


def _listed(
    events: tuple[BonusEventRule, ...], when: BonusEventWhen, now: datetime
) -> list[BonusEventRule]:
    """The events running now or coming, by start then id."""
    if when == BonusEventWhen.ACTIVE_NOW:
        found = [e for e in events if e.starts_at <= now < e.ends_at]
    else:
        found = [e for e in events if e.starts_at > now]
    return sorted(found, key=lambda e: (e.starts_at, e.id))


@strawberry.type(description="Bonus-event queries.")
class BonusQuery:
    @strawberry.field(
        description="Bonus events running now or coming, soonest start first (Relay connection).",
        permission_classes=[IsSignedIn],
    )
    async def bonus_events(
        self,
        info: Info,
        when: Annotated[
            BonusEventWhen, strawberry.argument(description="Running now, or coming.")
        ] = BonusEventWhen.ACTIVE_NOW,
        first: Annotated[int, strawberry.argument(description="Page size, 1 to 100.")] = 20,
        after: Annotated[
            str | None, strawberry.argument(description="Cursor of the last event already seen.")
        ] = None,
    ) -> relay.Connection[BonusEventGql]:
        """Page through the events of the cached program rules."""
        size, start = page_size(first), decode_rank_cursor(after, CURSOR)
        loaders = info.context.loaders
        events = _listed((await loaders.rules()).bonus_events, when, loaders.now)
        if start is not None:
            events = [e for e in events if (int(e.starts_at.timestamp()), e.id) > start]
        edges = [
            relay.Edge(
                cursor=encode_rank_cursor(int(e.starts_at.timestamp()), e.id, CURSOR),
                node=BonusEventGql.of(e, now=loaders.now),
            )
            for e in events[:size]
        ]
        return page(edges, len(events) > size, after)
