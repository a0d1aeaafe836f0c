"""GraphQL types of actions and their earning rules, converted explicitly from the domain's answers."""

from __future__ import annotations

from datetime import datetime

import strawberry

from backend.rewards.actions.rules import ActionKind, ClaimedAction, EarningRule, Reporter
from backend.rewards.actions.services import VerifiedAction

ActionKindGql = strawberry.enum(
    ActionKind,
    name="ActionKind",
    description="An action that is not a purchase. Members report PROFILE_COMPLETED (needs a "
    "display name), STYLE_ID_COMPLETED (needs a completed StyleID; completing it earns it "
    "already), SURVEY_COMPLETED, SOCIAL_SHARE, APP_OPENED (a daily streak) and PRODUCT_VIEWED "
    "(0 points; offers in the viewed category rank higher); integrations verify REVIEW_WRITTEN, "
    "RECYCLING_RETURN and FITNESS_STEPS. `earningRules` says what each earns now.",
)
ReporterGql = strawberry.enum(
    Reporter,
    name="ActionReporter",
    description="Who may report an action: MEMBER (`claimAction`; integrations may too) or "
    "INTEGRATION only (`recordVerifiedAction`).",
)


@strawberry.type(name="ClaimedAction", description="What a claimed action did.")
class ClaimedActionGql:
    action: ActionKindGql = strawberry.field(description="The action.")  # type: ignore[valid-type]
    category: str | None = strawberry.field(description="The product category it was about.")
    sku: str | None = strawberry.field(description="The product's SKU, if one was sent.")
    points_awarded: int = strawberry.field(
        description="Points it earned within the action's caps (0 for product views)."
    )
    bonus_points: int = strawberry.field(
        description="Streak bonus it earned on top (APP_OPENED on every 7th day in a row)."
    )
    streak: int = strawberry.field(
        description="Consecutive local days with this action, today included (0 for product views)."
    )
    views: int = strawberry.field(
        description="For PRODUCT_VIEWED: the member's views of this category so far, this one "
        "included (as of the first answer for a replayed key); 0 for other actions."
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
            bonus_points=done.bonus_points,
            streak=done.streak,
            views=done.views,
            claimed_at=done.claimed_at,
        )


@strawberry.type(name="VerifiedAction", description="What an integration's verified report earned.")
class VerifiedActionGql:
    action: ActionKindGql = strawberry.field(description="The action.")  # type: ignore[valid-type]
    member_reference: str = strawberry.field(description="The member's card number.")
    quantity: int = strawberry.field(description="The quantity reported (steps, items returned).")
    reference: str = strawberry.field(description="The integration's reference (review id, …).")
    points_awarded: int = strawberry.field(description="Points it earned within the caps.")
    bonus_points: int = strawberry.field(description="Streak bonus it earned on top.")
    streak: int = strawberry.field(description="Consecutive local days with this action.")
    recorded_at: datetime = strawberry.field(description="When it was recorded.")

    @classmethod
    def of(cls, done: VerifiedAction) -> VerifiedActionGql:
        """Convert the domain's answer."""
        return cls(**vars(done))


@strawberry.type(
    name="EarningRule",
    description="What an action earns, its caps and who may report it. Caps are in points, "
    "counted in the member's local day (daily) and over their membership (lifetime).",
)
class EarningRuleGql:
    action: ActionKindGql = strawberry.field(description="The action.")  # type: ignore[valid-type]
    points: int = strawberry.field(description="Points for every `unit` reported.")
    unit: int = strawberry.field(
        description="Quantity one award is for (1,000 steps for FITNESS_STEPS, else 1)."
    )
    daily_cap: int | None = strawberry.field(
        description="Most points a member earns from it in one local day; null: no cap."
    )
    lifetime_cap: int | None = strawberry.field(
        description="Most points a member ever earns from it (equal to `points`: once); null: no cap."
    )
    reporter: ReporterGql = strawberry.field(description="Who may report it.")  # type: ignore[valid-type]
    streak_days: int | None = strawberry.field(
        description="Consecutive local days that earn `streakBonus` (every such run); null: none."
    )
    streak_bonus: int = strawberry.field(description="Points a streak earns on top.")

    @classmethod
    def of(cls, rule: EarningRule) -> EarningRuleGql:
        """Convert a rule."""
        return cls(**vars(rule))
