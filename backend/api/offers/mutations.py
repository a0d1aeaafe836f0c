"""Offer mutations: the catalogue and milestones (staff), redemption (members), consumption (stores)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

import strawberry

from backend.api.context import Info
from backend.api.errors import payload_error
from backend.api.offers.types import Offer, OfferKindGql, Voucher
from backend.api.permissions import (
    IntegrationRateLimit,
    IsIntegration,
    IsMember,
    IsStaff,
    RedeemRateLimit,
    StaffRateLimit,
)
from backend.api.types import parse_global_id
from backend.api.units import perform
from backend.rewards.errors import DomainError
from backend.rewards.offers.drafts import OfferDraft, OfferText
from backend.rewards.offers.rules import Milestone, OfferKind
from backend.rewards.offers.services import (
    configure_milestones,
    consume_voucher,
    create_offer,
    redeem_offer,
    update_offer,
)
from backend.rewards.ports import Principal
from backend.rewards.uow import UnitOfWork

DRAFT_CODES = [
    "INVALID_TEXT",
    "INVALID_LANGUAGE",
    "MISSING_DEFAULT_LANGUAGE",
    "INVALID_VALUE",
    "INVALID_PERCENT",
    "INVALID_AMOUNT",
    "UNKNOWN_CURRENCY",
    "INVALID_POINTS",
    "INVALID_CATEGORY",
    "INVALID_STYLE_TAG",
    "UNKNOWN_TIER",
    "INVALID_AUDIENCE",
    "INVALID_ID",
    "INVALID_WINDOW",
    "INVALID_STOCK",
    "INVALID_LIMIT",
    "INVALID_IMAGE_URL",
    "INVALID_VALIDITY",
]
CreateOfferError = payload_error("CreateOffer", DRAFT_CODES, "the new offer")
UpdateOfferError = payload_error("UpdateOffer", [*DRAFT_CODES, "UNKNOWN_OFFER"], "the change")
RedeemOfferError = payload_error(
    "RedeemOffer",
    [
        "INVALID_ID",
        "UNKNOWN_OFFER",
        "NOT_ENROLLED",
        "MEMBER_INACTIVE",
        "NOT_YET_OPEN",
        "ENDED",
        "NOT_IN_AUDIENCE",
        "OUT_OF_STOCK",
        "LIMIT_REACHED",
        "NOT_ENOUGH_POINTS",
        "INVALID_IDEMPOTENCY_KEY",
        "IDEMPOTENCY_CONFLICT",
    ],
    "the redemption",
)
ConsumeVoucherError = payload_error(
    "ConsumeVoucher",
    ["UNKNOWN_CODE", "EXPIRED", "ALREADY_CONSUMED", "INVALID_REFERENCE"],
    "the voucher",
)
ConfigureMilestonesError = payload_error(
    "ConfigureMilestones",
    ["INVALID_ID", "INVALID_MILESTONE", "UNKNOWN_OFFER", "NOT_A_GIFT"],
    "the ladder",
)


def pk_of(global_id: str, type_name: str, field: str) -> int:
    """The row id in a global id of `type_name`, or a typed INVALID_ID naming `field`."""
    parsed = parse_global_id(global_id)
    if parsed is None or parsed[0] != type_name:
        raise DomainError("INVALID_ID", f"That is not a {type_name} id.", field=field)
    return parsed[1]


@strawberry.input(description="An offer's title and description in one language.")
class OfferTextInput:
    language: str = strawberry.field(description="BCP 47 language tag, e.g. `en`, `ar`, `nl-BE`.")
    title: str = strawberry.field(description="1 to 120 characters, stored as given (NFC).")
    description: str = strawberry.field(
        default="", description="Up to 1000 characters, stored as given (NFC)."
    )


@strawberry.input(description="An amount of money.")
class MoneyInput:
    amount: Decimal = strawberry.field(description="Above 0, at most 4 decimals.")
    currency: str = strawberry.field(description="ISO 4217 code with an earn rate, e.g. `EUR`.")


@strawberry.input(description="Who may see an offer; every part that is set must match.")
class OfferAudienceInput:
    minimum_tier: str | None = strawberry.field(
        default=None, description="Code of the lowest tier that may see it, e.g. `gold`."
    )
    club_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Global id of a club whose members see and redeem it the club's "
        "`earlyAccessDays` before `startsAt`; others see it from `startsAt` (unless `clubOnly`).",
    )
    club_only: bool = strawberry.field(
        default=False,
        description="True keeps it to the club's members for its whole window: no one else "
        "ever sees or redeems it. Needs `clubId`.",
    )
    style_tags: list[str] = strawberry.field(
        default_factory=list, description="StyleID tags; the member must have one of them."
    )
    categories: list[str] = strawberry.field(
        default_factory=list,
        description="Product categories (as purchases report them); the member must have bought one.",
    )


@strawberry.input(description="A new offer.")
class CreateOfferInput:
    texts: list[OfferTextInput] = strawberry.field(
        description="Title and description per language (at most 20); one must be in the "
        "program's default language, the fallback for every other."
    )
    kind: OfferKindGql = strawberry.field(description="What the voucher gives.")  # type: ignore[valid-type]
    points_cost: int = strawberry.field(description="Points a redemption spends; 0 for a gift.")
    percent: int | None = strawberry.field(
        default=None, description="1 to 100; for PERCENT_DISCOUNT only."
    )
    discount: MoneyInput | None = strawberry.field(
        default=None, description="Amount off; for FIXED_DISCOUNT only."
    )
    categories: list[str] = strawberry.field(
        default_factory=list, description="Product categories the offer is about (at most 20)."
    )
    audience: OfferAudienceInput | None = strawberry.field(
        default=None, description="Who may see it; null for every member."
    )
    starts_at: datetime | None = strawberry.field(
        default=None, description="Open from then; null for now."
    )
    ends_at: datetime | None = strawberry.field(
        default=None, description="Open until then (after `startsAt`); null for open-ended."
    )
    stock: int | None = strawberry.field(
        default=None, description="Units available (0 to 1,000,000,000); null for unlimited."
    )
    club_stock: int | None = strawberry.field(
        default=None,
        description="Units reserved for the club's early access (0 to 1,000,000,000; needs "
        "`audience.clubId`): club members take these first before the public start; what is "
        "left then joins the public stock. Null: early access takes the public stock.",
    )
    per_member_limit: int | None = strawberry.field(
        default=None, description="Vouchers one member may get of it (1 to 1000); null: no limit."
    )
    image_url: str | None = strawberry.field(
        default=None, description="An https:// image address (at most 2048 characters)."
    )
    voucher_valid_days: int = strawberry.field(
        default=30, description="Days a voucher stays usable (1 to 3650)."
    )
    listed: bool = strawberry.field(
        default=True,
        description="False keeps it out of `offers`: a gift only given (welcome, milestones).",
    )


@strawberry.input(
    description="Changes to an offer: omitted fields stay as they are; null clears the fields "
    "that can be empty (and leaves the others as they are). The result is checked as a new offer."
)
class UpdateOfferInput:
    id: strawberry.ID = strawberry.field(description="The offer's global id.")
    texts: list[OfferTextInput] | None = strawberry.field(
        default=strawberry.UNSET, description="Replaces every translation."
    )
    kind: OfferKindGql | None = strawberry.field(  # type: ignore[valid-type]
        default=strawberry.UNSET, description="What the voucher gives."
    )
    points_cost: int | None = strawberry.field(default=strawberry.UNSET, description="Points.")
    percent: int | None = strawberry.field(default=strawberry.UNSET, description="Percent off.")
    discount: MoneyInput | None = strawberry.field(
        default=strawberry.UNSET, description="Amount off."
    )
    categories: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description="Replaces the categories."
    )
    audience: OfferAudienceInput | None = strawberry.field(
        default=strawberry.UNSET, description="Replaces the audience; null for every member."
    )
    starts_at: datetime | None = strawberry.field(
        default=strawberry.UNSET, description="Open from then."
    )
    ends_at: datetime | None = strawberry.field(
        default=strawberry.UNSET, description="Open until then; null for open-ended."
    )
    stock: int | None = strawberry.field(
        default=strawberry.UNSET, description="Units left from now on; null for unlimited."
    )
    club_stock: int | None = strawberry.field(
        default=strawberry.UNSET, description="Club units left from now on; null for none."
    )
    per_member_limit: int | None = strawberry.field(
        default=strawberry.UNSET, description="Per-member limit; null for none."
    )
    image_url: str | None = strawberry.field(
        default=strawberry.UNSET, description="Image address; null for none."
    )
    voucher_valid_days: int | None = strawberry.field(
        default=strawberry.UNSET, description="Days a voucher stays usable."
    )
    listed: bool | None = strawberry.field(
        default=strawberry.UNSET, description="Whether members find it in `offers`."
    )


# Fields an update may clear with null; null on any other leaves it as it is.
CLEARABLE = frozenset(
    {
        "percent",
        "discount",
        "audience",
        "ends_at",
        "stock",
        "club_stock",
        "per_member_limit",
        "image_url",
    }
)


def _changes(input: Any) -> dict[str, Any]:
    """The draft fields an input sets, in the domain's terms (omitted ones left out)."""
    changes: dict[str, Any] = {}
    for name, value in vars(input).items():
        if name == "id" or value is strawberry.UNSET or (value is None and name not in CLEARABLE):
            continue
        if name == "texts":
            changes["texts"] = tuple(OfferText(t.language, t.title, t.description) for t in value)
        elif name == "discount":
            changes["discount_amount"] = value.amount if value else None
            changes["discount_currency"] = value.currency if value else None
        elif name == "audience":
            changes.update(_audience(value))
        elif name in ("kind",):
            changes["kind"] = OfferKind(value)
        elif name == "categories":
            changes["categories"] = tuple(value)
        else:
            changes[name] = value
    return changes


def _audience(value: OfferAudienceInput | None) -> dict[str, Any]:
    """The audience fields of a draft (everyone for null)."""
    value = value or OfferAudienceInput()
    club = value.club_id
    return {
        "min_tier": value.minimum_tier,
        "club_id": pk_of(str(club), "Club", "audience.clubId") if club is not None else None,
        "club_only": value.club_only,
        "style_tags": tuple(value.style_tags),
        "audience_categories": tuple(value.categories),
    }


async def _offer_out(info: Info, offer: Any) -> Offer:
    """An offer in staff's view (the default language)."""
    language = await info.context.loaders.offers.default_language()
    return Offer.of(offer, locale=language, default_language=language)


@strawberry.type(description="Result of `createOffer`.")
class CreateOfferPayload:
    offer: Offer | None = strawberry.field(description="The new offer.")
    errors: list[CreateOfferError] = strawberry.field(  # type: ignore[valid-type]
        description="Why it was refused; empty on success."
    )


@strawberry.type(description="Result of `updateOffer`.")
class UpdateOfferPayload:
    offer: Offer | None = strawberry.field(description="The offer as changed.")
    errors: list[UpdateOfferError] = strawberry.field(  # type: ignore[valid-type]
        description="Why it was refused; empty on success."
    )


@strawberry.type(description="Result of `redeemOffer`.")
class RedeemOfferPayload:
    voucher: Voucher | None = strawberry.field(
        description="The voucher issued; a replay of the key gets this same first voucher."
    )
    errors: list[RedeemOfferError] = strawberry.field(  # type: ignore[valid-type]
        description="Why it was refused (nothing was spent); empty on success."
    )


@strawberry.input(description="A voucher presented at a till or checkout.")
class ConsumeVoucherInput:
    code: str = strawberry.field(description="The code, in any case, with or without dashes.")
    reference: str = strawberry.field(
        description="The order or transaction it is used in (1 to 128 characters). The same "
        "integration sending the same code and reference again gets the first answer."
    )


@strawberry.type(description="Result of `consumeVoucher`.")
class ConsumeVoucherPayload:
    voucher: Voucher | None = strawberry.field(description="The voucher, now USED.")
    errors: list[ConsumeVoucherError] = strawberry.field(  # type: ignore[valid-type]
        description="Why it was refused; empty on success."
    )


@strawberry.input(description="One step of the milestone ladder.")
class MilestoneInput:
    purchases: int = strawberry.field(description="The purchase count that earns it (1 to 10000).")
    offer_id: strawberry.ID = strawberry.field(description="A gift offer (0 points).")


@strawberry.input(description="The whole milestone ladder and the welcome gift (replaced).")
class ConfigureMilestonesInput:
    steps: list[MilestoneInput] = strawberry.field(
        description="At most 20 steps, each with its own purchase count; empty for none."
    )
    welcome_offer_id: strawberry.ID | None = strawberry.field(
        default=None, description="The gift offer new members get; null for no welcome gift."
    )


@strawberry.type(description="A gift at a member's Nth purchase (refunded orders do not count).")
class MilestoneStep:
    purchases: int = strawberry.field(description="The purchase count.")
    offer: Offer = strawberry.field(description="The gift offer.")


@strawberry.type(description="Result of `configureMilestones`.")
class ConfigureMilestonesPayload:
    steps: list[MilestoneStep] | None = strawberry.field(description="The ladder now in force.")
    welcome_offer: Offer | None = strawberry.field(description="The welcome gift now in force.")
    errors: list[ConfigureMilestonesError] = strawberry.field(  # type: ignore[valid-type]
        description="Why it was refused; empty on success."
    )


@strawberry.type(description="Offer mutations.")
class OffersMutation:
    @strawberry.mutation(
        description="Marketing/admin: add an offer to the catalogue (audited).",
        permission_classes=[IsStaff, StaffRateLimit],
    )
    async def create_offer(
        self,
        info: Info,
        input: Annotated[CreateOfferInput, strawberry.argument(description="The offer.")],
    ) -> CreateOfferPayload:
        """Create an offer."""

        async def use_case(uow: UnitOfWork, staff: Principal) -> Any:
            """Convert inside the attempt, so a bad club id is a typed error too."""
            draft = OfferDraft(**_changes(input))
            return await create_offer(uow, draft=draft, staff=staff)

        offer, errors = await perform(info, use_case, CreateOfferError)
        return CreateOfferPayload(
            offer=await _offer_out(info, offer) if offer else None, errors=errors
        )

    @strawberry.mutation(
        description="Marketing/admin: change an offer (audited).",
        permission_classes=[IsStaff, StaffRateLimit],
    )
    async def update_offer(
        self,
        info: Info,
        input: Annotated[UpdateOfferInput, strawberry.argument(description="The changes.")],
    ) -> UpdateOfferPayload:
        """Update an offer."""

        async def use_case(uow: UnitOfWork, staff: Principal) -> Any:
            """Decode the id and the changes inside the attempt."""
            offer_id = pk_of(str(input.id), "Offer", "id")
            return await update_offer(uow, offer_id=offer_id, changes=_changes(input), staff=staff)

        offer, errors = await perform(info, use_case, UpdateOfferError)
        return UpdateOfferPayload(
            offer=await _offer_out(info, offer) if offer else None, errors=errors
        )

    @strawberry.mutation(
        description="Spend points on an offer: takes one unit of stock and issues a voucher, all "
        "in one transaction. Retry with the same key after a network error: a replay returns "
        "the first voucher and spends nothing more.",
        permission_classes=[IsMember, RedeemRateLimit],
    )
    async def redeem_offer(
        self,
        info: Info,
        offer_id: Annotated[
            strawberry.ID, strawberry.argument(description="The offer's global id.")
        ],
        idempotency_key: Annotated[
            str, strawberry.argument(description="Client key (1 to 128 characters) per redemption.")
        ],
    ) -> RedeemOfferPayload:
        """Redeem an offer for the signed-in member."""

        async def use_case(uow: UnitOfWork, member: Principal) -> Any:
            """Decode the id inside the attempt, so a bad one is a typed error."""
            offer_pk = pk_of(str(offer_id), "Offer", "offerId")
            return await redeem_offer(
                uow, uid=member.uid, offer_id=offer_pk, idempotency_key=idempotency_key
            )

        voucher, errors = await perform(info, use_case, RedeemOfferError)
        if voucher is None:
            return RedeemOfferPayload(voucher=None, errors=errors)
        member = await info.context.loaders.member.load(voucher.member_id)
        now = info.context.loaders.now
        return RedeemOfferPayload(
            voucher=Voucher.of(voucher, now=now, locale=member.locale), errors=[]
        )

    @strawberry.mutation(
        description="Integration: use a voucher once at a till or checkout.",
        permission_classes=[IsIntegration, IntegrationRateLimit],
    )
    async def consume_voucher(
        self,
        info: Info,
        input: Annotated[ConsumeVoucherInput, strawberry.argument(description="The voucher.")],
    ) -> ConsumeVoucherPayload:
        """Mark a voucher used."""
        voucher, errors = await perform(
            info,
            lambda uow, p: consume_voucher(
                uow, code=input.code, reference=input.reference, integration=p.uid
            ),
            ConsumeVoucherError,
        )
        if voucher is None:
            return ConsumeVoucherPayload(voucher=None, errors=errors)
        language = await info.context.loaders.offers.default_language()
        now = info.context.loaders.now
        return ConsumeVoucherPayload(
            voucher=Voucher.of(voucher, now=now, locale=language), errors=[]
        )

    @strawberry.mutation(
        description="Marketing/admin: replace the milestone ladder (gifts at the Nth purchase) "
        "and the welcome gift (audited). Each member gets each step's gift once.",
        permission_classes=[IsStaff, StaffRateLimit],
    )
    async def configure_milestones(
        self,
        info: Info,
        input: Annotated[ConfigureMilestonesInput, strawberry.argument(description="The ladder.")],
    ) -> ConfigureMilestonesPayload:
        """Configure the milestone ladder."""

        async def use_case(uow: UnitOfWork, staff: Principal) -> Any:
            """Decode the offer ids inside the attempt."""
            steps = [
                Milestone(s.purchases, pk_of(str(s.offer_id), "Offer", f"steps.{i}.offerId"))
                for i, s in enumerate(input.steps)
            ]
            welcome = input.welcome_offer_id
            welcome_id = pk_of(str(welcome), "Offer", "welcomeOfferId") if welcome else None
            return await configure_milestones(
                uow, steps=steps, welcome_offer_id=welcome_id, staff=staff
            )

        done, errors = await perform(info, use_case, ConfigureMilestonesError)
        if done is None:
            return ConfigureMilestonesPayload(steps=None, welcome_offer=None, errors=errors)
        ladder, welcome_id = done
        loader = info.context.loaders.offers.offer
        rows = await loader.load_many([s.offer_id for s in ladder])
        steps = [
            MilestoneStep(purchases=s.purchases, offer=await _offer_out(info, row))
            for s, row in zip(ladder, rows, strict=True)
        ]
        welcome_row = await loader.load(welcome_id) if welcome_id is not None else None
        welcome_out = await _offer_out(info, welcome_row) if welcome_row else None
        return ConfigureMilestonesPayload(steps=steps, welcome_offer=welcome_out, errors=[])
