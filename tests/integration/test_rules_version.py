"""Units of work price with the shared program rules only while `rules_version` says they are current."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import event, text

from backend.rewards.program import RulesCache, load_rules, rules_version
from backend.rewards.purchases.services import record_purchase
from backend.rewards.uow import UnitOfWorkFactory
from tests.helpers import new_member, purchase

CHANGES = {
    "tier": [
        "INSERT INTO tier (code, name, position, threshold, multiplier, perks) "
        "VALUES ('diamond', 'Diamond', 9, 9000, 2, '[]')",
        "UPDATE tier SET threshold = 9500 WHERE code = 'diamond'",
        "DELETE FROM tier WHERE code = 'diamond'",
    ],
    "currency_rate": [
        "INSERT INTO currency_rate (currency, points_per_unit) VALUES ('ISK', 1)",
        "UPDATE currency_rate SET points_per_unit = 2 WHERE currency = 'ISK'",
        "DELETE FROM currency_rate WHERE currency = 'ISK'",
    ],
    "program_setting": [
        "INSERT INTO program_setting (key, value) VALUES ('x_test', '1')",
        "UPDATE program_setting SET value = '2' WHERE key = 'x_test'",
        "DELETE FROM program_setting WHERE key = 'x_test'",
    ],
}


async def execute(database, sql: str) -> None:
    """Run one statement in its own transaction, as an operator or a staff mutation would."""
    async with database.writer.begin() as conn:
        await conn.execute(text(sql))


async def version(database) -> int:
    """The committed rules version."""
    async with database.reader.connect() as conn:
        return await rules_version(conn)


def shared_cache(database) -> RulesCache:
    """A rules cache read from the database, as the app wires it."""

    async def read():
        async with database.reader.connect() as conn:
            return await load_rules(conn)

    return RulesCache(read, ttl_seconds=3600)


@pytest.mark.parametrize("table", sorted(CHANGES))
async def test_every_insert_update_and_delete_of_a_rules_table_bumps_the_version(database, table):
    for sql in CHANGES[table]:
        before = await version(database)
        await execute(database, sql)
        assert await version(database) == before + 1, sql


async def test_a_rolled_back_change_leaves_the_version(database):
    before = await version(database)
    async with database.writer.connect() as conn:
        await conn.execute(text("UPDATE currency_rate SET points_per_unit = 7"))
        await conn.rollback()
    assert await version(database) == before


async def test_units_of_work_use_the_shared_rules_with_one_read_while_they_are_current(
    database, clock
):
    cache = shared_cache(database)
    uows = UnitOfWorkFactory(database.session_factory(), clock, cache)
    loaded = await cache.load()
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    event.listen(database.writer.sync_engine, "before_cursor_execute", record)
    try:
        async with uows() as uow:
            assert await uow.rules() is loaded
    finally:
        event.remove(database.writer.sync_engine, "before_cursor_execute", record)
    begin = 1 if database.writer.dialect.name == "sqlite" else 0
    assert len(statements) == begin + 1  # the version, not the three rules tables


async def test_after_a_rules_change_the_next_unit_of_work_reads_them_and_shares_them(
    database, clock
):
    cache = shared_cache(database)
    uows = UnitOfWorkFactory(database.session_factory(), clock, cache)
    old = await cache.load()
    await execute(database, "UPDATE currency_rate SET points_per_unit = 5 WHERE currency = 'EUR'")
    async with uows() as uow:
        fresh = await uow.rules()
    assert fresh.rates["EUR"] == Decimal(5) and fresh.version == old.version + 1
    assert cache.latest is fresh and await cache.get() is fresh  # the read side gets them too


async def test_a_purchase_is_priced_with_the_rules_committed_before_it_started(database, clock):
    cache = shared_cache(database)
    uows = UnitOfWorkFactory(database.session_factory(), clock, cache)
    await cache.load()
    member = await new_member(uows)

    async def buy(order_id: str):
        data = purchase(order_id, member.card_number, "100")
        return await uows.run(lambda uow: record_purchase(uow, data=data, actor="pos"))

    assert (await buy("A-1")).points == 100
    for rate, order_id in ((3, "A-2"), (4, "A-3"), (1, "A-4")):
        await execute(
            database, f"UPDATE currency_rate SET points_per_unit = {rate} WHERE currency = 'EUR'"
        )
        assert (await buy(order_id)).points == 100 * rate, order_id  # the cache's TTL is an hour
