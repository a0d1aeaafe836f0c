"""GraphQL types of offers and vouchers, converted explicitly from rows."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

import strawberry
from strawberry import relay

from backend.api.context import Info
from backend.api.types import by_value, money, parse_pk
from backend.rewards.offers.personalization import Reason, ReasonCode, reason_text
from backend.rewards.offers.queries import OfferView
from backend.rewards.offers.rules import (
    OfferKind,
    Unavailable,
    VoucherOrigin,
    VoucherStatus,
    display_code,
    pick_text,
    voucher_status,
)
from backend.rewards.ports import Role
from backend.rewards.queries import MemberByUid

OfferKindGql = strawberry.enum(
    OfferKind,
    name="OfferKind",
    description="What a voucher of the offer gives: PERCENT_DISCOUNT (`percent` off), "
    "FIXED_DISCOUNT (`discount` off), FREE_SHIPPING, FREE_PRODUCT, EXPERIENCE (an event or "
    "service), EXTRA_SPIN (a spin of the wheel).",
)
_offer_kind = by_value(OfferKind)
OfferUnavailableReason = strawberry.enum(
    Unavailable,
    name="OfferUnavailableReason",
    description="Why an offer cannot be redeemed now: NOT_YET_OPEN, ENDED, NOT_IN_AUDIENCE, "
    "OUT_OF_STOCK, LIMIT_REACHED (the per-member limit), NOT_ENOUGH_POINTS.",
)
OfferReasonCode = strawberry.enum(
    ReasonCode,
    name="OfferReasonCode",
    description="Why an offer is shown to the member (the largest part of its rank): "
    "EARLY_ACCESS (their club sees it before everyone else), BOUGHT_CATEGORY (they bought "
    "in its category), FAVOURITE_CATEGORY (a StyleID favourite), STYLE_MATCH (its StyleID "
    "tags match theirs), VIEWED_CATEGORY (they looked at its category), TIER (an offer for "
    "their tier), NEW_OFFER (nothing personal: newest first).",
)
VoucherStatusGql = strawberry.enum(
    VoucherStatus,
    name="VoucherStatus",
    description="ACTIVE (usable now), USED (consumed by a store), EXPIRED (unused past "
    "`expiresAt`), as of the moment of the request.",
)
VoucherOriginGql = strawberry.enum(
    VoucherOrigin,
    name="VoucherOrigin",
    description="How the member got the voucher: REDEMPTION (points spent), WELCOME (the "
    "welcome gift), MILESTONE (a gift at the Nth purchase), BIRTHDAY (the birthday gift), "
    "SURPRISE (a marketing surprise), WHEEL (won on the wheel of points).",
)


@strawberry.type(description="An amount of money.")
class Money:
    amount: Decimal = strawberry.field(description="The amount, e.g. `15.00`.")
    currency: str = strawberry.field(description="ISO 4217 currency code.")


@strawberry.type(description="An offer's title and description in one language.")
class OfferText:
    language: str = strawberry.field(description="BCP 47 language tag, e.g. `ar`, `nl-BE`.")
    title: str = strawberry.field(description="The title, as written (NFC).")
    description: str = strawberry.field(description="The description, as written (NFC).")


@strawberry.type(description="Who may see an offer; every part that is set must match.")
class OfferAudience:
    minimum_tier: str | None = strawberry.field(
        description="Code of the lowest tier that may see it; null for every tier."
    )
    club_id: strawberry.ID | None = strawberry.field(
        description="Global id of the club whose members see and redeem it early (the club's "
        "`earlyAccessDays` before `startsAt`); null: no early access."
    )
    club_only: bool = strawberry.field(
        description="True: the club's members alone see and redeem it, for its whole window."
    )
    style_tags: list[str] = strawberry.field(
        description="StyleID tags; when any are set, the member's profile must have one of them."
    )
    categories: list[str] = strawberry.field(
        description="Product categories; when any are set, the member must have bought one of them."
    )


@strawberry.type(description="Something members spend points on (or get as a gift).")
class Offer(relay.Node):
    id: relay.NodeID[int]
    kind: OfferKindGql = strawberry.field(description="What the voucher gives.")  # type: ignore[valid-type]
    title: str = strawberry.field(description="Title in the reader's language (see `language`).")
    description: str = strawberry.field(description="Description in the reader's language.")
    language: str = strawberry.field(
        description="Language of `title` and `description`: the member's locale, else its "
        "language, else the program's default language."
    )
    texts: list[OfferText] = strawberry.field(description="Every translation.")
    points_cost: int = strawberry.field(description="Points a redemption spends; 0 for a gift.")
    percent: int | None = strawberry.field(description="Percent off, for PERCENT_DISCOUNT.")
    discount: Money | None = strawberry.field(description="Amount off, for FIXED_DISCOUNT.")
    categories: list[str] = strawberry.field(description="Product categories the offer is about.")
    audience: OfferAudience = strawberry.field(description="Who may see it.")
    starts_at: datetime = strawberry.field(description="Redeemable from this moment.")
    ends_at: datetime | None = strawberry.field(
        description="Redeemable until then; null: open-ended."
    )
    stock: int | None = strawberry.field(
        description="Public units left; null for unlimited. From the public start, what the "
        "club left (`clubStock`) is taken first."
    )
    club_stock: int | None = strawberry.field(
        description="Units reserved for the club's early access (`audience.clubId`); null when "
        "none are reserved."
    )
    per_member_limit: int | None = strawberry.field(
        description="Vouchers one member may hold of it in all; null for no limit."
    )
    image_url: str | None = strawberry.field(description="An https image of the offer.")
    voucher_valid_days: int = strawberry.field(description="Days a voucher stays usable.")
    listed: bool = strawberry.field(
        description="Whether members find it in `offers`; false for gifts that are only given "
        "(welcome, milestones)."
    )
    redeemable: bool | None = strawberry.field(
        description="Whether the signed-in member can redeem it now; null for staff."
    )
    unavailable_reason: OfferUnavailableReason | None = strawberry.field(  # type: ignore[valid-type]
        description="Why the member cannot redeem it now; null when they can (and for staff)."
    )
    reason_code: OfferReasonCode | None = strawberry.field(  # type: ignore[valid-type]
        description="Why it is shown to the signed-in member; null for staff."
    )
    early_access: bool | None = strawberry.field(
        description="Whether the member sees it before its public start thanks to their club; "
        "null for staff."
    )
    shown_for: strawberry.Private[Reason | None]
    reader_locale: strawberry.Private[str]

    @strawberry.field(
        description="Why it is shown, in the member's language, e.g. `Because you bought "
        "outerwear`; null for staff."
    )
    async def reason(self, info: Info) -> str | None:
        """The reason's text, with the category, style, tier or club named in the reader's language."""
        if self.shown_for is None:
            return None
        label = await info.context.loaders.offers.reason_label(self.shown_for, self.reader_locale)
        return reason_text(self.shown_for.code, locale=self.reader_locale, label=label)

    @classmethod
    def of(
        cls, row: Any, *, locale: str, default_language: str, view: OfferView | None = None
    ) -> Offer:
        """Convert an offer row in a reader's locale, with a member's view of it if any."""
        language, text = pick_text(row.texts, locale, default_language)
        amount = row.discount_amount
        return cls(
            id=row.id,
            kind=_offer_kind(row.kind),
            title=text["title"],
            description=text["description"],
            language=language,
            texts=[OfferText(language=k, **v) for k, v in row.texts.items()],
            points_cost=row.points_cost,
            percent=row.percent,
            discount=Money(amount=money(amount), currency=row.discount_currency)
            if amount is not None
            else None,
            categories=list(row.categories),
            audience=OfferAudience(
                minimum_tier=row.min_tier,
                club_id=strawberry.ID(str(relay.GlobalID("Club", str(row.club_id))))
                if row.club_id is not None
                else None,
                club_only=row.club_only,
                style_tags=list(row.style_tags),
                categories=list(row.audience_categories),
            ),
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            stock=row.stock,
            club_stock=row.club_stock,
            per_member_limit=row.per_member_limit,
            image_url=row.image_url,
            voucher_valid_days=row.voucher_valid_days,
            listed=row.listed,
            redeemable=None if view is None else view.reason is None,
            unavailable_reason=None if view is None else view.reason,
            reason_code=None if view is None else view.fit.reason.code,
            early_access=None if view is None else view.early,
            shown_for=None if view is None else view.fit.reason,
            reader_locale=locale,
        )

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Offer | None]:
        """Offers by id: marketing and admin see any; a member those `offer(id:)` shows them."""
        ids = [parse_pk(i) or 0 for i in node_ids]
        loaders = info.context.loaders.offers
        language = await loaders.default_language()
        principal = info.context.principal
        if principal is not None and principal.role.is_staff:
            rows = await loaders.offer.load_many(ids)
            return [
                cls.of(r, locale=language, default_language=language) if r else None for r in rows
            ]
        member = await _member(info)
        if member is None:
            return [None for _ in ids]
        found = await asyncio.gather(*(loaders.view(member, i) for i in ids))  # one batch
        return [
            cls.of(v.row, locale=member.locale, default_language=language, view=v) if v else None
            for v in found
        ]


async def _member(info: Info) -> Any:
    """The signed-in member's row; None for other roles and before they enrol."""
    principal = info.context.principal
    if principal is None or principal.role != Role.MEMBER:
        return None
    return await info.context.loaders.read(MemberByUid(principal.uid))


@strawberry.type(description="A voucher: a code a store consumes once, before it expires.")
class Voucher(relay.Node):
    id: relay.NodeID[int]
    code: str = strawberry.field(
        description="16 characters in groups of four (Crockford base32, 80 random bits); stores "
        "accept it in any case, with or without dashes."
    )
    status: VoucherStatusGql = strawberry.field(description="As of now.")  # type: ignore[valid-type]
    origin: VoucherOriginGql = strawberry.field(description="How the member got it.")  # type: ignore[valid-type]
    points_spent: int = strawberry.field(description="Points the redemption spent; 0 for gifts.")
    issued_at: datetime = strawberry.field(description="When it was issued.")
    expires_at: datetime = strawberry.field(description="Usable until this moment.")
    used_at: datetime | None = strawberry.field(description="When a store consumed it.")
    offer_id: strawberry.Private[int]
    member_id: strawberry.Private[int]
    locale: strawberry.Private[str]

    @strawberry.field(description="The offer it is for.")
    async def offer(self, info: Info) -> Offer:
        """Load the offer through the request's loader, in the reader's language."""
        loaders = info.context.loaders.offers
        row = await loaders.offer.load(self.offer_id)
        return Offer.of(row, locale=self.locale, default_language=await loaders.default_language())

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Voucher | None]:
        """Vouchers by id: a member gets only their own, staff who read members any."""
        rows = await info.context.loaders.offers.voucher.load_many(
            [parse_pk(i) or 0 for i in node_ids]
        )
        now = info.context.loaders.now
        principal = info.context.principal
        if principal is not None and principal.role.reads_members:
            language = await info.context.loaders.offers.default_language()
            return [cls.of(r, now=now, locale=language) if r else None for r in rows]
        member = await _member(info)
        return [
            cls.of(r, now=now, locale=member.locale)
            if r is not None and member is not None and r.member_id == member.id
            else None
            for r in rows
        ]

    @classmethod
    def of(cls, row: Any, *, now: datetime, locale: str) -> Voucher:
        """Convert a voucher row (or ORM object) as of `now`."""
        return cls(
            id=row.id,
            code=display_code(row.code),
            status=voucher_status(used_at=row.used_at, expires_at=row.expires_at, now=now),
            origin=VoucherOrigin(row.origin),
            points_spent=row.points_spent,
            issued_at=row.issued_at,
            expires_at=row.expires_at,
            used_at=row.used_at,
            offer_id=row.offer_id,
            member_id=row.member_id,
            locale=locale,
        )
