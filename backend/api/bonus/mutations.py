"""Bonus-event mutations: marketing creates an event (audited)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

import strawberry

from backend.api.bonus.types import BonusEventGql
from backend.api.context import Info
from backend.api.errors import payload_error
from backend.api.marketing.types import pk_of
from backend.api.permissions import IsStaff, StaffRateLimit
from backend.api.units import perform
from backend.rewards.bonus.rules import BonusEventDraft
from backend.rewards.bonus.services import create_bonus_event
from backend.rewards.ports import Principal
from backend.rewards.program import BonusEventRule
from backend.rewards.uow import UnitOfWork

CreateBonusEventError = payload_error(
    "CreateBonusEvent",
    [
        "INVALID_NAME",
        "INVALID_MULTIPLIER",
        "INVALID_WINDOW",
        "TOO_MANY_CODES",
        "UNKNOWN_CATEGORY",
        "UNKNOWN_TIER",
        "UNKNOWN_SEGMENT",
    ],
    "the bonus event",
)


@strawberry.input(description="A bonus event.")
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
    segment_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Only members in this saved segment (as of the purchase) earn it. The "
        "segment's filter is copied now: later edits of the segment do not change the event.",
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
        "categories, tiers or a segment (audited). Purchases count by when they occurred (`occurredAt`); "
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
        segment_id = input.segment_id

        async def use_case(uow: UnitOfWork, staff: Principal) -> BonusEventRule:
            """Parse the segment id inside the attempt, so a bad one is a typed error too."""
            pk = (
                None
                if segment_id is None
                else pk_of(str(segment_id), "Segment", "UNKNOWN_SEGMENT", "segmentId")
            )
            return await create_bonus_event(uow, draft=draft, segment_id=pk, staff=staff)

        event, errors = await perform(info, use_case, CreateBonusEventError)
        if event is not None:  # this worker lists it at once (others within the cache's TTL)
            await info.context.services.rules.load()
        now = info.context.loaders.now
        return CreateBonusEventPayload(
            bonus_event=BonusEventGql.of(event, now=now) if event else None, errors=errors
        )
