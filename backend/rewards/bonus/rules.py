"""Pure bonus-event rules: what marketing may create, and the multiplier a purchase gets.

Overlapping events do not multiply each other: a purchase gets the best one that applies to it
(a double-points weekend and a triple-points hour give 3, not 6). An event limited to categories
multiplies the share of the order in those categories only, so its multiplier for the whole
order is 1 + (m - 1) x share; an order without lines has no share in any category.

An event limited to a segment carries a copy of the segment's filter, taken when it is created
(later edits of the segment do not change it). Whether the buyer is in it is the database's
answer (`matched`: the ids of the segment-limited events whose filter the buyer matches), asked
only when such an event covers the purchase (`segment_limited`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from backend.db.tables import BonusEvent
from backend.rewards.errors import DomainError
from backend.rewards.marketing.segments import SegmentFilter
from backend.rewards.program import BonusEventRule, ProgramRules
from backend.rewards.purchases.rules import Line
from backend.rewards.text import TextField, clean, width

NAME = TextField("INVALID_NAME", "name", "The name", width(BonusEvent, "name"), prose=True)
MAX_MULTIPLIER = Decimal(10)
MAX_LENGTH = timedelta(days=92)
MAX_CATEGORIES = 50
ONE = Decimal(1)


@dataclass(frozen=True)
class BonusEventDraft:
    """A bonus event as marketing describes it."""

    name: str
    multiplier: Decimal
    starts_at: datetime
    ends_at: datetime
    categories: tuple[str, ...] = ()
    tiers: tuple[str, ...] = ()
    segment: SegmentFilter | None = None  # the saved segment's filter, copied


def _utc(at: datetime) -> datetime:
    """A time in UTC (one without an offset is read as UTC)."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def check_draft(
    draft: BonusEventDraft, *, now: datetime, tiers: Sequence[str], categories: frozenset[str]
) -> BonusEventDraft:
    """The draft cleaned, or the first typed refusal."""
    multiplier = draft.multiplier
    if not (multiplier.is_finite() and ONE < multiplier <= MAX_MULTIPLIER) or (
        multiplier.as_tuple().exponent < -3  # type: ignore[operator]
    ):
        raise DomainError(
            "INVALID_MULTIPLIER",
            "The multiplier must be above 1 and at most 10, with up to 3 decimals.",
            field="multiplier",
        )
    starts, ends = _utc(draft.starts_at), _utc(draft.ends_at)
    if not starts < ends <= starts + MAX_LENGTH or ends <= now:
        raise DomainError(
            "INVALID_WINDOW",
            "The event must end after it starts, at most 92 days later, and not in the past.",
            field="endsAt",
        )
    _check_codes(draft.categories, categories, "categories", "UNKNOWN_CATEGORY", MAX_CATEGORIES)
    _check_codes(draft.tiers, frozenset(tiers), "tiers", "UNKNOWN_TIER", len(tiers))
    return replace(
        draft,
        name=clean(draft.name, NAME),
        multiplier=multiplier.quantize(Decimal("0.001")),  # as the column stores it
        starts_at=starts,
        ends_at=ends,
    )


def _check_codes(
    codes: Sequence[str], known: frozenset[str], field: str, code: str, most: int
) -> None:
    """Each code known, none twice, not too many."""
    if len(codes) > most:
        raise DomainError("TOO_MANY_CODES", f"At most {most} {field}.", field=field)
    for index, value in enumerate(codes):
        if value not in known or value in codes[:index]:
            raise DomainError(
                code, f"Use each published code of {field} once.", field=f"{field}.{index}"
            )


def _share(lines: Iterable[Line], categories: tuple[str, ...]) -> Decimal:
    """The share of an order's line value in some categories (all of it without a limit)."""
    if not categories:
        return ONE
    values = [(line.unit_price * line.quantity, line.category in categories) for line in lines]
    total = sum((value for value, _ in values), Decimal(0))
    inside = sum((value for value, hit in values if hit), Decimal(0))
    return inside / total if total > 0 else Decimal(0)


def applies(
    event: BonusEventRule, *, at: datetime, tier: str, matched: Collection[int] = ()
) -> bool:
    """Tell whether an event covers a purchase at `at` (from its start, before its end) by a tier
    (and, for a segment-limited event, by a member the database found in its segment)."""
    return (
        event.starts_at <= at < event.ends_at
        and (not event.tiers or tier in event.tiers)
        and (event.segment is None or event.id in matched)
    )


def segment_limited(
    events: Iterable[BonusEventRule], *, at: datetime, tier: str
) -> tuple[BonusEventRule, ...]:
    """The segment-limited events that would cover a purchase if the buyer is in their segment."""
    return tuple(
        event
        for event in events
        if event.segment is not None and applies(event, at=at, tier=tier, matched=(event.id,))
    )


def best_multiplier(
    events: Iterable[BonusEventRule],
    *,
    at: datetime,
    tier: str,
    lines: Sequence[Line],
    matched: Collection[int] = (),
) -> Decimal:
    """The best bonus multiplier of the events covering a purchase (1 when none does)."""
    return max(
        (
            ONE + (event.multiplier - ONE) * _share(lines, event.categories)
            for event in events
            if applies(event, at=at, tier=tier, matched=matched)
        ),
        default=ONE,
    )


def bonus_multiplier(
    program: ProgramRules,
    *,
    at: datetime,
    tier: str,
    lines: Sequence[Line],
    matched: Collection[int] = (),
) -> Decimal:
    """The best active bonus multiplier of a purchase, from the cached program rules."""
    return best_multiplier(program.bonus_events, at=at, tier=tier, lines=lines, matched=matched)
