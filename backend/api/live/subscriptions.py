"""The `memberEvents` subscription: the signed-in member's points, tier and inbox, as they change."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator

import strawberry

from backend.api.context import Info, Services
from backend.api.errors import PublicError
from backend.api.live.types import MemberEvent, event_of
from backend.api.permissions import IsMember, SubscribeRateLimit
from backend.rewards.queries import MemberByUid


@strawberry.type(
    description="Live updates, over WebSocket (graphql-transport-ws) at `/graphql`; sign in with "
    'the `connection_init` payload `{"Authorization": "Bearer <ID token>"}`.'
)
class Subscription:
    @strawberry.subscription(
        description="Your points, tier and inbox as they change: one event per change, sent once "
        "the change is committed (a change that fails sends nothing). Events only tell what "
        "changed since you subscribed: read `me` after (re)connecting.",
        permission_classes=[IsMember, SubscribeRateLimit],
    )
    async def member_events(self, info: Info) -> AsyncIterator[MemberEvent]:
        """Find the caller's membership (one short read, not cached), then stream its events."""
        principal = info.context.principal
        assert principal is not None
        services = info.context.services
        member = await services.database.read(MemberByUid(principal.uid).run)
        if member is None:
            raise PublicError("NOT_ENROLLED", "Enrol before subscribing to your events.")
        return _events(services, member.id)


async def _events(services: Services, member_id: int) -> AsyncGenerator[MemberEvent, None]:
    """The member's events as GraphQL values; between events nothing but the queue is held."""
    async with services.events.subscribe(member_id) as events:
        async for event in events:
            yield event_of(event, await services.rules.get())
