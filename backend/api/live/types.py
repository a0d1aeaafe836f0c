"""Live event types: what `memberEvents` sends, built from the event alone (no read per event)."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry import relay

from backend.api.notifications.types import NotificationKind
from backend.api.types import Tier
from backend.rewards import events
from backend.rewards.notifications.rules import Kind
from backend.rewards.program import ProgramRules


@strawberry.type(description="The member's points moved (a purchase, a refund, a redemption, …).")
class PointsChanged:
    balance: int = strawberry.field(description="Spendable points after the change.")
    pending: int = strawberry.field(
        description="Points still in their return window after the change."
    )


@strawberry.type(description="The member moved to another tier.")
class TierChanged:
    tier: Tier = strawberry.field(description="The tier the member has now.")
    previous: Tier = strawberry.field(description="The tier the member had before.")


@strawberry.type(
    description="A notification landed in the member's inbox (the push, if any, follows)."
)
class NotificationReceived:
    id: strawberry.ID = strawberry.field(
        description="The notification's global id (as in `notifications`, and the push's "
        "`notificationId`)."
    )
    kind: NotificationKind = strawberry.field(description="What it is about.")  # type: ignore[valid-type]
    title: str = strawberry.field(description="Title, in the member's language.")
    body: str = strawberry.field(description="Text, in the member's language.")
    deep_link: str = strawberry.field(description="Where the app goes when it is opened.")


MemberEvent = Annotated[
    PointsChanged | TierChanged | NotificationReceived,
    strawberry.union(
        "MemberEvent", description="Something that just happened to the signed-in member."
    ),
]


def event_of(event: events.MemberEvent, rules: ProgramRules) -> MemberEvent:
    """Convert a committed domain event (tiers are named from the shared program rules)."""
    match event:
        case events.PointsChanged():
            return PointsChanged(balance=event.balance, pending=event.pending)
        case events.TierChanged():
            return TierChanged(
                tier=Tier.of(rules.tier(event.new_tier)),
                previous=Tier.of(rules.tier(event.old_tier)),
            )
        case events.NotificationReceived():
            return NotificationReceived(
                id=strawberry.ID(str(relay.GlobalID("Notification", str(event.notification_id)))),
                kind=Kind(event.kind),
                title=event.title,
                body=event.body,
                deep_link=event.deep_link,
            )
