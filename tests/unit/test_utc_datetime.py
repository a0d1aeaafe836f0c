"""`UTCDateTime`'s one-function processors give what SQLAlchemy's own chain gives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.types import TypeDecorator

from backend.db.types import UTCDateTime

DIALECTS = [sqlite.dialect(), postgresql.asyncpg.dialect()]
ZONES = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
AWARE = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=ZONES)


def stock(dialect):
    """The bind and result processors TypeDecorator composes (the dialect's impl's with ours)."""
    kind = UTCDateTime().dialect_impl(dialect)
    return TypeDecorator.bind_processor(kind, dialect), TypeDecorator.result_processor(
        kind, dialect, None
    )


def ours(dialect):
    """The processors SQLAlchemy uses for the column type (as statements look them up)."""
    kind = UTCDateTime()
    return kind._cached_bind_processor(dialect), kind._cached_result_processor(dialect, None)


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
@given(value=AWARE)
def test_binds_and_reads_back_as_the_stock_chain_does(dialect, value):
    kind = UTCDateTime()
    bind, result = ours(dialect)
    stock_bind, stock_result = stock(dialect)
    stored = bind(value)
    assert stored == (stock_bind(value) if stock_bind else kind.process_bind_param(value, dialect))
    read = result(stored)
    expected = stock_result(stored) if stock_result else kind.process_result_value(stored, dialect)
    assert read == expected == value
    assert read.tzinfo is UTC


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
def test_none_passes_and_naive_times_are_refused(dialect):
    bind, result = ours(dialect)
    assert (bind(None), result(None)) == (None, None)
    with pytest.raises(ValueError, match="naive datetime"):
        bind(datetime(2026, 6, 1, 9, 30))


def test_sqlite_text_is_the_dialects_storage_format():
    bind, _ = ours(sqlite.dialect())
    moment = datetime(2026, 6, 1, 11, 30, 0, 5, tzinfo=timezone(timedelta(hours=2)))
    assert bind(moment) == "2026-06-01 09:30:00.000005"
