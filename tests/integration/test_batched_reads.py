"""`Database.read`: a batch of synchronous reads on one borrowed connection, given back at once."""

from __future__ import annotations

import asyncio
import threading

import pytest
from sqlalchemy import text


async def test_a_batch_runs_its_statements_on_one_connection(database):
    def two_statements(conn):
        return conn.execute(text("SELECT 1")).scalar(), id(conn.connection.dbapi_connection)

    (one, first), (_, second) = await database.read(
        lambda conn: [two_statements(conn), two_statements(conn)]
    )
    assert (one, first) == (1, second)
    assert database.read_connections_out() == 0


async def test_a_failing_batch_gives_its_connection_back(database):
    def broken(conn):
        conn.execute(text("SELECT 1"))
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await database.read(broken)
    assert database.read_connections_out() == 0


async def test_more_batches_at_once_than_reader_connections_all_finish(database):
    answers = await asyncio.gather(
        *(
            database.read(lambda conn, n=n: conn.execute(text(f"SELECT {n}")).scalar())
            for n in range(40)
        )
    )
    assert answers == list(range(40))
    assert database.read_connections_out() == 0


async def test_a_batch_runs_on_the_event_loops_thread(database):
    loop_thread = threading.get_ident()

    def where(conn):
        return threading.get_ident(), conn.execute(text("SELECT 1")).scalar()

    thread, one = await database.read(where)
    assert (thread, one) == (loop_thread, 1)  # SQLite in place, PostgreSQL's greenlet shares it
    assert database.read_connections_out() == 0
