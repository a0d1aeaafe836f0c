"""Notification reads: the signed-in member's inbox, newest first (a Relay connection)."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry import relay

from backend.api.context import Info
from backend.api.notifications.types import Notification
from backend.api.permissions import IsMember
from backend.api.types import connection, decode_cursor, page_size
from backend.rewards.notifications.queries import notifications_page
from backend.rewards.queries import MemberByUid

CURSOR = "notification"


@strawberry.type(description="Notification queries.")
class NotificationsQuery:
    @strawberry.field(
        description="Your inbox, newest first (Relay connection); empty until you enrol.",
        permission_classes=[IsMember],
    )
    async def notifications(
        self,
        info: Info,
        first: Annotated[int, strawberry.argument(description="Page size, 1 to 100.")] = 20,
        after: Annotated[
            str | None,
            strawberry.argument(description="Cursor of the last notification already seen."),
        ] = None,
    ) -> relay.Connection[Notification]:
        """Keyset-paginate the member's notifications."""
        size, before_id = page_size(first), decode_cursor(after, CURSOR)
        principal = info.context.principal
        assert principal is not None
        member = await info.context.loaders.read(MemberByUid(principal.uid))
        if member is None:
            return connection([], more=False, after=after, kind=CURSOR)
        async with info.context.loaders.connection() as conn:
            rows, more = await notifications_page(
                conn, member_id=member.id, first=size, before_id=before_id
            )
        return connection(
            [(r.id, Notification.of(r)) for r in rows], more=more, after=after, kind=CURSOR
        )
