"""The wheel of points: its configuration, its exact odds and the documented function of a spin.

A spin lands on a segment drawn from `games.rng.SeededRng(seed, f"wheel:{nonce}")`: the first
`below(total weight)` is a ticket, and the segment is the first whose running total of weights
exceeds it (segments in their published order). So segment i comes up with probability
weight_i / total weight, exactly.

What the landed segment pays: its own kind, except that a POINTS segment pays nothing (counts as
TRY_AGAIN) when the day's points budget cannot pay its amount, and an OFFER segment pays nothing
when its offer can no longer be given; the spin then says why (`Void`).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from games.rng import SeededRng

MAX_SEGMENTS = 24
MAX_WEIGHT = 1_000_000
MAX_POINTS = 1_000_000
MAX_FREE_SPINS = 100
MAX_PRICE = 1_000_000
MAX_BUDGET = 1_000_000_000


class SegmentKind(enum.StrEnum):
    """What a segment gives."""

    POINTS = "POINTS"
    OFFER = "OFFER"
    EXTRA_SPIN = "EXTRA_SPIN"
    TRY_AGAIN = "TRY_AGAIN"


class Void(enum.StrEnum):
    """Why a landed segment paid nothing."""

    BUDGET_SPENT = "BUDGET_SPENT"
    OFFER_UNAVAILABLE = "OFFER_UNAVAILABLE"


class WheelRuleError(ValueError):
    """A configuration the wheel refuses: `code` says why, `field` points at the input."""

    def __init__(self, code: str, field: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Segment:
    """One slice of the wheel: its kind, weight, and points (POINTS) or offer (OFFER)."""

    kind: SegmentKind
    weight: int
    points: int = 0
    offer_id: int | None = None

    def as_json(self) -> dict[str, object]:
        """The stored (and published) form."""
        return {
            "kind": self.kind.value,
            "weight": self.weight,
            "points": self.points,
            "offer_id": self.offer_id,
        }

    @classmethod
    def of(cls, data: dict[str, object]) -> Segment:
        """Read the stored form."""
        offer = data.get("offer_id")
        return cls(
            SegmentKind(str(data["kind"])),
            int(str(data["weight"])),
            int(str(data.get("points") or 0)),
            None if offer is None else int(str(offer)),
        )


@dataclass(frozen=True)
class Wheel:
    """The wheel's configuration: segments, free spins per local day, price and daily budget."""

    segments: tuple[Segment, ...]
    free_spins_per_day: int = 1
    extra_spin_price: int | None = None  # None: extra spins are not sold
    daily_points_budget: int | None = None  # None: no budget

    @property
    def total_weight(self) -> int:
        """The sum of the weights: the denominator of every chance."""
        return sum(s.weight for s in self.segments)


def _check_range(value: int, low: int, high: int, code: str, field: str, what: str) -> None:
    """Refuse a whole number outside [low, high]."""
    if not low <= value <= high:
        raise WheelRuleError(code, field, f"{what} must be between {low} and {high:,}.")


def _check_segment(segment: Segment, field: str) -> Segment:
    """Refuse a segment whose fields do not fit its kind."""
    _check_range(segment.weight, 1, MAX_WEIGHT, "INVALID_WEIGHT", f"{field}.weight", "A weight")
    if segment.kind == SegmentKind.POINTS:
        _check_range(segment.points, 1, MAX_POINTS, "INVALID_POINTS", f"{field}.points", "Points")
    elif segment.points:
        raise WheelRuleError(
            "INVALID_POINTS", f"{field}.points", "Only POINTS segments give points."
        )
    if (segment.kind == SegmentKind.OFFER) != (segment.offer_id is not None):
        raise WheelRuleError(
            "INVALID_OFFER", f"{field}.offerId", "OFFER segments, and only they, name an offer."
        )
    return segment


def check_wheel(wheel: Wheel) -> Wheel:
    """Return the wheel if every part is within its limits; else the first problem."""
    if not 2 <= len(wheel.segments) <= MAX_SEGMENTS:
        raise WheelRuleError(
            "INVALID_SEGMENTS", "segments", f"A wheel has 2 to {MAX_SEGMENTS} segments."
        )
    for index, segment in enumerate(wheel.segments):
        _check_segment(segment, f"segments.{index}")
    _check_range(
        wheel.free_spins_per_day,
        0,
        MAX_FREE_SPINS,
        "INVALID_FREE_SPINS",
        "freeSpinsPerDay",
        "Free spins per day",
    )
    if wheel.extra_spin_price is not None:
        _check_range(
            wheel.extra_spin_price, 1, MAX_PRICE, "INVALID_PRICE", "extraSpinPrice", "The price"
        )
    if wheel.daily_points_budget is not None:
        _check_range(
            wheel.daily_points_budget,
            0,
            MAX_BUDGET,
            "INVALID_BUDGET",
            "dailyPointsBudget",
            "The daily budget",
        )
    return wheel


def land(seed: bytes, nonce: int, weights: Sequence[int]) -> int:
    """The index of the segment a spin lands on: the documented function (see the module)."""
    ticket = SeededRng(seed, f"wheel:{nonce}").below(sum(weights))
    for index, weight in enumerate(weights):
        if ticket < weight:
            return index
        ticket -= weight
    raise AssertionError("a ticket below the total weight always lands")


def pays_points(segment: Segment, points_left: int | None) -> bool:
    """Whether the budget left (None: no budget) can pay a segment (non-POINTS always can)."""
    return (
        segment.kind != SegmentKind.POINTS or points_left is None or segment.points <= points_left
    )


@dataclass(frozen=True)
class Outcome:
    """What a spin paid: the landed segment, the kind it paid (TRY_AGAIN when void) and why not."""

    index: int
    segment: Segment
    void: Void | None = None

    @property
    def kind(self) -> SegmentKind:
        """What the member got."""
        return SegmentKind.TRY_AGAIN if self.void else self.segment.kind

    @property
    def points(self) -> int:
        """Points won."""
        return self.segment.points if self.kind == SegmentKind.POINTS else 0


def verify(
    seed: bytes, nonce: int, segments: Sequence[Segment], void: Void | None = None
) -> Outcome:
    """Recompute a spin from its revealed seed, nonce, the published segments and its void."""
    index = land(seed, nonce, [s.weight for s in segments])
    segment = segments[index]
    if void == Void.BUDGET_SPENT and segment.kind != SegmentKind.POINTS:
        raise ValueError("only a POINTS segment can be void for the budget")
    if void == Void.OFFER_UNAVAILABLE and segment.kind != SegmentKind.OFFER:
        raise ValueError("only an OFFER segment can be void for its offer")
    return Outcome(index, segment, void)


@dataclass(frozen=True)
class Chance:
    """A segment's exact chance, and what it pays now (TRY_AGAIN when the budget cannot pay it)."""

    segment: Segment
    chance: Fraction
    pays: SegmentKind


def odds(wheel: Wheel, points_left: int | None) -> list[Chance]:
    """Every segment's exact chance and what it pays with `points_left` of today's budget."""
    total = wheel.total_weight
    return [
        Chance(
            s,
            Fraction(s.weight, total),
            s.kind if pays_points(s, points_left) else SegmentKind.TRY_AGAIN,
        )
        for s in wheel.segments
    ]


def chances_by_kind(chances: Sequence[Chance]) -> dict[SegmentKind, Fraction]:
    """The exact chance of each kind of payout (kinds that cannot come up are left out)."""
    found: dict[SegmentKind, Fraction] = {}
    for chance in chances:
        found[chance.pays] = found.get(chance.pays, Fraction(0)) + chance.chance
    return {kind: found[kind] for kind in SegmentKind if kind in found}


@dataclass(frozen=True)
class Allowance:
    """A member's spins today: free ones left and extra ones banked."""

    free_left: int
    extra: int

    @property
    def total(self) -> int:
        """Spins the member can take today without paying."""
        return self.free_left + self.extra


def allowance(wheel: Wheel | None, *, free_used: int, extra: int) -> Allowance:
    """The spins left today given the free spins used on the member's current local day."""
    if wheel is None:  # no wheel yet: nothing to spin
        return Allowance(0, 0)
    return Allowance(max(wheel.free_spins_per_day - free_used, 0), extra)


class Payment(enum.StrEnum):
    """What a spin was paid with, in the order they are used."""

    FREE = "FREE"
    EXTRA = "EXTRA"
    BOUGHT = "BOUGHT"


def payment(wheel: Wheel, left: Allowance, *, buy: bool) -> Payment:
    """How the next spin is paid: a free spin, then a banked one, then (if asked) points."""
    if left.free_left:
        return Payment.FREE
    if left.extra:
        return Payment.EXTRA
    if not buy:
        raise WheelRuleError("NO_SPINS_LEFT", "buyExtra", "No spins left today.")
    if wheel.extra_spin_price is None:
        raise WheelRuleError("EXTRA_SPINS_NOT_SOLD", "buyExtra", "Extra spins are not sold.")
    return Payment.BOUGHT
