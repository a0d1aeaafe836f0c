"""Run an in-process measurement on a temporary SQLite file, then on a scratch PostgreSQL database."""

from __future__ import annotations

import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlalchemy.engine import make_url

from scripts.bench.seed import BENCH_DB, LOCAL_HOSTS, MAINTENANCE_DB
from scripts.pg_admin import pg_execute


async def on_each_database(
    measure: Callable[[str], Awaitable[str]], postgres_url: str | None, name: str
) -> None:
    """Print `measure(url)` on SQLite, then on `rewards_bench_<name>` (made, then dropped) if asked."""
    with tempfile.TemporaryDirectory() as folder:
        print(await measure(f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"))
    if not postgres_url:
        return
    url = make_url(postgres_url).set(drivername="postgresql+asyncpg")
    if url.host not in LOCAL_HOSTS:
        raise SystemExit("only a local PostgreSQL server is used for benchmarks")
    admin = url.set(database=MAINTENANCE_DB).render_as_string(hide_password=False)
    scratch = f"{BENCH_DB}_{name}"
    await pg_execute(admin, f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
    await pg_execute(admin, f'CREATE DATABASE "{scratch}"')
    try:
        print(await measure(url.set(database=scratch).render_as_string(hide_password=False)))
    finally:
        await pg_execute(admin, f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
