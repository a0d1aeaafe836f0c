"""One statement on a PostgreSQL maintenance database (create or drop scratch databases)."""

from __future__ import annotations

import asyncpg
from sqlalchemy.engine import URL, make_url


async def pg_execute(url: str | URL, sql: str) -> str:
    """Run `sql` outside a transaction on the database `url` names; return the server version."""
    target = make_url(url)
    conn = await asyncpg.connect(
        host=target.host,
        port=target.port or 5432,
        user=target.username,
        password=target.password,
        database=target.database,
    )
    try:
        await conn.execute(sql)
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()
