"""GraphQL types of bonus events, converted explicitly from the program rules."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

import strawberry
from strawberry import relay

from backend.rewards.program import BonusEventRule


@strawberry.enum(description="Which bonus events to list.")
class BonusEventWhen(enum.Enum):
    ACTIVE_NOW = strawberry.enum_value("active_now", description="Running now.")
    COMING = strawberry.enum_value("coming", description="Starting later.")


@strawberry.type(
    name="BonusEvent",
    description="A window in which purchases earn more points (e.g. a double-points weekend). "
    "Overlapping events do not multiply each other: a purchase gets the best one that applies.",
)
class BonusEventGql:
    id: strawberry.ID = strawberry.field(description="Global id of the event.")
    name: str = strawberry.field(description="What the app shows, e.g. `Double points weekend`.")
    multiplier: Decimal = strawberry.field(
        description="Purchase points are multiplied by this (on top of the tier's multiplier)."
    )
    starts_at: datetime = strawberry.field(description="Purchases from this moment count.")
    ends_at: datetime = strawberry.field(description="Purchases before this moment count.")
    categories: list[str] = strawberry.field(
        description="Only lines in these categories earn the bonus; empty: the whole order."
    )
    tiers: list[str] = strawberry.field(
        description="Only members of these tiers earn it (tier codes); empty: everyone."
    )
    segment_limited: bool = strawberry.field(
        description="Whether only the members of a marketing segment earn it."
    )
    active_now: bool = strawberry.field(description="Whether it runs now.")

    @classmethod
    def of(cls, event: BonusEventRule, *, now: datetime) -> BonusEventGql:
        """Convert an event."""
        return cls(
            id=strawberry.ID(relay.to_base64("BonusEvent", event.id)),
            name=event.name,
            multiplier=event.multiplier,
            starts_at=event.starts_at,
            ends_at=event.ends_at,
            categories=list(event.categories),
            tiers=list(event.tiers),
            segment_limited=event.segment is not None,
            active_now=event.starts_at <= now < event.ends_at,
        )
