"""Marketing reads: saved segments, a segment's preview, and campaigns with their results."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry import relay

from backend.api.context import Info
from backend.api.errors import PublicError
from backend.api.marketing.types import Campaign, Segment, SegmentFilterInput, SegmentPreview, pk_of
from backend.api.permissions import IsStaff, StaffRateLimit
from backend.api.types import connection, decode_cursor, page_size
from backend.rewards.errors import DomainError
from backend.rewards.marketing import queries
from backend.rewards.marketing.segments import SegmentFilter, check_filter, preview, saved_filter

SEGMENT_CURSOR = "segment"
CAMPAIGN_CURSOR = "campaign"
FIRST = strawberry.argument(description="Page size, 1 to 100.")


async def _spec(
    info: Info, segment_id: str | None, filter: SegmentFilterInput | None
) -> SegmentFilter:
    """The filter to count: a saved segment's or the one given (exactly one of them)."""
    if (segment_id is None) == (filter is None):
        raise DomainError(
            "INVALID_FILTER", "Give either `segmentId` or `filter`.", field="segmentId"
        )
    if filter is not None:
        return check_filter(filter.spec())
    pk = pk_of(str(segment_id), "Segment", "UNKNOWN_SEGMENT", "segmentId")
    async with info.context.loaders.connection() as conn:
        spec = await saved_filter(conn, pk)
    if spec is None:
        raise DomainError("UNKNOWN_SEGMENT", "No segment has that id.", field="segmentId")
    return spec


@strawberry.type(description="Marketing queries.")
class MarketingQuery:
    @strawberry.field(
        description="Marketing: the saved segments, newest first (Relay connection).",
        permission_classes=[IsStaff, StaffRateLimit],
    )
    async def segments(
        self,
        info: Info,
        first: Annotated[int, FIRST] = 20,
        after: Annotated[
            str | None, strawberry.argument(description="Cursor of the last segment seen.")
        ] = None,
    ) -> relay.Connection[Segment]:
        """Keyset-paginate the segments."""
        size, before_id = page_size(first), decode_cursor(after, SEGMENT_CURSOR)
        async with info.context.loaders.connection() as conn:
            rows, more = await queries.newest_first(
                conn, queries.SEGMENT, first=size, before_id=before_id
            )
        nodes = [(r.id, Segment.of(r)) for r in rows]
        return connection(nodes, more=more, after=after, kind=SEGMENT_CURSOR)

    @strawberry.field(
        description="Marketing: how many active members a saved segment (`segmentId`) or a "
        "filter not saved yet (`filter`) holds now — give exactly one. A bad filter or an "
        "unknown segment is a BAD_USER_INPUT error naming the field.",
        permission_classes=[IsStaff, StaffRateLimit],
    )
    async def segment_preview(
        self,
        info: Info,
        segment_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="A saved segment.")
        ] = None,
        filter: Annotated[
            SegmentFilterInput | None, strawberry.argument(description="A filter to try.")
        ] = None,
    ) -> SegmentPreview:
        """Count the members in one statement."""
        try:
            spec = await _spec(info, segment_id, filter)
        except DomainError as error:
            raise PublicError("BAD_USER_INPUT", error.message, field=error.field) from None
        async with info.context.loaders.connection() as conn:
            found = await preview(conn, spec, now=info.context.loaders.now)
        return SegmentPreview.of(found)

    @strawberry.field(
        description="Marketing: surprise campaigns, newest first, with their results "
        "(Relay connection; results of a page come from a few grouped queries).",
        permission_classes=[IsStaff, StaffRateLimit],
    )
    async def campaigns(
        self,
        info: Info,
        first: Annotated[int, FIRST] = 20,
        after: Annotated[
            str | None, strawberry.argument(description="Cursor of the last campaign seen.")
        ] = None,
    ) -> relay.Connection[Campaign]:
        """Keyset-paginate the campaigns; their results in one go for the page."""
        size, before_id = page_size(first), decode_cursor(after, CAMPAIGN_CURSOR)
        async with info.context.loaders.connection() as conn:
            rows, more = await queries.newest_first(
                conn, queries.CAMPAIGN, first=size, before_id=before_id
            )
            found = await queries.results(conn, [r.id for r in rows])
        nodes = [(r.id, Campaign.of(r, found[r.id])) for r in rows]
        return connection(nodes, more=more, after=after, kind=CAMPAIGN_CURSOR)
