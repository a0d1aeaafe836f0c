"""Mutations: parse input, run one use case in one unit of work, return a payload with typed errors."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

import strawberry

from backend.api.actions.mutations import ActionsMutation
from backend.api.bonus.mutations import BonusMutation
from backend.api.clubs.mutations import ClubsMutation
from backend.api.context import Info
from backend.api.errors import payload_error
from backend.api.games.board.mutations import BoardMutation
from backend.api.games.hunts.mutations import HuntsMutation
from backend.api.games.wheel.mutations import WheelMutation
from backend.api.marketing.mutations import MarketingMutation
from backend.api.notifications.mutations import NotificationsMutation
from backend.api.offers.mutations import OffersMutation
from backend.api.permissions import (
    EnrollRateLimit,
    IntegrationRateLimit,
    IsIntegration,
    IsMember,
    IsStaff,
    StaffRateLimit,
)
from backend.api.profile.mutations import ProfileMutation
from backend.api.types import LedgerEntry, Member, Purchase, parse_global_id
from backend.api.units import perform
from backend.rewards import queries
from backend.rewards.errors import DomainError
from backend.rewards.marketing.services import Adjustment, adjust_points
from backend.rewards.members.lookup import member_id_by_card
from backend.rewards.members.services import EnrollInput, ProfileChanges, enroll, update_profile
from backend.rewards.ports import Principal
from backend.rewards.purchases.rules import Line, PurchaseInput, RefundInput
from backend.rewards.purchases.services import PurchaseSnapshot, record_purchase, refund_purchase
from backend.rewards.uow import UnitOfWork

EnrollError = payload_error(
    "Enroll",
    [
        "BIRTH_DATE_REQUIRED",
        "AGE_RESTRICTED",
        "INVALID_BIRTH_DATE",
        "INVALID_TIME_ZONE",
        "INVALID_LOCALE",
        "INVALID_DISPLAY_NAME",
        "INVALID_REFERRAL_CODE",
        "SELF_REFERRAL",
        "ALREADY_MEMBER",
        "REFERRAL_CODE_ALREADY_USED",
        "INVALID_ACCOUNT",
    ],
    "enrolment",
)
UpdateProfileError = payload_error(
    "UpdateProfile",
    ["NOT_ENROLLED", "INVALID_TIME_ZONE", "INVALID_LOCALE", "INVALID_DISPLAY_NAME"],
    "the profile change",
)
RecordPurchaseError = payload_error(
    "RecordPurchase",
    [
        "INVALID_ORDER_ID",
        "INVALID_CHANNEL",
        "INVALID_AMOUNT",
        "UNKNOWN_CURRENCY",
        "INVALID_TIME",
        "INVALID_LINE",
        "INVALID_MEMBER_REFERENCE",
        "MEMBER_NOT_FOUND",
        "MEMBER_INACTIVE",
        "IDEMPOTENCY_CONFLICT",
    ],
    "the purchase",
)
RefundPurchaseError = payload_error(
    "RefundPurchase",
    [
        "INVALID_AMOUNT",
        "INVALID_ORDER_ID",
        "INVALID_REFUND_ID",
        "PURCHASE_NOT_FOUND",
        "CURRENCY_MISMATCH",
        "REFUND_EXCEEDS_PURCHASE",
        "IDEMPOTENCY_CONFLICT",
    ],
    "the refund",
)
AdjustPointsError = payload_error(
    "AdjustPoints",
    [
        "INVALID_ID",
        "INVALID_MEMBER_REFERENCE",
        "MEMBER_REQUIRED",
        "AMBIGUOUS_MEMBER",
        "MEMBER_NOT_FOUND",
        "REASON_REQUIRED",
        "INVALID_POINTS",
        "INVALID_IDEMPOTENCY_KEY",
        "INSUFFICIENT_POINTS",
        "IDEMPOTENCY_CONFLICT",
    ],
    "the adjustment",
)


async def _member_of(info: Info, member_id: int) -> Member:
    """Read a member afresh for a payload, after the commit."""
    async with info.context.loaders.connection() as conn:
        (row,) = await queries.by_ids(conn, queries.MEMBER, [member_id])
    return Member.of(row)


@strawberry.input(name="EnrollInput", description="What a new member tells us on first sign-in.")
class EnrollInputGql:
    birth_date: date | None = strawberry.field(description="Required; members must be 18+.")
    display_name: str | None = strawberry.field(default=None, description="Name shown in the app.")
    locale: str = strawberry.field(default="en", description="Language tag, e.g. `nl-NL`.")
    time_zone: str = strawberry.field(default="UTC", description="IANA time zone.")
    marketing_consent: bool = strawberry.field(
        default=False, description="Opt in to marketing pushes."
    )
    referral_code: str | None = strawberry.field(
        default=None,
        description="A friend's referral code: for new members only (SELF_REFERRAL, "
        "ALREADY_MEMBER, REFERRAL_CODE_ALREADY_USED refuse it); an enrolled member retrying "
        "with the code they joined with gets their membership back.",
    )


@strawberry.type(description="Result of `enroll`.")
class EnrollPayload:
    member: Member | None = strawberry.field(description="The membership, new or existing.")
    errors: list[EnrollError] = strawberry.field(
        description="Why it was refused; empty on success."
    )  # type: ignore[valid-type]


@strawberry.input(description="Profile fields to change; omitted fields stay as they are.")
class UpdateProfileInput:
    display_name: str | None = strawberry.field(default=None, description="Name shown in the app.")
    locale: str | None = strawberry.field(default=None, description="Language tag.")
    time_zone: str | None = strawberry.field(default=None, description="IANA time zone.")
    marketing_consent: bool | None = strawberry.field(
        default=None, description="Marketing pushes on or off."
    )
    leaderboard_opt_in: bool | None = strawberry.field(
        default=None,
        description="Show your display name on the leaderboard (true) or an anonymous name (false).",
    )


@strawberry.type(description="Result of `updateProfile`.")
class UpdateProfilePayload:
    member: Member | None = strawberry.field(description="The updated membership.")
    errors: list[UpdateProfileError] = strawberry.field(
        description="Why it was refused; empty on success."
    )  # type: ignore[valid-type]


@strawberry.input(description="One line of an order.")
class PurchaseLineInput:
    sku: str = strawberry.field(description="Stock keeping unit.")
    category: str | None = strawberry.field(default=None, description="Product category.")
    unit_price: Decimal = strawberry.field(description="Price of one unit.")
    quantity: int = strawberry.field(default=1, description="Units bought.")


@strawberry.input(
    description="An order to credit points for. Replaying the same order id credits nothing more."
)
class RecordPurchaseInput:
    order_id: str = strawberry.field(description="Unique order id; the idempotency key.")
    member_reference: str = strawberry.field(description="The member's card number.")
    amount: Decimal = strawberry.field(description="Amount paid, in `currency`.")
    currency: str = strawberry.field(description="ISO 4217 code, e.g. `EUR`.")
    channel: str = strawberry.field(description="Store id or online channel.")
    occurred_at: datetime | None = strawberry.field(
        default=None,
        description="When the purchase happened; omit it for a sale happening now (the moment "
        "the service records it). A replay must omit it too.",
    )
    lines: list[PurchaseLineInput] = strawberry.field(
        default_factory=list, description="Order lines."
    )


@strawberry.type(description="Result of `recordPurchase`.")
class RecordPurchasePayload:
    purchase: Purchase | None = strawberry.field(
        description="The purchase as recorded; a replay gets this same first answer."
    )
    errors: list[RecordPurchaseError] = strawberry.field(
        description="Why it was refused; empty on success."
    )  # type: ignore[valid-type]


@strawberry.input(
    description="A full or partial refund. Replaying the same refund id reverses nothing more."
)
class RefundPurchaseInput:
    order_id: str = strawberry.field(description="The refunded order.")
    refund_id: str = strawberry.field(description="Unique id of this refund; the idempotency key.")
    amount: Decimal = strawberry.field(description="Amount refunded now.")
    currency: str = strawberry.field(description="Currency of the order.")


@strawberry.type(description="Result of `refundPurchase`.")
class RefundPurchasePayload:
    purchase: Purchase | None = strawberry.field(
        description="The purchase as this refund left it; a replay gets this same first answer."
    )
    errors: list[RefundPurchaseError] = strawberry.field(
        description="Why it was refused; empty on success."
    )  # type: ignore[valid-type]


@strawberry.input(
    description="A staff correction of a member's points, audited. Name the member by exactly one "
    "of `memberId` and `memberReference`."
)
class AdjustPointsInput:
    member_id: strawberry.ID | None = strawberry.field(
        default=None, description="Global id of the member."
    )
    member_reference: str | None = strawberry.field(
        default=None, description="The member's card number (spaces allowed), as staff see it."
    )
    points: int = strawberry.field(description="Points to add (positive) or remove (negative).")
    reason: str = strawberry.field(description="Why; kept in the audit trail.")
    idempotency_key: str = strawberry.field(description="Client key that makes retries safe.")


@strawberry.type(description="Result of `adjustPoints`.")
class AdjustPointsPayload:
    entry: LedgerEntry | None = strawberry.field(description="The adjustment entry written.")
    member: Member | None = strawberry.field(
        description="The member as it is now (after the adjustment)."
    )
    errors: list[AdjustPointsError] = strawberry.field(
        description="Why it was refused; empty on success."
    )  # type: ignore[valid-type]


def _member_pk(global_id: str) -> int:
    """Decode a Member global id, range-checked, or refuse it as a typed error."""
    parsed = parse_global_id(global_id)
    if parsed is None or parsed[0] != "Member":
        raise DomainError("INVALID_ID", "That is not a member id.", field="memberId")
    return parsed[1]


async def _adjusted_member(uow: UnitOfWork, input: AdjustPointsInput) -> int:
    """The member an adjustment names, by global id or by card number (exactly one)."""
    if input.member_id is None and input.member_reference is None:
        raise DomainError(
            "MEMBER_REQUIRED", "Name the member by memberId or memberReference.", field="memberId"
        )
    if input.member_id is not None and input.member_reference is not None:
        raise DomainError(
            "AMBIGUOUS_MEMBER",
            "Give memberId or memberReference, not both.",
            field="memberReference",
        )
    if input.member_reference is not None:
        return await member_id_by_card(uow, input.member_reference)
    return _member_pk(str(input.member_id))


def _purchase_answer(answer: PurchaseSnapshot | None) -> Purchase | None:
    """The purchase a write (or its replay) answered with, with the buyer's card number."""
    return Purchase.of(answer, card_number=answer.member_reference) if answer else None


def _purchase_input(input: RecordPurchaseInput) -> PurchaseInput:
    """Convert the GraphQL order to the domain's."""
    return PurchaseInput(
        order_id=input.order_id,
        card_number=input.member_reference.strip(),
        amount=input.amount,
        currency=input.currency,
        channel=input.channel,
        occurred_at=input.occurred_at,  # the domain reads a time without offset as UTC
        lines=tuple(Line(ln.sku, ln.category, ln.unit_price, ln.quantity) for ln in input.lines),
    )


@strawberry.type(description="Everything that changes state. Each mutation is one transaction.")
class Mutation(
    ProfileMutation,
    ClubsMutation,
    OffersMutation,
    ActionsMutation,
    NotificationsMutation,
    HuntsMutation,
    BoardMutation,
    WheelMutation,
    MarketingMutation,
    BonusMutation,
):
    @strawberry.mutation(
        description="Become a member (first sign-in). Idempotent per user.",
        permission_classes=[IsMember, EnrollRateLimit],
    )
    async def enroll(
        self,
        info: Info,
        input: Annotated[EnrollInputGql, strawberry.argument(description="The request.")],
    ) -> EnrollPayload:
        """Enrol the signed-in Firebase user."""
        data = EnrollInput(**vars(input))
        row, errors = await perform(
            info, lambda uow, p: enroll(uow, uid=p.uid, email=p.email, data=data), EnrollError
        )
        return EnrollPayload(member=await _member_of(info, row.id) if row else None, errors=errors)

    @strawberry.mutation(description="Change your own profile.", permission_classes=[IsMember])
    async def update_profile(
        self,
        info: Info,
        input: Annotated[UpdateProfileInput, strawberry.argument(description="The request.")],
    ) -> UpdateProfilePayload:
        """Update the signed-in member's profile."""
        changes = ProfileChanges(**vars(input))
        row, errors = await perform(
            info, lambda uow, p: update_profile(uow, uid=p.uid, changes=changes), UpdateProfileError
        )
        member = await _member_of(info, row.id) if row else None
        return UpdateProfilePayload(member=member, errors=errors)

    @strawberry.mutation(
        description="Integration: credit points for an order.",
        permission_classes=[IsIntegration, IntegrationRateLimit],
    )
    async def record_purchase(
        self,
        info: Info,
        input: Annotated[RecordPurchaseInput, strawberry.argument(description="The order.")],
    ) -> RecordPurchasePayload:
        """Record an order reported by a store system."""
        data = _purchase_input(input)
        row, errors = await perform(
            info, lambda uow, p: record_purchase(uow, data=data, actor=p.uid), RecordPurchaseError
        )
        return RecordPurchasePayload(purchase=_purchase_answer(row), errors=errors)

    @strawberry.mutation(
        description="Integration: refund an order, fully or partly.",
        permission_classes=[IsIntegration, IntegrationRateLimit],
    )
    async def refund_purchase(
        self,
        info: Info,
        input: Annotated[RefundPurchaseInput, strawberry.argument(description="The refund.")],
    ) -> RefundPurchasePayload:
        """Reverse the points of a refunded share of an order."""
        data = RefundInput(input.order_id, input.refund_id, input.amount, input.currency)
        row, errors = await perform(
            info, lambda uow, p: refund_purchase(uow, data=data, actor=p.uid), RefundPurchaseError
        )
        return RefundPurchasePayload(purchase=_purchase_answer(row), errors=errors)

    @strawberry.mutation(
        description="Staff: add or remove points by hand, with a reason (audited).",
        permission_classes=[IsStaff, StaffRateLimit],
    )
    async def adjust_points(
        self,
        info: Info,
        input: Annotated[AdjustPointsInput, strawberry.argument(description="The request.")],
    ) -> AdjustPointsPayload:
        """Adjust a member's points."""

        async def use_case(uow: UnitOfWork, staff: Principal) -> Any:
            """Find the member inside the attempt, so a bad reference is a typed error too."""
            data = Adjustment(
                member_id=await _adjusted_member(uow, input),
                points=input.points,
                reason=input.reason,
                idempotency_key=input.idempotency_key,
            )
            return await adjust_points(uow, data=data, staff=staff)

        entry, errors = await perform(info, use_case, AdjustPointsError)
        if entry is None:
            return AdjustPointsPayload(entry=None, member=None, errors=errors)
        member = await _member_of(info, entry.member_id)
        row = await info.context.loaders.entry.load(entry.id)  # with its lot's state
        entry_type = LedgerEntry.of(row, now=info.context.loaders.now)
        return AdjustPointsPayload(entry=entry_type, member=member, errors=[])
