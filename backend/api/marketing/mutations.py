"""Marketing mutations: save segments, send surprises. One audited unit of work each."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry

from backend.api.context import Info
from backend.api.errors import payload_error
from backend.api.marketing.types import (
    Campaign,
    Segment,
    SegmentFilterInput,
    SurpriseRewardKind,
    campaign_answer,
    pk_of,
)
from backend.api.permissions import IsStaff, StaffRateLimit
from backend.api.units import perform
from backend.rewards.marketing.campaigns import SurpriseInput, send_surprise
from backend.rewards.marketing.rules import Reward, RewardKind
from backend.rewards.marketing.services import save_segment
from backend.rewards.ports import Principal
from backend.rewards.uow import UnitOfWork

SaveSegmentError = payload_error(
    "SaveSegment", ["UNKNOWN_SEGMENT", "INVALID_NAME", "INVALID_FILTER"], "the segment"
)
SendSurpriseError = payload_error(
    "SendSurprise",
    [
        "UNKNOWN_SEGMENT",
        "INVALID_NAME",
        "INVALID_MESSAGE",
        "INVALID_REWARD",
        "INVALID_POINTS",
        "UNKNOWN_OFFER",
        "NOT_A_GIFT",
        "WRONG_OFFER_KIND",
        "INVALID_HOLDOUT",
        "SEND_AT_IN_PAST",
        "INVALID_SEND_AT",
        "INVALID_IDEMPOTENCY_KEY",
        "IDEMPOTENCY_CONFLICT",
    ],
    "the surprise",
)


@strawberry.input(description="A new segment, or new name and filter for a saved one.")
class SaveSegmentInput:
    segment_id: strawberry.ID | None = strawberry.field(
        default=None, description="The segment to change; leave out to create one."
    )
    name: str = strawberry.field(description="What marketing calls it (3 to 80 characters).")
    filter: SegmentFilterInput = strawberry.field(description="Who is in it.")


@strawberry.input(
    description="What each targeted member gets: POINTS with `points` (1 to 100,000), or OFFER "
    "/ EXTRA_SPINS with `offerId` (a gift offer, 0 points; EXTRA_SPINS needs an EXTRA_SPIN offer)."
)
class SurpriseRewardInput:
    kind: SurpriseRewardKind = strawberry.field(description="What it gives.")  # type: ignore[valid-type]
    points: int | None = strawberry.field(default=None, description="Points per member.")
    offer_id: strawberry.ID | None = strawberry.field(
        default=None, description="The gift offer whose voucher each member gets."
    )

    def reward(self) -> Reward:
        """The domain's reward (the offer id parsed; checked by the use case)."""
        offer = self.offer_id
        offer_pk = (
            None if offer is None else pk_of(str(offer), "Offer", "UNKNOWN_OFFER", "reward.offerId")
        )
        return Reward(RewardKind(self.kind), self.points, offer_pk)


@strawberry.input(
    description="A surprise for the members of a saved segment: a reward and a message, now or "
    "at `sendAt`, with an optional random holdout that gets nothing (to measure uplift)."
)
class SendSurpriseInput:
    segment_id: strawberry.ID = strawberry.field(description="The saved segment.")
    name: str = strawberry.field(description="What marketing calls it (3 to 80 characters).")
    reward: SurpriseRewardInput = strawberry.field(description="What each member gets.")
    message: str = strawberry.field(
        description="What members read in the inbox and the push (1 to 500 characters)."
    )
    send_at: datetime | None = strawberry.field(
        default=None,
        description="When to send (with an offset; at most a year ahead); leave out to send now.",
    )
    holdout_percent: int = strawberry.field(
        default=0, description="Share of the segment (0 to 50 percent) kept out, chosen at random."
    )
    idempotency_key: str = strawberry.field(
        description="Your key for this surprise (up to 128 characters): a retry with the same "
        "key answers the first campaign and sends nothing more."
    )


@strawberry.type(description="Result of `saveSegment`.")
class SaveSegmentPayload:
    segment: Segment | None = strawberry.field(description="The segment as saved.")
    errors: list[SaveSegmentError] = strawberry.field(  # type: ignore[valid-type]
        description="Why it was refused; empty on success."
    )


@strawberry.type(description="Result of `sendSurprise`.")
class SendSurprisePayload:
    campaign: Campaign | None = strawberry.field(
        description="The campaign; a replay gets this same campaign, with its results so far."
    )
    errors: list[SendSurpriseError] = strawberry.field(  # type: ignore[valid-type]
        description="Why it was refused (nothing scheduled); empty on success."
    )


@strawberry.type(description="Marketing mutations.")
class MarketingMutation:
    @strawberry.mutation(
        description="Marketing: save a segment, a filter over members (audited).",
        permission_classes=[IsStaff, StaffRateLimit],
    )
    async def save_segment(
        self,
        info: Info,
        input: Annotated[SaveSegmentInput, strawberry.argument(description="The segment.")],
    ) -> SaveSegmentPayload:
        """Create or change a segment."""

        async def use_case(uow: UnitOfWork, staff: Principal) -> Any:
            """Parse the ids inside the attempt, so a bad one is a typed error too."""
            segment_id = input.segment_id
            pk = (
                None
                if segment_id is None
                else pk_of(str(segment_id), "Segment", "UNKNOWN_SEGMENT", "segmentId")
            )
            spec = input.filter.spec()
            return await save_segment(uow, segment_id=pk, name=input.name, spec=spec, staff=staff)

        row, errors = await perform(info, use_case, SaveSegmentError)
        return SaveSegmentPayload(segment=Segment.of(row) if row else None, errors=errors)

    @strawberry.mutation(
        description="Marketing: send a surprise to a saved segment, now or at `sendAt` "
        "(audited). Each member gets the reward once and a marketing push (consent, quiet "
        "hours and the weekly cap apply); a holdout gets nothing.",
        permission_classes=[IsStaff, StaffRateLimit],
    )
    async def send_surprise(
        self,
        info: Info,
        input: Annotated[SendSurpriseInput, strawberry.argument(description="The surprise.")],
    ) -> SendSurprisePayload:
        """Schedule a campaign; the campaign job sends it."""

        async def use_case(uow: UnitOfWork, staff: Principal) -> Any:
            """Parse the ids inside the attempt, so a bad one is a typed error too."""
            data = SurpriseInput(
                segment_id=pk_of(str(input.segment_id), "Segment", "UNKNOWN_SEGMENT", "segmentId"),
                name=input.name,
                reward=input.reward.reward(),
                message=input.message,
                send_at=input.send_at,
                holdout_percent=input.holdout_percent,
                idempotency_key=input.idempotency_key,
            )
            return await send_surprise(uow, data=data, staff=staff)

        row, errors = await perform(info, use_case, SendSurpriseError)
        campaign = await campaign_answer(info, row.id) if row is not None else None
        return SendSurprisePayload(campaign=campaign, errors=errors)
