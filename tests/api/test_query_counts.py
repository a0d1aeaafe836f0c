"""List queries cost a constant number of SQL statements and pool checkouts, however long the list."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event
from strawberry.relay import GlobalID

from backend.api.loaders import Loaders
from tests.api.operations import ENROLL, RECORD
from tests.api.test_bonus_events import create as create_event
from tests.api.test_marketing_api import save
from tests.api.test_purchases_api import POS, enrolled, order
from tests.helpers import give


@pytest.fixture
def api(steady_api):
    """Here every request's statements and checkouts are counted: no background re-reads."""
    return steady_api


HISTORY = """
{ me { points { balance } tier { current { code } qualifyingPoints }
       history(first: 50) { edges { node { id kind points relatedEntry { id kind } } } } } }
"""


@contextmanager
def counting_checkouts(database) -> Iterator[dict[str, int]]:
    """Count connections taken from the readers' pools and the writer's while a block runs."""
    counts = {"reader": 0, "writer": 0}
    listeners = []
    for engine in database.engines:
        name = "writer" if engine is database.writer.sync_engine else "reader"

        def on_checkout(*_: object, name: str = name) -> None:
            counts[name] += 1

        listeners.append((engine, on_checkout))
        event.listen(engine, "checkout", on_checkout)
    try:
        yield counts
    finally:
        for engine, listener in listeners:
            event.remove(engine, "checkout", listener)


async def costs_of_history(api, uows, database, count_queries, uid: str, entries: int):
    """Statements and checkouts the dashboard costs for a member with `entries` entries."""
    body = await api(ENROLL, {"input": {"birthDate": "1990-01-01"}}, f"member:{uid}")
    member_id = int(GlobalID.from_id(body["data"]["enroll"]["member"]["id"]).node_id)
    for _ in range(entries):
        await give(uows, member_id, 5)
    await api(HISTORY, token=f"member:{uid}")  # read the shared program rules first
    count_queries.count = 0
    with counting_checkouts(database) as checkouts:
        body = await api(HISTORY, token=f"member:{uid}")
    assert len(body["data"]["me"]["history"]["edges"]) == entries
    return count_queries.count, checkouts


async def test_history_costs_the_same_statements_and_checkouts_for_2_or_40_entries(
    api, uows, database, count_queries
):
    few = await costs_of_history(api, uows, database, count_queries, "few", 2)
    many = await costs_of_history(api, uows, database, count_queries, "many", 40)
    assert few == many, (few, many)
    statements, checkouts = many
    # The member, with points (due lots), tier (its months) and the page as columns of its
    # statement (`queries.RowsFold`): one statement, one batch.
    assert statements == 1, statements
    # The batch borrows one connection and gives it back at once; a query never touches the
    # writers' pool.
    assert checkouts == {"reader": 1, "writer": 0}, checkouts


OPENING = """
query Opening($page: Int!) {
  me { ...Card points { balance } history(first: $page) { edges { node { kind points } } } }
}
fragment Card on Member {
  displayName tier { current { name } pointsToNext } styleProfile { completion }
}"""


async def test_the_opening_query_reads_the_member_and_its_fields_in_one_batch(
    api, database, count_queries
):
    # Given a member (fields inside a fragment, a page size from a variable)
    await api(ENROLL, {"input": {"birthDate": "1990-01-01"}}, "member:opening")
    await api(OPENING, {"page": 5}, "member:opening")  # the shared program rules are read
    count_queries.count = 0
    # When the app opens
    with counting_checkouts(database) as checkouts:
        body = await api(OPENING, {"page": 5}, "member:opening")
    # Then the member (its due lots, tier months and history page folded in) and StyleID come
    # in one batch
    assert body["data"]["me"]["styleProfile"] == {"completion": 0}, body
    assert (count_queries.count, checkouts) == (2, {"reader": 1, "writer": 0})


async def test_root_fields_beside_me_share_its_batch_and_its_member_statement(
    api, database, count_queries
):
    # Given a member; the app's opening also lists the clubs (none open yet)
    opening_and_clubs = OPENING.replace(
        "me {", "clubs(first: 3) { edges { node { status } } } me {", 1
    )
    await api(ENROLL, {"input": {"birthDate": "1990-01-01"}}, "member:sharing")
    await api(opening_and_clubs, {"page": 5}, "member:sharing")
    count_queries.count = 0
    # When the app opens
    with counting_checkouts(database) as checkouts:
        body = await api(opening_and_clubs, {"page": 5}, "member:sharing")
    # Then the clubs' viewer is the member `me` read: one member statement, one batch
    assert body["data"]["clubs"]["edges"] == [], body
    assert (count_queries.count, checkouts) == (3, {"reader": 1, "writer": 0})


async def test_me_reads_ahead_the_page_of_each_requests_own_variables_or_text(
    api, uows, count_queries
):
    # Given a member with three entries
    body = await api(ENROLL, {"input": {"birthDate": "1990-01-01"}}, "member:selection")
    member_id = int(GlobalID.from_id(body["data"]["enroll"]["member"]["id"]).node_id)
    for _ in range(3):
        await give(uows, member_id, 5)
    by_variable = "query ($n: Int!) { me { history(first: $n) { edges { cursor } } } }"
    written = "{ me { history(first: 2) { edges { cursor } } } }"
    sizes = []
    # When the same texts come again (the selection of the text without variables is kept)
    for query, variables in [(by_variable, {"n": 1}), (by_variable, {"n": 3}), (written, None)] * 2:
        count_queries.count = 0
        body = await api(query, variables, "member:selection")
        sizes.append((len(body["data"]["me"]["history"]["edges"]), count_queries.count))
    # Then each page is read ahead with the member (in its statement), as its request asks
    assert sizes == [(1, 1), (3, 1), (2, 1)] * 2, sizes


async def test_a_bad_page_size_is_still_refused_when_read_ahead(api):
    await api(ENROLL, {"input": {"birthDate": "1990-01-01"}}, "member:pages")
    body = await api(OPENING, {"page": 0}, "member:pages")
    assert [(e["extensions"]["code"], e["path"]) for e in body["errors"]] == [
        ("BAD_USER_INPUT", ["me", "history"])
    ], body


async def test_a_requests_loaders_are_freed_once_it_is_answered(api, monkeypatch):
    # Given a record of every request's loaders
    made: list[weakref.ref[Loaders]] = []
    make = Loaders.__init__

    def recording(self: Loaders, *args: object) -> None:
        make(self, *args)  # type: ignore[arg-type]
        made.append(weakref.ref(self))

    monkeypatch.setattr(Loaders, "__init__", recording)
    # When members open the app (every loader of a member used: StyleID, clubs, entries)
    await api(ENROLL, {"input": {"birthDate": "1990-01-01"}}, "member:freed")
    await api(OPENING, {"page": 5}, "member:freed")
    await api("{ clubs { edges { node { status } } } }", token="member:freed")
    gc.collect()
    # Then nothing keeps their loaders, caches and rows alive
    assert made and [ref() for ref in made] == [None] * len(made)


async def test_every_read_connection_is_back_in_the_pool_after_a_request(
    api, uows, database, count_queries
):
    await costs_of_history(api, uows, database, count_queries, "solo", 3)
    assert (database.read_connections_out(), database.writer.pool.checkedout()) == (0, 0)


async def costs_of_a_purchase(api, count_queries, card: str, order_id: str) -> int:
    """Statements one recordPurchase costs (the answer checked)."""
    count_queries.count = 0
    body = await api(RECORD, order(card, order_id), POS)
    assert body["data"]["recordPurchase"]["errors"] == [], body
    return count_queries.count


async def test_record_purchase_costs_the_same_few_statements_however_long_the_history(
    api, database, count_queries
):
    _, card = await enrolled(api)
    first = await costs_of_a_purchase(api, count_queries, card, "Q-0")
    for i in range(1, 20):
        await api(RECORD, order(card, f"Q-{i}"), POS)
    twentieth = await costs_of_a_purchase(api, count_queries, card, "Q-20")
    assert first == twentieth, (first, twentieth)
    # Read: the idempotency key with the rules' version beside it (the rules themselves come
    # from the shared cache while it is current), the member by card number, locked, with their
    # tier-qualifying points (the pending credit adds none, so `reevaluate` reads no months).
    # Write: the member's balances, ledger entry, the month's earned points for the leaderboard
    # (one upsert), lot, purchase (its INSERT returns the member's other purchases the milestone
    # ladder counts); write the idempotency key with its answer, which is built from what was
    # written; the categories bought (one upsert); the points-earned notification: the inbox
    # row, whose INSERT looks at the member's devices itself (plus one insert of pushes when
    # there are devices); last, the leaderboard's score histogram (one upsert of the old and new
    # score). SQLite adds its `BEGIN IMMEDIATE`.
    assert first == {"sqlite": 12, "postgresql": 11}[database.writer.dialect.name], first


async def test_record_purchase_asks_once_more_when_a_segment_limited_event_covers_it(
    api, database, count_queries
):
    _, card = await enrolled(api)
    segment = (await save(api, "Born in May", birthdayMonth=5))["segment"]["id"]
    window = {"startsAt": "2026-06-01T00:00:00Z", "endsAt": "2026-06-02T00:00:00Z"}
    created = await create_event(api, segmentId=segment, **window)
    assert created["errors"] == [], created
    await api(RECORD, order(card, "Q-0"), POS)  # the rules re-read once after the change
    # one more statement: is the buyer in the event's segment
    assert (
        await costs_of_a_purchase(api, count_queries, card, "Q-1")
        == {
            "sqlite": 13,
            "postgresql": 12,
        }[database.writer.dialect.name]
    )
    # a purchase outside the window asks nothing more
    earlier = order(card, "Q-2", occurredAt="2026-05-31T23:59:59Z")
    count_queries.count = 0
    assert (await api(RECORD, earlier, POS))["data"]["recordPurchase"]["errors"] == []
    assert count_queries.count == {"sqlite": 12, "postgresql": 11}[database.writer.dialect.name]
