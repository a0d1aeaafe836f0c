"""SQLModel tables: persistence only; the API converts rows to its own types."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Numeric, UniqueConstraint, func, text
from sqlmodel import Field, SQLModel

from backend.db.types import UTCDateTime


def _utc(**kwargs: Any) -> Any:
    """A non-null UTC timestamp column."""
    return Field(sa_type=UTCDateTime, **kwargs)


class Member(SQLModel, table=True):
    """A loyalty member; the cached balances are kept in the same transaction as the ledger."""

    __table_args__ = (
        # Staff look members up by e-mail case-insensitively; the oldest membership first.
        Index("ix_member_email_lower", func.lower(text("email")), "id"),
        # The settle job's members above the lowest tier whose grace may be over.
        Index("ix_member_tier_reached", "tier_code", "tier_reached_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    uid: str | None = Field(default=None, unique=True, max_length=128)
    card_number: str = Field(unique=True, max_length=20)
    referral_code: str = Field(unique=True, max_length=16)
    referred_by_id: int | None = Field(default=None, foreign_key="member.id")
    display_name: str | None = Field(default=None, max_length=80)
    email: str | None = Field(default=None, max_length=254)
    birth_date: date | None = None
    locale: str = Field(default="en", max_length=16)
    time_zone: str = Field(default="UTC", max_length=64)
    marketing_consent: bool = False
    status: str = Field(default="active", max_length=16)
    enrolled_at: datetime = _utc()
    tier_code: str = Field(default="member", max_length=32)
    tier_reached_at: datetime = _utc()
    balance: int = Field(default=0, sa_type=BigInteger)
    pending: int = Field(default=0, sa_type=BigInteger)
    debt: int = Field(default=0, sa_type=BigInteger)


class LedgerEntry(SQLModel, table=True):
    """One movement of points: `amount` on the spendable account, `pending_delta` on pending.

    Append-only: database triggers (migration 0003) refuse UPDATE and DELETE.
    """

    __tablename__ = "ledger_entry"
    __table_args__ = (Index("ix_ledger_member_id", "member_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id")
    kind: str = Field(max_length=16)
    amount: int = Field(sa_type=BigInteger)
    pending_delta: int = Field(default=0, sa_type=BigInteger)
    balance_after: int = Field(sa_type=BigInteger)
    pending_after: int = Field(sa_type=BigInteger)
    reason: str = Field(max_length=200)
    source: str = Field(max_length=16)
    source_ref: str | None = Field(default=None, max_length=128)
    related_entry_id: int | None = Field(default=None, foreign_key="ledger_entry.id")
    actor: str | None = Field(default=None, max_length=128)
    created_at: datetime = _utc(index=True)


class TierMonth(SQLModel, table=True):
    """Tier-qualifying points a member earned in one UTC calendar month (net of reversals).

    Kept in the same transaction as the ledger entries that count, so tier progress reads a
    handful of rows instead of summing a member's history; unlike entries, rows are updated.
    """

    __tablename__ = "tier_month"

    member_id: int = Field(foreign_key="member.id", primary_key=True)
    month: date = Field(primary_key=True)  # the first day of the month
    points: int = Field(default=0, sa_type=BigInteger)


class Lot(SQLModel, table=True):
    """Points from one earn: spendable from `available_at`, gone at `expires_at`, spent oldest first."""

    __table_args__ = (
        Index("ix_lot_member_open", "member_id", "remaining", "expires_at"),
        # The settle job's due lots, wherever they are: partial, so each holds only the few lots
        # still waiting (pending ones; spendable ones with points left). Queries must repeat
        # the condition literally (`released = 0` on SQLite, which stores booleans as 0 and 1).
        Index(
            "ix_lot_unreleased",
            "available_at",
            postgresql_where=text("NOT released"),
            sqlite_where=text("released = 0"),
        ),
        Index(
            "ix_lot_open_expiry",
            "expires_at",
            postgresql_where=text("released AND remaining > 0"),
            sqlite_where=text("released = 1 AND remaining > 0"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id")
    entry_id: int = Field(foreign_key="ledger_entry.id", unique=True)
    amount: int = Field(sa_type=BigInteger)
    remaining: int = Field(sa_type=BigInteger)
    expired: int = Field(default=0, sa_type=BigInteger)
    earned_at: datetime = _utc()
    available_at: datetime = _utc()
    expires_at: datetime = _utc()
    released: bool = True


class LotAllocation(SQLModel, table=True):
    """How many points of a lot one debit entry took (redemption, expiry, reversal, debt); append-only."""

    __tablename__ = "lot_allocation"

    id: int | None = Field(default=None, primary_key=True)
    entry_id: int = Field(foreign_key="ledger_entry.id", index=True)
    lot_id: int = Field(foreign_key="lot.id", index=True)
    amount: int = Field(sa_type=BigInteger)


class IdempotencyKey(SQLModel, table=True):
    """The first answer of a retriable write (a snapshot of its result), keyed by scope and key."""

    __tablename__ = "idempotency_key"
    __table_args__ = (UniqueConstraint("scope", "key", name="uq_idempotency_scope_key"),)

    id: int | None = Field(default=None, primary_key=True)
    scope: str = Field(max_length=64)
    key: str = Field(max_length=300)  # room for a refund's order id and refund id (128 each)
    fingerprint: str = Field(max_length=64)
    result: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _utc()


class Purchase(SQLModel, table=True):
    """An order reported by a store or e-commerce system, with the points it earned."""

    id: int | None = Field(default=None, primary_key=True)
    order_id: str = Field(unique=True, max_length=128)
    member_id: int = Field(foreign_key="member.id", index=True)
    amount: Decimal = Field(sa_column=Column(Numeric(18, 4), nullable=False))
    currency: str = Field(max_length=3)
    channel: str = Field(max_length=64)
    occurred_at: datetime = _utc()
    lines: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    points: int = Field(sa_type=BigInteger)
    earn_entry_id: int | None = Field(default=None, foreign_key="ledger_entry.id")
    refunded_amount: Decimal = Field(
        default=Decimal(0), sa_column=Column(Numeric(18, 4), nullable=False)
    )
    reversed_points: int = Field(default=0, sa_type=BigInteger)
    recorded_by: str = Field(max_length=128)
    created_at: datetime = _utc()


class Tier(SQLModel, table=True):
    """A VIP tier: reached by points earned in a rolling window; multiplies purchase points."""

    code: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=64)
    position: int = Field(unique=True)
    threshold: int = Field(sa_type=BigInteger)
    multiplier: Decimal = Field(sa_column=Column(Numeric(6, 3), nullable=False))
    perks: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class CurrencyRate(SQLModel, table=True):
    """Purchase points per whole unit of a currency."""

    __tablename__ = "currency_rate"

    currency: str = Field(primary_key=True, max_length=3)
    points_per_unit: Decimal = Field(sa_column=Column(Numeric(12, 4), nullable=False))


class ProgramSetting(SQLModel, table=True):
    """A program rule stored in the database so staff can change it without a redeploy."""

    __tablename__ = "program_setting"

    key: str = Field(primary_key=True, max_length=64)
    value: Any = Field(sa_column=Column(JSON, nullable=False))


class AuditLog(SQLModel, table=True):
    """Who did what to whom, when and why: every staff action that changes a balance."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    actor_uid: str = Field(max_length=128)
    actor_role: str = Field(max_length=16)
    action: str = Field(max_length=64)
    member_id: int | None = Field(default=None, foreign_key="member.id", index=True)
    entry_id: int | None = Field(default=None, foreign_key="ledger_entry.id")
    reason: str = Field(max_length=500)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _utc()


metadata = SQLModel.metadata
