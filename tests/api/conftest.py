"""API fixtures: the real app over the test database, a fake verifier and a GraphQL client."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from backend.db.engine import Database, open_database
from backend.main import create_app
from backend.settings import Settings
from tests.fakes import FakeVerifier


class Api:
    """Posts GraphQL operations as a given caller."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def raw(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> httpx.Response:
        """Post an operation and return the HTTP response."""
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        return await self.client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )

    async def __call__(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        """Post an operation and return the decoded body."""
        return (await self.raw(query, variables, token)).json()


@pytest.fixture
def verifier() -> FakeVerifier:
    """The fake token verifier."""
    return FakeVerifier()


@pytest.fixture
async def api(database, clock, verifier) -> AsyncIterator[Api]:
    """A client of the real app, in production mode (no suggestions), jobs off."""
    async with _client(
        Settings(mode="production", jobs_enabled=False), database, clock, verifier
    ) as client:
        yield Api(client)


@pytest.fixture
async def steady_api(database, clock, verifier) -> AsyncIterator[Api]:
    """`api` whose shared rules and labels never go stale within a test: a test that counts a
    request's statements and checkouts must not count a background re-read on a slow machine."""
    settings = Settings(mode="production", jobs_enabled=False, rules_cache_seconds=3600)
    async with _client(settings, database, clock, verifier) as client:
        yield Api(client)


def _client(settings: Settings, database, clock, verifier) -> httpx.AsyncClient:
    """A client of the real app built with `settings`."""
    app = create_app(settings, verifier=verifier, clock=clock, database=database)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


class StatementCounter:
    """Counts SQL statements sent through an engine."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *args: Any) -> None:
        """Count one statement."""
        self.count += 1


@pytest.fixture
def count_queries(database):
    """Count statements on the reader and writer engines while a block runs."""
    counter = StatementCounter()
    for engine in database.engines:
        event.listen(engine, "before_cursor_execute", counter)
    yield counter
    for engine in database.engines:
        event.remove(engine, "before_cursor_execute", counter)


@pytest.fixture
async def sqlite_database(tmp_path, sqlite_template) -> AsyncIterator[Database]:
    """A private SQLite database, for transport tests that never reach SQL."""
    path = tmp_path / "transport.db"
    shutil.copy(sqlite_template, path)
    db = open_database(f"sqlite+aiosqlite:///{path}")
    yield db
    await db.dispose()


@pytest.fixture
def client_for(clock, verifier) -> Callable[..., httpx.AsyncClient]:
    """A client of the app over a database, with settings overrides (production, jobs off)."""

    def build(database: Database, **settings: Any) -> httpx.AsyncClient:
        """The client (use it as an async context manager)."""
        config = Settings(**{"mode": "production", "jobs_enabled": False, **settings})
        return _client(config, database, clock, verifier)

    return build
