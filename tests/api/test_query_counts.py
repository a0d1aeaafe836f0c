"""List queries cost a constant number of SQL statements, however long the list."""

from __future__ import annotations

from sqlalchemy import event
from strawberry.relay import GlobalID

from tests.api.operations import ENROLL
from tests.helpers import give

HISTORY = """
{ me { points { balance } tier { current { code } qualifyingPoints }
       history(first: 50) { edges { node { id kind points relatedEntry { id kind } } } } } }
"""


async def statements_for_history(api, uows, count_queries, uid: str, entries: int) -> int:
    """Statements the dashboard costs for a member with `entries` entries."""
    body = await api(ENROLL, {"input": {"birthDate": "1990-01-01"}}, f"member:{uid}")
    member_id = int(GlobalID.from_id(body["data"]["enroll"]["member"]["id"]).node_id)
    for _ in range(entries):
        await give(uows, member_id, 5)
    await api(HISTORY, token=f"member:{uid}")  # warm the shared program-rules cache
    count_queries.count = 0
    body = await api(HISTORY, token=f"member:{uid}")
    assert len(body["data"]["me"]["history"]["edges"]) == entries
    return count_queries.count


async def test_history_costs_the_same_statements_for_2_or_40_entries(api, uows, count_queries):
    few = await statements_for_history(api, uows, count_queries, "few", 2)
    many = await statements_for_history(api, uows, count_queries, "many", 40)
    assert few == many, (few, many)
    assert many <= 5, many  # member, points, tier summary, history page, linked entries


async def test_a_request_reads_on_one_connection_and_gives_it_back(
    api, uows, database, count_queries
):
    await statements_for_history(api, uows, count_queries, "solo", 3)
    checkouts: list[object] = []
    engine = database.reader.sync_engine

    def on_checkout(*args: object) -> None:
        checkouts.append(args)

    event.listen(engine, "checkout", on_checkout)
    try:
        body = await api(HISTORY, token="member:solo")
    finally:
        event.remove(engine, "checkout", on_checkout)
    assert len(body["data"]["me"]["history"]["edges"]) == 3
    assert len(checkouts) == 1
    assert engine.pool.checkedout() == 0
