"""Shared fixtures: a migrated database per test on SQLite, and on PostgreSQL when TEST_DATABASE_URL is set;
rate-limit storage in process, and on Redis when TEST_REDIS_URL is set."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import coredis
import limits.aio.storage.memory
import pytest
from hypothesis import settings
from sqlalchemy.engine import make_url

from backend.db.engine import Database, open_database
from backend.db.migrate import upgrade_to_head
from backend.rewards.clock import ManualClock
from backend.rewards.uow import UnitOfWorkFactory
from scripts.pg_admin import pg_execute

PG_URL = os.environ.get("TEST_DATABASE_URL")
BACKENDS = ["sqlite", *(["postgresql"] if PG_URL else [])]
REDIS_URL = os.environ.get("TEST_REDIS_URL")
RATE_STORES = ["memory", *(["redis"] if REDIS_URL else [])]
START = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
DAY_SECONDS = 86_400
# Property tests check behaviour, not speed: a busy machine must not fail them on time.
settings.register_profile("rewards", deadline=None)
settings.load_profile("rewards")


def asyncpg_url(url: str, database: str | None = None) -> str:
    """Normalise a PostgreSQL URL to the asyncpg driver, optionally naming another database."""
    parsed = make_url(url).set(drivername="postgresql+asyncpg")
    if database:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


async def _migrate(url: str) -> None:
    """Apply all migrations to an empty database."""
    db = open_database(url)
    try:
        await upgrade_to_head(db.writer)
    finally:
        await db.dispose()


async def _pg_admin(sql: str) -> None:
    """Run one statement on the PostgreSQL maintenance connection."""
    assert PG_URL is not None
    await pg_execute(asyncpg_url(PG_URL), sql)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    asyncio.run(_migrate(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str | None]:
    """A migrated PostgreSQL template database each test clones (None without PostgreSQL)."""
    if not PG_URL:
        yield None
        return
    name = f"rewards_tpl_{uuid.uuid4().hex[:8]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    asyncio.run(_migrate(asyncpg_url(PG_URL, name)))
    yield name
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=BACKENDS)
async def database(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path, pg_template: str | None
) -> AsyncIterator[Database]:
    """A freshly migrated, private database for one test."""
    if request.param == "sqlite":
        path = tmp_path / "rewards.db"
        shutil.copy(sqlite_template, path)
        db = open_database(f"sqlite+aiosqlite:///{path}")
        yield db
        await db.dispose()
        return
    assert PG_URL is not None
    name = f"rewards_t_{uuid.uuid4().hex[:12]}"
    await _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"')
    db = open_database(asyncpg_url(PG_URL, name))  # production-sized pools, as on SQLite
    yield db
    await db.dispose()
    await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class WindowStartClock:
    """The wall clock as `limits`' in-process storage reads it, moved on to the next UTC midnight:
    the start of every second, minute, hour and day window, from which real time runs on."""

    def __init__(self) -> None:
        self.offset = -time.time() % DAY_SECONDS

    def time(self) -> float:
        """Seconds since the epoch, moved by the offset."""
        return time.time() + self.offset


@pytest.fixture(autouse=True)
def rate_windows_start_with_the_test(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process rate-limit windows start as the test starts, as Redis ones start at a key's
    first hit: otherwise a window aligned to the wall clock's minute can end between two hits of
    a test (the second then counts only in part, and a hit over the limit gets through)."""
    monkeypatch.setattr(limits.aio.storage.memory, "time", WindowStartClock())


@pytest.fixture
def clock() -> ManualClock:
    """A clock fixed at the start of June 2026 that tests move by hand."""
    return ManualClock(START)


@pytest.fixture
def uows(database: Database, clock: ManualClock) -> UnitOfWorkFactory:
    """Units of work over the test database and the manual clock."""
    return UnitOfWorkFactory(database.session_factory(), clock)


@pytest.fixture(params=RATE_STORES)
async def rate_store(request: pytest.FixtureRequest) -> AsyncIterator[dict[str, str | None]]:
    """Settings for the rate-limit counters: in process, or in Redis under a key prefix of their own."""
    if request.param == "memory":
        yield {"redis_url": None}
        return
    assert REDIS_URL is not None
    client = coredis.Redis.from_url(REDIS_URL)
    await client.ping()  # a Redis that does not answer fails the test; limits would fail open
    prefix = f"rewards-test-{uuid.uuid4().hex[:12]}"
    yield {"redis_url": REDIS_URL, "redis_key_prefix": prefix}
    keys = [key async for key in client.scan_iter(match=f"{prefix}:*")]
    if keys:
        await client.delete(keys)  # only this test's keys: never FLUSHALL a shared server
