"""Pure checks of an offer as marketing writes it: texts, kind and value, audience, window, limits."""

from __future__ import annotations

import string
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from backend.db.tables import MemberCategory, Offer
from backend.rewards.errors import DomainError
from backend.rewards.members.rules import check_locale
from backend.rewards.offers.rules import OfferKind
from backend.rewards.purchases.rules import check_money
from backend.rewards.text import JOINERS, TextField, clean, width

MAX_POINTS = 1_000_000_000
MAX_STOCK = 1_000_000_000
MAX_PER_MEMBER = 1_000
MAX_VALID_DAYS = 3_650
MAX_DISCOUNT = Decimal("1000000")
MAX_LANGUAGES = 20
MAX_TAGS = 20  # categories, audience categories and style tags each
# Texts are stored as JSON: these widths are the policy's own, not a column's.
TITLE = TextField("INVALID_TEXT", None, "The title", 120, allow=JOINERS)
DESCRIPTION = TextField("INVALID_TEXT", None, "The description", 1000, minimum=0, allow=JOINERS)
CATEGORY_WIDTH = width(MemberCategory, "category")
CATEGORY = TextField("INVALID_CATEGORY", None, "A category", CATEGORY_WIDTH)
STYLE_TAG = TextField("INVALID_STYLE_TAG", None, "A style tag", 64)
IMAGE_URL = TextField("INVALID_IMAGE_URL", "imageUrl", "The image URL", width(Offer, "image_url"))
URL_CHARACTERS = frozenset(string.ascii_letters + string.digits + "-._~:/?#[]@!$&'()*+,;=%")


@dataclass(frozen=True)
class OfferText:
    """An offer's title and description in one language."""

    language: str
    title: str
    description: str = ""


@dataclass(frozen=True)
class OfferDraft:
    """An offer as marketing writes it (create, or the result of an update's changes)."""

    texts: tuple[OfferText, ...]
    kind: OfferKind
    points_cost: int
    percent: int | None = None
    discount_amount: Decimal | None = None
    discount_currency: str | None = None
    categories: tuple[str, ...] = ()
    min_tier: str | None = None
    club_id: int | None = None
    club_only: bool = False
    style_tags: tuple[str, ...] = ()
    audience_categories: tuple[str, ...] = ()
    starts_at: datetime | None = None  # None: open from the moment it is written
    ends_at: datetime | None = None
    stock: int | None = None
    club_stock: int | None = None
    per_member_limit: int | None = None
    image_url: str | None = None
    voucher_valid_days: int = 30
    listed: bool = True

    @classmethod
    def of(cls, offer: Offer) -> OfferDraft:
        """The draft an existing offer was written from (an update starts here)."""
        return cls(
            texts=tuple(
                OfferText(tag, text["title"], text["description"])
                for tag, text in offer.texts.items()
            ),
            kind=OfferKind(offer.kind),
            points_cost=offer.points_cost,
            percent=offer.percent,
            discount_amount=offer.discount_amount,
            discount_currency=offer.discount_currency,
            categories=tuple(offer.categories),
            min_tier=offer.min_tier,
            club_id=offer.club_id,
            club_only=offer.club_only,
            style_tags=tuple(offer.style_tags),
            audience_categories=tuple(offer.audience_categories),
            starts_at=offer.starts_at,
            ends_at=offer.ends_at,
            stock=offer.stock,
            club_stock=offer.club_stock,
            per_member_limit=offer.per_member_limit,
            image_url=offer.image_url,
            voucher_valid_days=offer.voucher_valid_days,
            listed=offer.listed,
        )

    def columns(self) -> dict[str, Any]:
        """The offer table's columns for this (cleaned) draft."""
        return {
            "texts": {
                t.language: {"title": t.title, "description": t.description} for t in self.texts
            },
            "kind": self.kind.value,
            "points_cost": self.points_cost,
            "percent": self.percent,
            "discount_amount": self.discount_amount,
            "discount_currency": self.discount_currency,
            "categories": list(self.categories),
            "min_tier": self.min_tier,
            "club_id": self.club_id,
            "club_only": self.club_only,
            "style_tags": list(self.style_tags),
            "audience_categories": list(self.audience_categories),
            "starts_at": self.starts_at,
            "ends_at": self.ends_at,
            "stock": self.stock,
            "club_stock": self.club_stock,
            "per_member_limit": self.per_member_limit,
            "image_url": self.image_url,
            "voucher_valid_days": self.voucher_valid_days,
            "listed": self.listed,
        }


@dataclass(frozen=True)
class Catalogue:
    """What a draft is checked against: the tier codes, currencies and the default language."""

    tiers: Sequence[str]
    currencies: Collection[str]
    default_language: str


def clean_draft(draft: OfferDraft, *, catalogue: Catalogue, now: datetime) -> OfferDraft:
    """The draft in its stored form, or the typed error of its first bad field."""
    _check_range(draft.points_cost, 0, MAX_POINTS, "INVALID_POINTS", "pointsCost")
    _check_value(draft, catalogue)
    _check_optional(draft.stock, 0, MAX_STOCK, "INVALID_STOCK", "stock")
    _check_optional(draft.club_stock, 0, MAX_STOCK, "INVALID_STOCK", "clubStock")
    if draft.club_stock is not None and draft.club_id is None:
        raise DomainError(
            "INVALID_STOCK", "Only an offer with a club reserves stock for it.", field="clubStock"
        )
    if draft.club_only and draft.club_id is None:
        raise DomainError(
            "INVALID_AUDIENCE",
            "Only an offer with a club can be for its members alone.",
            field="audience.clubOnly",
        )
    _check_optional(draft.per_member_limit, 1, MAX_PER_MEMBER, "INVALID_LIMIT", "perMemberLimit")
    _check_range(
        draft.voucher_valid_days, 1, MAX_VALID_DAYS, "INVALID_VALIDITY", "voucherValidDays"
    )
    if draft.min_tier is not None and draft.min_tier not in catalogue.tiers:
        raise DomainError("UNKNOWN_TIER", "No tier has that code.", field="audience.minimumTier")
    starts_at = _utc(draft.starts_at) if draft.starts_at is not None else now
    ends_at = _utc(draft.ends_at) if draft.ends_at is not None else None
    if ends_at is not None and ends_at <= starts_at:
        raise DomainError("INVALID_WINDOW", "The offer must end after it starts.", field="endsAt")
    return replace(
        draft,
        texts=_clean_texts(draft.texts, catalogue.default_language),
        categories=_clean_tags(draft.categories, CATEGORY, "categories"),
        style_tags=_clean_tags(draft.style_tags, STYLE_TAG, "audience.styleTags"),
        audience_categories=_clean_tags(draft.audience_categories, CATEGORY, "audience.categories"),
        starts_at=starts_at,
        ends_at=ends_at,
        image_url=None if draft.image_url is None else check_image_url(draft.image_url),
    )


def _utc(moment: datetime) -> datetime:
    """A time in UTC; one without an offset is read as UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _check_range(value: int, low: int, high: int, code: str, field: str) -> None:
    """Refuse a whole number outside low..high."""
    if not low <= value <= high:
        raise DomainError(code, f"Must be a whole number from {low} to {high}.", field=field)


def _check_optional(value: int | None, low: int, high: int, code: str, field: str) -> None:
    """Refuse a whole number outside low..high; None (no limit) passes."""
    if value is not None:
        _check_range(value, low, high, code, field)


def _check_value(draft: OfferDraft, catalogue: Catalogue) -> None:
    """A percent discount needs `percent`, a fixed one `discount`; other kinds neither."""
    wants_percent = draft.kind == OfferKind.PERCENT_DISCOUNT
    wants_money = draft.kind == OfferKind.FIXED_DISCOUNT
    if wants_percent != (draft.percent is not None):
        raise DomainError(
            "INVALID_VALUE", "A percent discount, and only that, has a percent.", field="percent"
        )
    if wants_money != (draft.discount_amount is not None) or wants_money != (
        draft.discount_currency is not None
    ):
        raise DomainError(
            "INVALID_VALUE", "A fixed discount, and only that, has an amount.", field="discount"
        )
    if draft.percent is not None:
        _check_range(draft.percent, 1, 100, "INVALID_PERCENT", "percent")
    if draft.discount_amount is not None:
        check_money(draft.discount_amount, code="INVALID_AMOUNT", field="discount.amount")
        if draft.discount_amount > MAX_DISCOUNT:
            raise DomainError("INVALID_AMOUNT", f"At most {MAX_DISCOUNT}.", field="discount.amount")
    if draft.discount_currency is not None and draft.discount_currency not in catalogue.currencies:
        raise DomainError(
            "UNKNOWN_CURRENCY",
            "The currency must be an ISO 4217 code with an earn rate, such as `EUR`.",
            field="discount.currency",
        )


def _clean_texts(texts: Sequence[OfferText], default_language: str) -> tuple[OfferText, ...]:
    """Texts in NFC, one per language tag (standard form), the default language among them."""
    if len(texts) > MAX_LANGUAGES:
        raise DomainError("INVALID_TEXT", f"At most {MAX_LANGUAGES} languages.", field="texts")
    cleaned: dict[str, OfferText] = {}
    for index, text in enumerate(texts):
        try:
            language = check_locale(text.language)
        except DomainError:
            language = ""
        if not language or language in cleaned:
            raise DomainError(
                "INVALID_LANGUAGE",
                "Each text needs its own language tag, such as `ar` or `nl-BE`.",
                field=f"texts.{index}.language",
            )
        title = clean(text.title, TITLE, field=f"texts.{index}.title")
        description = clean(text.description, DESCRIPTION, field=f"texts.{index}.description")
        cleaned[language] = OfferText(language, title, description)
    if default_language not in cleaned:
        raise DomainError(
            "MISSING_DEFAULT_LANGUAGE",
            f"Give a text in the program's default language `{default_language}`.",
            field="texts",
        )
    return tuple(cleaned.values())


def _clean_tags(values: Sequence[str], rule: TextField, field: str) -> tuple[str, ...]:
    """Identifiers kept verbatim (as purchases report them), without repeats, at most MAX_TAGS."""
    if len(values) > MAX_TAGS:
        raise rule.refuse(f"lists hold at most {MAX_TAGS}.", field)
    cleaned = [clean(value, rule, field=f"{field}.{i}") for i, value in enumerate(values)]
    return tuple(dict.fromkeys(cleaned))


def check_image_url(url: str) -> str:
    """An absolute https URL of printable ASCII with a host and no user info, or a typed error."""
    url = clean(url, IMAGE_URL)
    if not set(url) <= URL_CHARACTERS:
        raise IMAGE_URL.refuse("must be ASCII without spaces (percent-encode the rest).")
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        port_ok = False
    if not port_ok or parts.scheme != "https" or not parts.hostname or "@" in parts.netloc:
        raise IMAGE_URL.refuse("must be an https:// address with a host.")
    return url
