"""Bonus-event mutations: marketing creates an event (audited)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

import strawberry

from backend.api.bonus.types import BonusEventGql
from backend.api.context import Info
from backend.api.errors import payload_error
from backend.api.permissions import IsStaff, StaffRateLimit
from backend.api.units import perform
from backend.rewards.bonus.rules import BonusEventDraft
from backend.rewards.bonus.services import create_bonus_event

CreateBonusEventError = payload_error(
    "CreateBonusEvent",
    [
        "INVALID_NAME",
        "INVALID_MULTIPLIER",
        "INVALID_WINDOW",
        "TOO_MANY_CODES",
        "UNKNOWN_CATEGORY",
        "UNKNOWN_TIER",
    ],
    "the bonus event",
)


@strawberry.input(
    description="A bonus event. A limit to a member segment comes when segments exist."
)
class CreateBonusEventInput:
    name: str = strawberry.field(description="What the app shows, 1 to 80 characters.")
    multiplier: Decimal = strawberry.field(
        description="Above 1 and at most 10, up to 3 decimals (2 doubles the points)."
    )
    starts_at: datetime = strawberry.field(
        description="Purchases that occur from this moment count (without an offset: UTC)."
    )
    ends_at: datetime = strawberry.field(
        description="Purchases that occur before this moment count; after `startsAt`, at most "
        "92 days later, not in the past."
    )
    categories: list[str] = strawberry.field(
        default_factory=list,
        description="Only lines in these categories (codes from `styleOptions`, at most 50) "
        "earn the bonus; empty: the whole order.",
    )
    tiers: list[str] = strawberry.field(
        default_factory=list,
        description="Only members of these tiers (codes from `tiers`) earn it; empty: everyone.",
    )


@strawberry.type(description="Result of `createBonusEvent`.")
class CreateBonusEventPayload:
    bonus_event: BonusEventGql | None = strawberry.field(description="The event created.")
    errors: list[CreateBonusEventError] = strawberry.field(  # type: ignore[valid-type]
        description="Why it was refused (nothing was created); empty on success."
    )


@strawberry.type(description="Bonus-event mutations.")
class BonusMutation:
    @strawberry.mutation(
        description="Staff: multiply purchase points in a window, optionally only for some "
        "categories or tiers (audited). Purchases count by when they occurred (`occurredAt`); "
        "overlapping events give the best multiplier, not the product.",
        permission_classes=[IsStaff, StaffRateLimit],
    )
    async def create_bonus_event(
        self,
        info: Info,
        input: Annotated[CreateBonusEventInput, strawberry.argument(description="The event.")],
    ) -> CreateBonusEventPayload:
        """Create a bonus event."""
        draft = BonusEventDraft(
            name=input.name,
            multiplier=input.multiplier,
            starts_at=input.starts_at,
            ends_at=input.ends_at,
            categories=tuple(input.categories),
            tiers=tuple(input.tiers),
        )
        event, errors = await perform(
            info,
            lambda uow, staff: create_bonus_event(uow, draft=draft, staff=staff),
            CreateBonusEventError,
        )
        if event is not None:  # this worker lists it at once (others within the cache's TTL)
            await info.context.services.rules.load()
        now = info.context.loaders.now
        return CreateBonusEventPayload(
            bonus_event=BonusEventGql.of(event, now=now) if event else None, errors=errors
        )
