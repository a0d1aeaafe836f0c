"""Action mutations: a member reports an action (a product view for now)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from backend.api.actions.types import ActionKindGql, ClaimedActionGql
from backend.api.context import Info
from backend.api.errors import payload_error
from backend.api.permissions import ClaimActionRateLimit, IsMember
from backend.api.units import perform
from backend.rewards.actions.rules import ActionClaim, ActionKind
from backend.rewards.actions.services import claim_action

ClaimActionError = payload_error(
    "ClaimAction",
    [
        "NOT_ENROLLED",
        "MEMBER_INACTIVE",
        "CATEGORY_REQUIRED",
        "INVALID_CATEGORY",
        "UNKNOWN_CATEGORY",
        "INVALID_SKU",
        "INVALID_IDEMPOTENCY_KEY",
        "IDEMPOTENCY_CONFLICT",
    ],
    "the action",
)


@strawberry.input(description="An action the signed-in member reports.")
class ClaimActionInput:
    action: ActionKindGql = strawberry.field(description="What the member did.")  # type: ignore[valid-type]
    category: str | None = strawberry.field(
        default=None,
        description="The product's category, a category code from `styleOptions` (required "
        "for PRODUCT_VIEWED).",
    )
    sku: str | None = strawberry.field(
        default=None, description="The product's SKU (1 to 64 characters), if known."
    )
    idempotency_key: str | None = strawberry.field(
        default=None,
        description="Optional client key (1 to 128 characters): a retry with the same key "
        "records nothing more and gets the first answer.",
    )


@strawberry.type(description="Result of `claimAction`.")
class ClaimActionPayload:
    action: ClaimedActionGql | None = strawberry.field(description="What the action did.")
    errors: list[ClaimActionError] = strawberry.field(  # type: ignore[valid-type]
        description="Why it was refused (nothing was recorded); empty on success."
    )


@strawberry.type(description="Action mutations.")
class ActionsMutation:
    @strawberry.mutation(
        description="Report an action. PRODUCT_VIEWED records a view of a product category (0 "
        "points): offers in the categories a member looks at rank higher in `offers`.",
        permission_classes=[IsMember, ClaimActionRateLimit],
    )
    async def claim_action(
        self,
        info: Info,
        input: Annotated[ClaimActionInput, strawberry.argument(description="The action.")],
    ) -> ClaimActionPayload:
        """Claim an action for the signed-in member."""
        claim = ActionClaim(
            action=ActionKind(input.action),
            category=input.category,
            sku=input.sku,
            idempotency_key=input.idempotency_key,
        )
        done, errors = await perform(
            info,
            lambda uow, member: claim_action(uow, uid=member.uid, claim=claim),
            ClaimActionError,
        )
        return ClaimActionPayload(
            action=ClaimedActionGql.of(done) if done is not None else None, errors=errors
        )
