"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Store naive UTC, hand back aware UTC, so both databases compare times the same way.

    Each value goes through one function each way (reads of timestamps are many on hot paths):
    on SQLite the text is written and parsed here in the format SQLite's `DATETIME` uses
    (`2026-06-01 09:30:00.000000`); elsewhere the driver's own datetime is marked or made naive.
    """

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        """Convert an aware time to naive UTC; refuse naive input."""
        return _to_naive_utc(value)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        """Mark the stored naive UTC time as UTC."""
        return _marked_utc(value)

    def bind_processor(self, dialect: Any) -> Any:
        """One function from an aware time to what the driver takes."""
        if dialect.name == "sqlite":
            return _sqlite_text
        if self.impl_instance.dialect_impl(dialect).bind_processor(dialect) is None:
            return _to_naive_utc
        return super().bind_processor(dialect)

    def result_processor(self, dialect: Any, coltype: Any) -> Any:
        """One function from what the driver gives to an aware UTC time."""
        if dialect.name == "sqlite":
            return _from_sqlite_text
        if self.impl_instance.dialect_impl(dialect).result_processor(dialect, coltype) is None:
            return _marked_utc
        return super().result_processor(dialect, coltype)


def _naive_utc(value: datetime) -> datetime:
    """An aware time as naive UTC; a naive one is refused."""
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    return value.astimezone(UTC).replace(tzinfo=None)


def _to_naive_utc(value: datetime | None) -> datetime | None:
    """`_naive_utc`, None kept."""
    return None if value is None else _naive_utc(value)


def _sqlite_text(value: datetime | None) -> str | None:
    """An aware time as SQLite's `DATETIME` stores it, in UTC."""
    return None if value is None else _naive_utc(value).isoformat(" ", "microseconds")


def _from_sqlite_text(value: str | None) -> datetime | None:
    """SQLite's stored text as an aware UTC time."""
    return None if value is None else datetime.fromisoformat(value).replace(tzinfo=UTC)


def _marked_utc(value: datetime | None) -> datetime | None:
    """A driver's naive UTC time marked as UTC."""
    return None if value is None else value.replace(tzinfo=UTC)
