"""`backend.db.prepared`: statements run on the driver's cursor answer as `Connection.execute` does."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Column, Integer, MetaData, Row, Table, bindparam, event, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, MultipleResultsFound, NoResultFound

from backend.db import prepared
from backend.rewards.offers.facts import MEMBER_FACTS
from backend.rewards.queries import ENTRY, LOT, MEMBER
from tests.helpers import give, new_member

# Literal values (`remaining > 0`, `IS false`), an `IN` list, aware times in and out.
LOTS = (
    select(LOT, MEMBER.c.uid, MEMBER.c.enrolled_at)
    .join(MEMBER, MEMBER.c.id == LOT.c.member_id)
    .where(
        LOT.c.member_id.in_(bindparam("ids", expanding=True)),
        LOT.c.remaining > 0,
        LOT.c.released.is_(False),
        LOT.c.available_at > bindparam("after"),
    )
)
ENTRY_OF = select(ENTRY.c.id, ENTRY.c.amount).where(ENTRY.c.member_id == bindparam("member_id"))


async def members_with_lots(uows, clock):
    """Two members with two pending purchase lots each, one with none."""
    ids = []
    for uid in ("ann", "bob", "cem"):
        member = await new_member(uows, uid)
        for points in (10, 20) if uid != "cem" else ():
            await give(uows, member.id, points, available_at=clock.now() + timedelta(days=30))
        ids.append(member.id)
    return ids


@pytest.mark.parametrize("picked", [(), (0,), (0, 1, 2)])
async def test_rows_equal_those_of_execute_for_any_list_length(database, uows, clock, picked):
    ids = await members_with_lots(uows, clock)
    params = {"ids": [ids[i] for i in picked], "after": clock.now() - timedelta(days=1)}

    def both(conn):
        return prepared.rows(conn, LOTS, params), conn.execute(LOTS, params).all()

    fast, slow = await database.read(both)
    assert fast == slow and len(fast) == 2 * len([i for i in picked if i < 2])
    assert [row._mapping for row in fast] == [row._mapping for row in slow]
    if fast:
        assert fast[0].available_at.tzinfo is not None and fast[0].released is False


async def test_a_writers_connection_begins_first_and_listeners_see_the_statement(database, uows):
    member = await new_member(uows, "ann")
    await give(uows, member.id, 5)
    seen = []
    engine = database.writer.sync_engine
    record = lambda _c, _cur, statement, *_: seen.append(statement)  # noqa: E731
    event.listen(engine, "before_cursor_execute", record)
    try:
        async with database.writer.connect() as conn:
            rows = await conn.run_sync(
                lambda sync: (
                    prepared.rows(sync, ENTRY_OF, {"member_id": member.id}),
                    sync.in_transaction(),
                )
            )
            await conn.rollback()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    (entry,), began = rows
    assert entry.amount == 5 and began
    assert any("FROM ledger_entry" in s for s in seen)


async def test_one_refuses_no_row_and_two_rows(database, uows):
    member = await new_member(uows, "ann")
    for points in (5, 6):
        await give(uows, member.id, points)

    def one_of(member_id):
        return lambda conn: prepared.one(conn, ENTRY_OF, {"member_id": member_id})

    with pytest.raises(NoResultFound):
        await database.read(one_of(member.id + 1000))
    with pytest.raises(MultipleResultsFound):
        await database.read(one_of(member.id))
    assert (
        await database.read(
            lambda conn: prepared.first(conn, ENTRY_OF, {"member_id": member.id + 1000})
        )
        is None
    )


async def test_a_failing_statement_raises_what_execute_raises(database):
    # A table the database does not have: the driver's error comes as SQLAlchemy's, as units
    # of work expect it (they retry some `DBAPIError`s), and the connection is usable after.
    missing = Table("no_such_table", MetaData(), Column("id", Integer))
    with pytest.raises(DBAPIError):
        await database.read(lambda conn: prepared.rows(conn, select(missing), {}))
    assert await database.read(lambda conn: prepared.rows(conn, ENTRY_OF, {"member_id": 1})) == []


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.asyncpg.dialect()])
def test_the_offers_member_facts_keep_a_plan(dialect):
    # a literal-execute parameter (`aggregate_strings`' separator) would build it on every run
    assert prepared._Statement.of(MEMBER_FACTS, dialect).compiled is not None


async def test_rows_read_every_column_as_an_attribute_as_a_row_does(database, uows, clock):
    ids = await members_with_lots(uows, clock)
    params = {"ids": ids, "after": clock.now() - timedelta(days=1)}

    def both(conn):
        return prepared.rows(conn, LOTS, params), conn.execute(LOTS, params).all()

    fast, slow = await database.read(both)
    assert type(fast[0]) is not Row and fast[0]._fields == slow[0]._fields
    for mine, theirs in zip(fast, slow, strict=True):
        assert all(getattr(mine, k) == getattr(theirs, k) for k in theirs._fields)
        assert mine._asdict() == theirs._asdict() and hash(mine) == hash(theirs)
        assert tuple(mine) == tuple(theirs) and mine[-1] == theirs[-1]


@pytest.mark.parametrize(
    "keys", [("id", "count"), ("id", "t"), ("id", "id"), ("id", "_secret"), ("id", "class")]
)
def test_names_that_could_not_be_plain_attributes_keep_sqlalchemys_rows(keys):
    # `count` and `t` are names `Row` answers itself: such rows stay `Row`s, as `execute` makes them
    assert prepared.row_class(keys) is None
    assert prepared.row_class(("id", "kind")) is not None


async def test_a_column_named_like_a_row_attribute_comes_in_a_row(database, uows):
    member = await new_member(uows, "ann")
    await give(uows, member.id, 5)
    counted = select(ENTRY.c.id, ENTRY.c.amount.label("count")).where(
        ENTRY.c.member_id == bindparam("member_id")
    )
    params = {"member_id": member.id}

    def both(conn):
        return prepared.rows(conn, counted, params), conn.execute(counted, params).all()

    ((fast,), (slow,)) = await database.read(both)
    assert isinstance(fast, Row) and fast == slow and fast.count == slow.count
