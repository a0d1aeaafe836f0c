"""Pure offer rules: who sees an offer, why it cannot be redeemed, voucher codes, texts, milestones."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from backend.rewards.errors import DomainError
from backend.rewards.text import best_language


class OfferKind(enum.StrEnum):
    """What a voucher of the offer gives."""

    PERCENT_DISCOUNT = "percent_discount"
    FIXED_DISCOUNT = "fixed_discount"
    FREE_SHIPPING = "free_shipping"
    FREE_PRODUCT = "free_product"
    EXPERIENCE = "experience"
    EXTRA_SPIN = "extra_spin"


class Unavailable(enum.StrEnum):
    """Why a member cannot redeem an offer right now (also the redemption's error code)."""

    NOT_YET_OPEN = "NOT_YET_OPEN"
    ENDED = "ENDED"
    NOT_IN_AUDIENCE = "NOT_IN_AUDIENCE"
    OUT_OF_STOCK = "OUT_OF_STOCK"
    LIMIT_REACHED = "LIMIT_REACHED"
    NOT_ENOUGH_POINTS = "NOT_ENOUGH_POINTS"


class VoucherStatus(enum.StrEnum):
    """A voucher as of a moment: usable, used, or past its expiry unused."""

    ACTIVE = "active"
    USED = "used"
    EXPIRED = "expired"


class VoucherOrigin(enum.StrEnum):
    """How the member got the voucher."""

    REDEMPTION = "redemption"
    WELCOME = "welcome"
    MILESTONE = "milestone"
    BIRTHDAY = "birthday"
    WHEEL = "wheel"
    SURPRISE = "surprise"  # a marketing surprise (campaign)


MESSAGES = {
    Unavailable.NOT_YET_OPEN: "This offer is not open yet.",
    Unavailable.ENDED: "This offer has ended.",
    Unavailable.NOT_IN_AUDIENCE: "This offer is not available to you.",
    Unavailable.OUT_OF_STOCK: "This offer is out of stock.",
    Unavailable.LIMIT_REACHED: "You have redeemed this offer as often as it allows.",
    Unavailable.NOT_ENOUGH_POINTS: "You do not have enough points for this offer.",
}


class Interest(NamedTuple):
    """How often a member bought and viewed a category, and when they last viewed it."""

    bought: int = 0
    viewed: int = 0
    last_viewed_at: datetime | None = None


@dataclass(frozen=True)
class MemberFacts:
    """What audience and eligibility decisions know about a member."""

    tier_code: str
    club_ids: frozenset[int] = frozenset()
    style_tags: frozenset[str] = frozenset()
    categories_bought: frozenset[str] = frozenset()
    categories_viewed: frozenset[str] = frozenset()
    disliked_categories: frozenset[str] = frozenset()
    favourite_categories: frozenset[str] = frozenset()
    interest: Mapping[str, Interest] = field(default_factory=dict)  # by category


@dataclass(frozen=True)
class Audience:
    """Who may see an offer; every part that is set must match."""

    min_tier: str | None = None
    club_id: int | None = None  # the club whose members get early access (see `opens_at`)
    club_only: bool = False  # the club's members alone, for the whole window
    style_tags: frozenset[str] = frozenset()  # the member has one of them
    categories: frozenset[str] = frozenset()  # the member bought one of them


@dataclass(frozen=True)
class OfferTerms:
    """The part of an offer the decisions look at."""

    id: int
    points_cost: int
    starts_at: datetime
    ends_at: datetime | None
    stock: int | None
    per_member_limit: int | None
    audience: Audience = Audience()
    categories: frozenset[str] = field(default_factory=frozenset)
    club_stock: int | None = None  # reserved for the club's early access
    early_access_days: int = 0  # the club's setting; 0 without an open club

    @classmethod
    def of(cls, row: Any, *, early_access_days: int = 0) -> OfferTerms:
        """Read the terms of an offer row (ORM object or Core row) and its club's early access."""
        return cls(
            id=row.id,
            points_cost=row.points_cost,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            stock=row.stock,
            per_member_limit=row.per_member_limit,
            audience=Audience(
                min_tier=row.min_tier,
                club_id=row.club_id,
                club_only=row.club_only,
                style_tags=frozenset(row.style_tags),
                categories=frozenset(row.audience_categories),
            ),
            categories=frozenset(row.categories),
            club_stock=row.club_stock,
            early_access_days=early_access_days if row.club_id is not None else 0,
        )


def in_audience(audience: Audience, facts: MemberFacts, ladder: Sequence[str]) -> bool:
    """Tell whether a member is in an offer's audience (club if exclusive, tier at least, style,
    bought).

    Otherwise the club is not a condition: it only opens the offer early to its members
    (`opens_at`).
    """
    if outside_club(audience, facts):
        return False
    if audience.min_tier is not None and tier_rank(facts.tier_code, ladder) < tier_rank(
        audience.min_tier, ladder
    ):
        return False
    if audience.style_tags and not audience.style_tags & facts.style_tags:
        return False
    return not audience.categories or bool(audience.categories & facts.categories_bought)


def outside_club(audience: Audience, facts: MemberFacts) -> bool:
    """Tell whether the offer is its club's alone and the member is not one of its members."""
    return audience.club_only and (
        audience.club_id is None or audience.club_id not in facts.club_ids
    )


def tier_rank(tier_code: str, ladder: Sequence[str]) -> int:
    """A tier's place on the ladder; an unknown code ranks as the entry tier."""
    return ladder.index(tier_code) if tier_code in ladder else 0


def disliked(terms: OfferTerms, facts: MemberFacts) -> bool:
    """Tell whether the offer is about something the member said they dislike."""
    return bool(terms.categories & facts.disliked_categories)


def club_member(terms: OfferTerms, facts: MemberFacts) -> bool:
    """Tell whether the member belongs to the club that gets the offer early."""
    return terms.audience.club_id is not None and terms.audience.club_id in facts.club_ids


def opens_at(terms: OfferTerms, facts: MemberFacts | None = None) -> datetime:
    """When the offer opens for a member: `early_access_days` before its start for the club's."""
    if facts is not None and club_member(terms, facts):
        return terms.starts_at - timedelta(days=terms.early_access_days)
    return terms.starts_at


def early_access(terms: OfferTerms, facts: MemberFacts, now: datetime) -> bool:
    """Tell whether the member redeems now only thanks to their club (before the public start)."""
    # Most listed offers have started: the start alone answers, without `opens_at`.
    return now < terms.starts_at and opens_at(terms, facts) <= now


def units_left(terms: OfferTerms, *, early: bool) -> int | None:
    """Units a redemption may take now (None: unlimited).

    During early access only the club's reserved units (or, with none reserved, the public
    stock); from the public start the public stock plus what the club left.
    """
    if early:
        return terms.club_stock if terms.club_stock is not None else terms.stock
    if terms.stock is None:
        return None
    return terms.stock + (terms.club_stock or 0)


def hidden_before_start(terms: OfferTerms, facts: MemberFacts, now: datetime) -> bool:
    """An early-access offer stays out of sight of non-members until its public start."""
    return (
        terms.audience.club_id is not None
        and now < terms.starts_at
        and not club_member(terms, facts)
    )


def window_refusal(
    terms: OfferTerms, now: datetime, facts: MemberFacts | None = None
) -> Unavailable | None:
    """NOT_YET_OPEN before the window (opened early to club members), ENDED after it, else None."""
    if now < opens_at(terms, facts):
        return Unavailable.NOT_YET_OPEN
    if terms.ends_at is not None and now >= terms.ends_at:
        return Unavailable.ENDED
    return None


def shown(terms: OfferTerms, facts: MemberFacts, *, now: datetime, ladder: Sequence[str]) -> bool:
    """Whether the member's list of offers holds this one: open now, theirs, not disliked."""
    return (
        window_refusal(terms, now, facts) is None
        and in_audience(terms.audience, facts, ladder)
        and not disliked(terms, facts)
    )


def refusal(
    terms: OfferTerms,
    facts: MemberFacts,
    *,
    now: datetime,
    ladder: Sequence[str],
    balance: int,
    taken: int,
) -> Unavailable | None:
    """The first reason the member cannot redeem the offer now (None: they can).

    `taken` is how many vouchers of this offer the member already has; `balance` the spendable points.
    An exclusive offer is refused to non-members of its club before anything else: it never
    opens for them, so "not yet open" or "ended" would mislead.
    """
    if outside_club(terms.audience, facts):
        return Unavailable.NOT_IN_AUDIENCE
    if (closed := window_refusal(terms, now, facts)) is not None:
        return closed
    if not in_audience(terms.audience, facts, ladder):
        return Unavailable.NOT_IN_AUDIENCE
    return claim_refusal(terms, early=early_access(terms, facts, now), balance=balance, taken=taken)


def claim_refusal(
    terms: OfferTerms, *, early: bool, balance: int, taken: int
) -> Unavailable | None:
    """Why a member the offer is open to (`shown`) cannot redeem it now (None: they can).

    The last checks of `refusal`: stock (the club's units when `early`), the member's limit,
    their points.
    """
    left = units_left(terms, early=early)
    if left is not None and left <= 0:
        return Unavailable.OUT_OF_STOCK
    if terms.per_member_limit is not None and taken >= terms.per_member_limit:
        return Unavailable.LIMIT_REACHED
    if balance < terms.points_cost:
        return Unavailable.NOT_ENOUGH_POINTS
    return None


def refuse(reason: Unavailable) -> DomainError:
    """The redemption's typed error for a reason."""
    return DomainError(reason.value, MESSAGES[reason], field="offerId")


# Voucher codes: 80 random bits as 16 Crockford base32 characters (no I, L, O, U), shown as
# four groups of four. Guessing one live code among a million takes about 2^60 tries.
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_BYTES = 10
CODE_LENGTH = 16  # 80 bits / 5 bits per character
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})


def new_voucher_code(random_bytes: Callable[[int], bytes]) -> str:
    """A new canonical code from `CODE_BYTES` random bytes (pass `secrets.token_bytes`)."""
    number = int.from_bytes(random_bytes(CODE_BYTES), "big")
    return "".join(CROCKFORD[(number >> (5 * i)) & 31] for i in reversed(range(CODE_LENGTH)))


def display_code(code: str) -> str:
    """A canonical code in groups of four, as printed and typed: `7KQ2-9W4M-XP3D-H8RT`."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def parse_code(text: str) -> str | None:
    """The canonical form of a typed or scanned code (any case, dashes, spaces, O for 0), or None."""
    if len(text) > 4 * CODE_LENGTH:
        return None
    code = text.replace("-", "").replace(" ", "").upper().translate(_READ_AS)
    if len(code) != CODE_LENGTH or any(char not in CROCKFORD for char in code):
        return None
    return code


def voucher_status(
    *, used_at: datetime | None, expires_at: datetime, now: datetime
) -> VoucherStatus:
    """A voucher's status as of `now`."""
    if used_at is not None:
        return VoucherStatus.USED
    return VoucherStatus.ACTIVE if now < expires_at else VoucherStatus.EXPIRED


def pick_text(
    texts: Mapping[str, Mapping[str, str]], locale: str, default_language: str
) -> tuple[str, Mapping[str, str]]:
    """The translation for a locale: the exact tag, its language, the program's default, any."""
    tag = best_language(texts, locale, default_language)
    if tag is None:
        language = locale.split("-", 1)[0].lower()
        same_language = sorted(t for t in texts if t.split("-")[0] == language)
        tag = same_language[0] if same_language else min(texts)
    return tag, texts[tag]


@dataclass(frozen=True)
class Milestone:
    """A gift offer given once at a member's Nth purchase."""

    purchases: int
    offer_id: int

    def as_json(self) -> dict[str, int]:
        """The step as stored in the `milestones` program setting."""
        return {"purchases": self.purchases, "offer_id": self.offer_id}


MAX_MILESTONES = 20
MAX_MILESTONE_PURCHASES = 10_000


def read_ladder(value: Iterable[Mapping[str, Any]]) -> tuple[Milestone, ...]:
    """The ladder stored in the `milestones` setting, fewest purchases first."""
    steps = (Milestone(int(s["purchases"]), int(s["offer_id"])) for s in value)
    return tuple(sorted(steps, key=lambda m: m.purchases))


def check_ladder(steps: Sequence[Milestone]) -> tuple[Milestone, ...]:
    """Refuse a ladder with too many steps, a count out of range or one count twice."""
    if len(steps) > MAX_MILESTONES:
        raise DomainError(
            "INVALID_MILESTONE", f"A ladder has at most {MAX_MILESTONES} steps.", field="steps"
        )
    seen: set[int] = set()
    for index, step in enumerate(steps):
        if not 1 <= step.purchases <= MAX_MILESTONE_PURCHASES or step.purchases in seen:
            raise DomainError(
                "INVALID_MILESTONE",
                f"Each step needs its own purchase count from 1 to {MAX_MILESTONE_PURCHASES}.",
                field=f"steps.{index}.purchases",
            )
        seen.add(step.purchases)
    return tuple(sorted(steps, key=lambda m: m.purchases))


def due_milestones(ladder: Sequence[Milestone], purchases: int) -> list[Milestone]:
    """The steps a member reaches with their `purchases`-th purchase."""
    return [step for step in ladder if step.purchases == purchases]


def milestone_key(step: Milestone) -> str:
    """The per-member key that makes a step's gift happen once, whatever offer it names later."""
    return f"milestone:{step.purchases}"


WELCOME_KEY = "welcome"
