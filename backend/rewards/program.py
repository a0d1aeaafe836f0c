"""Program rules stored in the database: tiers, currency earn rates, numeric settings, the
earning rules of actions and the bonus events."""

from __future__ import annotations

import asyncio
import logging
import time
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

log = logging.getLogger(__name__)


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


class RulesCache:
    """Rules shared by all requests: served from memory at once, re-read in the background.

    Callers must ask before they borrow a connection: only the very first `get` waits (when
    start-up did not `load`), and it waits on one shared read. Once the rules are older than the
    TTL, the next `get` starts one re-read on its own short connection and answers with the
    rules it has, so no request ever waits for the pool on the rules' behalf.
    """

    def __init__(self, read: Callable[[], Awaitable[ProgramRules]], *, ttl_seconds: float) -> None:
        self._read = read
        self._ttl = ttl_seconds
        self._value: ProgramRules | None = None
        self._read_at = 0.0
        self._reading: asyncio.Task[ProgramRules] | None = None

    async def load(self) -> ProgramRules:
        """Read the rules now and keep them (at start-up)."""
        return await self._start_reading()

    @property
    def latest(self) -> ProgramRules | None:
        """The newest rules this process has read, without reading (None before the first)."""
        return self._value

    def offer(self, rules: ProgramRules) -> ProgramRules:
        """Keep rules read elsewhere (a unit of work that found ours out of date) if newer;
        return the newer of the two."""
        if self._value is None or rules.version > self._value.version:
            self._value, self._read_at = rules, time.monotonic()
        return self._value

    async def get(self) -> ProgramRules:
        """The last rules read; stale ones are re-read in the background."""
        if self._value is None:
            # Shielded: a caller that goes away must not cancel the read the others wait for.
            return await asyncio.shield(self._start_reading())
        stale = time.monotonic() - self._read_at >= self._ttl
        if stale and self._reading is None:
            self._start_reading().add_done_callback(self._log_failure)
        return self._value

    def _start_reading(self) -> asyncio.Task[ProgramRules]:
        """The read in flight, or a new one: callers at the same moment share one read."""
        if self._reading is None:
            self._reading = asyncio.create_task(self._read_and_keep())
        return self._reading

    async def _read_and_keep(self) -> ProgramRules:
        """Read the rules; after a failure, keep the old ones and try again one TTL later."""
        try:
            rules = await self._read()
        except Exception:
            self._read_at = time.monotonic()
            raise
        finally:
            self._reading = None
        self._read_at = time.monotonic()
        return self.offer(rules)  # a unit of work may have offered newer ones meanwhile

    def _log_failure(self, task: asyncio.Task[ProgramRules]) -> None:
        """Log a background re-read that failed (requests go on with the last rules read)."""
        if not task.cancelled() and task.exception() is not None:
            log.error("re-reading the program rules failed", exc_info=task.exception())

    async def close(self) -> None:
        """Stop a read in flight (at shutdown)."""
        if self._reading is not None:
            self._reading.cancel()
            await asyncio.wait({self._reading})
