"""Program rules stored in the database: tiers, currency earn rates and numeric settings."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlmodel import col

from backend.db.tables import CurrencyRate, ProgramSetting, Tier


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
class ProgramRules:
    """Everything the ledger, purchases and tiers need to decide, read in one go."""

    tiers: tuple[TierRule, ...]
    rates: dict[str, Decimal]
    settings: dict[str, Any]

    def tier(self, code: str) -> TierRule:
        """Return the tier with this code (the lowest if the code is unknown)."""
        return next((t for t in self.tiers if t.code == code), self.tiers[0])

    def setting(self, key: str) -> Any:
        """Return a setting's value."""
        return self.settings[key]


async def load_rules(db: AsyncSession | AsyncConnection) -> ProgramRules:
    """Read the program rules from the database."""
    tier_table = Tier.__table__  # type: ignore[attr-defined]
    tiers = (await db.execute(select(tier_table).order_by(tier_table.c.position))).all()
    rates = (
        await db.execute(select(col(CurrencyRate.currency), col(CurrencyRate.points_per_unit)))
    ).all()
    settings = (await db.execute(select(col(ProgramSetting.key), col(ProgramSetting.value)))).all()
    return ProgramRules(
        tiers=tuple(_tier(row) for row in tiers),
        rates={c: Decimal(r) for c, r in rates},
        settings=dict(settings),
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
    """Rules shared by all requests for a few seconds: every read needs them, they rarely change."""

    def __init__(self, read: Callable[[], Awaitable[ProgramRules]], *, ttl_seconds: float) -> None:
        self._read = read
        self._ttl = ttl_seconds
        self._value: ProgramRules | None = None
        self._read_at = 0.0
        self._lock = asyncio.Lock()

    def _fresh(self) -> ProgramRules | None:
        """The cached rules if they are young enough."""
        young = time.monotonic() - self._read_at < self._ttl
        return self._value if young else None

    async def get(self) -> ProgramRules:
        """The rules, read from the database at most once per TTL however many ask at once."""
        cached = self._fresh()
        if cached is not None:
            return cached
        async with self._lock:
            cached = self._fresh()
            if cached is None:
                cached = self._value = await self._read()
                self._read_at = time.monotonic()
        return cached
