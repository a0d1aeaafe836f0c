"""Program rules stored in the database: tiers, currency earn rates, numeric settings, the
earning rules of actions and the bonus events."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlmodel import col

from backend.db.tables import (
    BonusEvent,
    CurrencyRate,
    EarningRule,
    ProgramSetting,
    RulesVersion,
    Tier,
)
from backend.rewards.actions.rules import ActionKind, Reporter
from backend.rewards.actions.rules import EarningRule as EarningRuleValue
from backend.rewards.marketing.segments import SegmentFilter
from backend.rewards.shared import SharedValue


@dataclass(frozen=True)
class TierRule:
    """One rung of the VIP ladder."""

    code: str
    name: str
    position: int
    threshold: int
    multiplier: Decimal
    perks: tuple[str, ...]


@dataclass(frozen=True)
class BonusEventRule:
    """A window in which purchase points are multiplied (empty lists: every category or tier;
    no segment: every member)."""

    id: int
    name: str
    multiplier: Decimal
    starts_at: datetime
    ends_at: datetime
    categories: tuple[str, ...]
    tiers: tuple[str, ...]
    segment: SegmentFilter | None = None  # the copy taken when the event was created


@dataclass(frozen=True)
class ProgramRules:
    """Everything the ledger, purchases and tiers need to decide, read in one go.

    `version` is the `rules_version` counter read before the rules: these rules are at least as
    new as that version, so rules whose version equals the counter's current value are current.
    """

    tiers: tuple[TierRule, ...]
    rates: dict[str, Decimal]
    settings: dict[str, Any]
    version: int
    earning: dict[ActionKind, EarningRuleValue] = field(default_factory=dict)
    bonus_events: tuple[BonusEventRule, ...] = ()

    def tier(self, code: str) -> TierRule:
        """Return the tier with this code (the lowest if the code is unknown)."""
        return next((t for t in self.tiers if t.code == code), self.tiers[0])

    def setting(self, key: str) -> Any:
        """Return a setting's value."""
        return self.settings[key]


RULES_VERSION = select(col(RulesVersion.version))


async def rules_version(db: AsyncSession | AsyncConnection) -> int:
    """The count of program-rules changes committed (triggers keep it; one primary-key read)."""
    return int((await db.execute(RULES_VERSION)).scalar_one())


async def load_rules(db: AsyncSession | AsyncConnection) -> ProgramRules:
    """Read the program rules from the database, labelled with the version read first."""
    # The version first: a change committed between the two reads makes the label older than the
    # rules, never newer, so the next version check re-reads rather than trusting stale rules.
    version = await rules_version(db)
    tier_table = Tier.__table__  # type: ignore[attr-defined]
    tiers = (await db.execute(select(tier_table).order_by(tier_table.c.position))).all()
    rates = (
        await db.execute(select(col(CurrencyRate.currency), col(CurrencyRate.points_per_unit)))
    ).all()
    settings = (await db.execute(select(col(ProgramSetting.key), col(ProgramSetting.value)))).all()
    earning = (await db.execute(select(EarningRule.__table__))).all()  # type: ignore[attr-defined]
    # Every event: marketing makes a few a month, and a purchase may be reported late, so one
    # that ended long ago can still apply to it.
    events = (await db.execute(select(BonusEvent.__table__))).all()  # type: ignore[attr-defined]
    return ProgramRules(
        tiers=tuple(_tier(row) for row in tiers),
        rates={c: Decimal(r) for c, r in rates},
        settings=dict(settings),
        version=version,
        earning={ActionKind(row.action): _earning(row) for row in earning},
        bonus_events=tuple(sorted((_event(row) for row in events), key=lambda e: e.starts_at)),
    )


def _earning(row: Any) -> EarningRuleValue:
    """Convert an earning rule row."""
    return EarningRuleValue(
        action=ActionKind(row.action),
        points=row.points,
        unit=row.unit,
        daily_cap=row.daily_cap,
        lifetime_cap=row.lifetime_cap,
        reporter=Reporter(row.reporter),
        streak_days=row.streak_days,
        streak_bonus=row.streak_bonus,
    )


def _event(row: Any) -> BonusEventRule:
    """Convert a bonus event row."""
    return BonusEventRule(
        id=row.id,
        name=row.name,
        multiplier=Decimal(row.multiplier),
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        categories=tuple(row.categories),
        tiers=tuple(row.tiers),
        segment=None if row.segment_filter is None else SegmentFilter.of_json(row.segment_filter),
    )


def _tier(row: Any) -> TierRule:
    """Convert a tier row to a rule."""
    return TierRule(
        code=row.code,
        name=row.name,
        position=row.position,
        threshold=row.threshold,
        multiplier=Decimal(row.multiplier),
        perks=tuple(row.perks),
    )


class RulesCache(SharedValue[ProgramRules]):
    """The program rules shared by all requests (see `SharedValue`); rules a unit of work read
    are kept when they are newer."""

    def __init__(self, read: Callable[[], Awaitable[ProgramRules]], *, ttl_seconds: float) -> None:
        super().__init__(read, ttl_seconds=ttl_seconds, what="the program rules")

    def offer(self, rules: ProgramRules) -> ProgramRules:
        """Keep rules read elsewhere (a unit of work that found ours out of date) if newer;
        return the newer of the two."""
        return self.keep(rules)

    def keep(self, value: ProgramRules) -> ProgramRules:
        """Keep rules just read if they are newer than those kept; return the newer."""
        if self._value is None or value.version > self._value.version:
            return super().keep(value)
        return self._value
