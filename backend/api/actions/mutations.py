"""Action mutations: a member claims an action, an integration reports a verified one, marketing
configures what each earns."""

from __future__ import annotations

from typing import Annotated

import strawberry

from backend.api.actions.types import (
    ActionKindGql,
    ClaimedActionGql,
    EarningRuleGql,
    ReporterGql,
    VerifiedActionGql,
)
from backend.api.context import Info
from backend.api.errors import payload_error
from backend.api.permissions import (
    ClaimActionRateLimit,
    IntegrationRateLimit,
    IsIntegration,
    IsMember,
    IsStaff,
    StaffRateLimit,
)
from backend.api.units import perform
from backend.rewards.actions.earning import configure_rule
from backend.rewards.actions.rules import ActionClaim, ActionKind, EarningRule, Reporter
from backend.rewards.actions.services import (
    VerifiedReport,
    claim_action,
    record_verified_action,
)

CAPS = ["ACTION_DISABLED", "QUANTITY_TOO_SMALL", "DAILY_CAP_REACHED", "LIFETIME_CAP_REACHED"]

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
        "INTEGRATION_ONLY",
        "PROFILE_INCOMPLETE",
        "STYLE_ID_INCOMPLETE",
        *CAPS,
        "IDEMPOTENCY_CONFLICT",
    ],
    "the action",
)
RecordVerifiedActionError = payload_error(
    "RecordVerifiedAction",
    [
        "INVALID_REFERENCE",
        "INVALID_IDEMPOTENCY_KEY",
        "INVALID_QUANTITY",
        "NOT_VERIFIABLE",
        "INVALID_MEMBER_REFERENCE",
        "MEMBER_NOT_FOUND",
        "MEMBER_INACTIVE",
        *CAPS,
        "IDEMPOTENCY_CONFLICT",
    ],
    "the verified action",
)
ConfigureEarningRuleError = payload_error(
    "ConfigureEarningRule",
    [
        "INVALID_POINTS",
        "INVALID_UNIT",
        "INVALID_CAP",
        "INVALID_STREAK",
        "TOO_VALUABLE_FOR_MEMBERS",
    ],
    "the earning rule",
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


@strawberry.input(description="An action an integration verified, for one member.")
class RecordVerifiedActionInput:
    member_reference: str = strawberry.field(description="The member's card number.")
    action: ActionKindGql = strawberry.field(description="What the member did.")  # type: ignore[valid-type]
    quantity: int = strawberry.field(
        default=1,
        description="How much, 1 to 1,000,000: steps walked for FITNESS_STEPS (points for "
        "every whole `unit` of the rule), items returned for RECYCLING_RETURN, else 1.",
    )
    reference: str = strawberry.field(
        description="Your reference for it (review id, store receipt, fitness day), 1 to 128 "
        "characters; kept on the ledger entry."
    )
    idempotency_key: str = strawberry.field(
        description="Your key for this report (1 to 128 characters): a retry with the same key "
        "awards nothing more and gets the first answer."
    )


@strawberry.type(description="Result of `recordVerifiedAction`.")
class RecordVerifiedActionPayload:
    action: VerifiedActionGql | None = strawberry.field(description="What the report earned.")
    errors: list[RecordVerifiedActionError] = strawberry.field(  # type: ignore[valid-type]
        description="Why it was refused (nothing was recorded); empty on success."
    )


@strawberry.input(description="What an action earns from now on; replaces its whole rule.")
class ConfigureEarningRuleInput:
    action: ActionKindGql = strawberry.field(description="The action.")  # type: ignore[valid-type]
    points: int = strawberry.field(
        description="Points for every `unit`, 0 to 100,000 (PRODUCT_VIEWED stays 0)."
    )
    unit: int = strawberry.field(
        default=1, description="Quantity one award is for, 1 to 1,000,000."
    )
    daily_cap: int | None = strawberry.field(
        default=None, description="Most points a member earns from it in a local day; null: no cap."
    )
    lifetime_cap: int | None = strawberry.field(
        default=None, description="Most points a member ever earns from it; null: no cap."
    )
    reporter: ReporterGql = strawberry.field(  # type: ignore[valid-type]
        description="Who may report it. MEMBER only for low-value actions: `points` and "
        "`streakBonus` at most the program's `member_claim_max_points` (50)."
    )
    streak_days: int | None = strawberry.field(
        default=None, description="Consecutive local days that earn `streakBonus`, 2 to 366."
    )
    streak_bonus: int = strawberry.field(
        default=0, description="Points a streak earns on top (needs `streakDays`)."
    )


@strawberry.type(description="Result of `configureEarningRule`.")
class ConfigureEarningRulePayload:
    rule: EarningRuleGql | None = strawberry.field(description="The rule as it is now.")
    errors: list[ConfigureEarningRuleError] = strawberry.field(  # type: ignore[valid-type]
        description="Why it was refused (nothing was changed); empty on success."
    )


@strawberry.type(description="Action mutations.")
class ActionsMutation:
    @strawberry.mutation(
        description="Report an action you did; it earns its rule's points within the caps "
        "(`earningRules`). PRODUCT_VIEWED records a view of a product category (0 points): "
        "offers in the categories a member looks at rank higher in `offers`. Actions only an "
        "integration may verify are refused (INTEGRATION_ONLY).",
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

    @strawberry.mutation(
        description="Integration: award an action you verified (a review published, a garment "
        "returned in store, steps walked) within its caps.",
        permission_classes=[IsIntegration, IntegrationRateLimit],
    )
    async def record_verified_action(
        self,
        info: Info,
        input: Annotated[RecordVerifiedActionInput, strawberry.argument(description="The report.")],
    ) -> RecordVerifiedActionPayload:
        """Record an integration's verified action."""
        report = VerifiedReport(
            member_reference=input.member_reference.strip(),
            action=ActionKind(input.action),
            reference=input.reference,
            idempotency_key=input.idempotency_key,
            quantity=input.quantity,
        )
        done, errors = await perform(
            info,
            lambda uow, p: record_verified_action(uow, report=report, actor=p.uid),
            RecordVerifiedActionError,
        )
        return RecordVerifiedActionPayload(
            action=VerifiedActionGql.of(done) if done is not None else None, errors=errors
        )

    @strawberry.mutation(
        description="Staff: set what an action earns, its caps and who may report it (audited).",
        permission_classes=[IsStaff, StaffRateLimit],
    )
    async def configure_earning_rule(
        self,
        info: Info,
        input: Annotated[ConfigureEarningRuleInput, strawberry.argument(description="The rule.")],
    ) -> ConfigureEarningRulePayload:
        """Replace an action's earning rule."""
        rule = EarningRule(
            action=ActionKind(input.action),
            points=input.points,
            unit=input.unit,
            daily_cap=input.daily_cap,
            lifetime_cap=input.lifetime_cap,
            reporter=Reporter(input.reporter),
            streak_days=input.streak_days,
            streak_bonus=input.streak_bonus,
        )
        done, errors = await perform(
            info,
            lambda uow, staff: configure_rule(uow, rule=rule, staff=staff),
            ConfigureEarningRuleError,
        )
        if done is not None:  # `earningRules` of this worker shows it at once
            await info.context.services.rules.load()
        return ConfigureEarningRulePayload(
            rule=EarningRuleGql.of(done) if done is not None else None, errors=errors
        )
