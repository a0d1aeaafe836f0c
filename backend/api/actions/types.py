"""GraphQL types of claimed actions, converted explicitly from the domain's answers."""

from __future__ import annotations

from datetime import datetime

import strawberry

from backend.rewards.actions.rules import ActionKind, ClaimedAction

ActionKindGql = strawberry.enum(
    ActionKind,
    name="ActionKind",
    description="An action a member reports from the app: PRODUCT_VIEWED (a product page was "
    "opened; earns 0 points and makes offers in its category rank higher).",
)


@strawberry.type(name="ClaimedAction", description="What a claimed action did.")
class ClaimedActionGql:
    action: ActionKindGql = strawberry.field(description="The action.")  # type: ignore[valid-type]
    category: str | None = strawberry.field(description="The product category it was about.")
    sku: str | None = strawberry.field(description="The product's SKU, if one was sent.")
    points_awarded: int = strawberry.field(description="Points it earned (0 for product views).")
    views: int = strawberry.field(
        description="For PRODUCT_VIEWED: the member's views of this category so far, this one "
        "included (as of the first answer for a replayed key)."
    )
    claimed_at: datetime = strawberry.field(description="When it was recorded.")

    @classmethod
    def of(cls, done: ClaimedAction) -> ClaimedActionGql:
        """Convert the domain's answer."""
        return cls(
            action=done.action,
            category=done.category,
            sku=done.sku,
            points_awarded=done.points_awarded,
            views=done.views,
            claimed_at=done.claimed_at,
        )
