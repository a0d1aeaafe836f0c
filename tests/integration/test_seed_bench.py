"""`rewards seed-bench`: a big database quickly, with every ledger invariant of the real services."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from datetime import UTC

import asyncpg
import pytest
from sqlalchemy import func, select, text

from backend.db.tables import IdempotencyKey, LedgerEntry, Lot, LotAllocation, Member, Purchase
from backend.rewards.jobs import settle_due
from backend.rewards.program import load_rules
from backend.rewards.purchases.services import PurchaseSnapshot, record_purchase
from backend.seed_bench import Plan, built_chunks, member_uid, seed_bench
from tests.helpers import assert_consistent, new_member, purchase
from tests.integration.test_ledger_properties import (
    assert_earned_months_match_entries,
    assert_scores_match_earned_months,
    assert_shown_as_settled,
    assert_tier_months_match_entries,
)

MEMBERS = 300


async def kinds_of_entries(uows) -> dict[str, int]:
    """How many entries of each kind the ledger holds."""
    async with uows() as uow:
        stmt = select(LedgerEntry.kind, func.count()).group_by(LedgerEntry.kind)
        return dict((await uow.session.execute(stmt)).all())


PG_SCHEMA = """
SELECT 'constraint', conrelid::regclass::text, conname,
       pg_get_constraintdef(oid) || CASE WHEN convalidated THEN '' ELSE ' NOT VALID' END
FROM pg_constraint WHERE connamespace = 'public'::regnamespace
UNION ALL
SELECT 'index', tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'
UNION ALL
SELECT 'trigger', tgrelid::regclass::text, tgname, pg_get_triggerdef(oid)
FROM pg_trigger WHERE NOT tgisinternal
ORDER BY 1, 2, 3
"""
# ANALYZE's statistics tables are not schema.
SQLITE_SCHEMA = (
    "SELECT type, tbl_name, name, sql FROM sqlite_master "
    "WHERE name NOT LIKE 'sqlite_stat%' ORDER BY 1, 2, 3"
)


async def schema_of(database) -> list[tuple[str, ...]]:
    """Every table, constraint, index and trigger definition, and SQLite's journal mode."""
    async with database.reader.connect() as conn:
        if database.reader.dialect.name == "postgresql":
            return [tuple(row) for row in await conn.exec_driver_sql(PG_SCHEMA)]
        rows = [tuple(row) for row in await conn.exec_driver_sql(SQLITE_SCHEMA)]
        return [*rows, ("journal_mode", *(await conn.exec_driver_sql("PRAGMA journal_mode")).one())]


async def count(uows, table) -> int:
    """Rows of a table."""
    async with uows() as uow:
        return (await uow.session.execute(select(func.count()).select_from(table))).scalar_one()


async def test_seeded_members_keep_every_ledger_invariant(database, uows, clock):
    migrated = await schema_of(database)
    report = await seed_bench(
        database, members=MEMBERS, entries=12, now=clock.now(), seed=7, workers=2, chunk_members=70
    )
    assert report.rows["member"] == MEMBERS
    assert MEMBERS * 6 <= report.rows["ledger_entry"] <= MEMBERS * 18
    # Secondary indexes, unique constraints and foreign keys came back exactly as migrated.
    assert await schema_of(database) == migrated
    for table, rows in ((LedgerEntry, "ledger_entry"), (Lot, "lot"), (Purchase, "purchase")):
        async with uows() as uow:  # ids follow on across the five chunks, without gaps
            top = (await uow.session.execute(select(func.max(table.id)))).scalar_one()
        assert top == report.rows[rows] == await count(uows, table)
    for member_id in range(1, MEMBERS + 1):
        await assert_consistent(uows, member_id)
        await assert_tier_months_match_entries(uows, member_id)
        await assert_earned_months_match_entries(uows, member_id)
    await assert_scores_match_earned_months(uows)
    for member_id in (1, MEMBERS // 2, MEMBERS):
        await assert_shown_as_settled(uows, member_id)
    kinds = await kinds_of_entries(uows)
    assert set(kinds) == {"earn", "release", "redeem", "expire"}, kinds
    async with uows() as uow:
        members = (await uow.session.execute(select(Member))).scalars().all()
    assert {m.uid for m in members} == {member_uid(i) for i in range(MEMBERS)}
    assert sum(m.pending > 0 for m in members) > MEMBERS // 10  # recent purchases still pending
    assert {"member", "silver"} <= {m.tier_code for m in members}
    assert (await settle_due(uows)).entries == 0  # nothing left due: the history is settled
    await assert_answers_are_snapshots(uows)


async def assert_answers_are_snapshots(uows) -> None:
    """Each stored purchase answer is the snapshot the service would have stored for it."""
    async with uows() as uow:
        stmt = (
            select(IdempotencyKey, Purchase, Member)
            .join(Purchase, col_equals(IdempotencyKey.key, Purchase.order_id))
            .join(Member, col_equals(Member.id, Purchase.member_id))
        )
        triples = (await uow.session.execute(stmt.limit(200))).all()
    assert len(triples) == 200
    for key, bought, buyer in triples:
        result = key.result if isinstance(key.result, dict) else json.loads(key.result)
        assert PurchaseSnapshot.from_json(result) == PurchaseSnapshot.of(bought, member=buyer)
        assert bought.occurred_at.tzinfo is UTC


def col_equals(left, right):
    """A join condition between two model columns."""
    return left == right


async def test_the_services_carry_on_after_seeding(database, uows, clock):
    await seed_bench(database, members=20, entries=8, now=clock.now())
    newcomer = await new_member(uows, uid="after-seed")
    assert newcomer.id == 21
    async with uows() as uow:
        card = (await uow.session.get_one(Member, 3)).card_number
    data = purchase("AFTER-1", card, "80")
    recorded = await uows.run(lambda uow: record_purchase(uow, data=data, actor="pos"))
    assert recorded.points > 0
    await assert_consistent(uows, 3)
    await assert_tier_months_match_entries(uows, 3)
    await assert_earned_months_match_entries(uows, 3)
    await assert_scores_match_earned_months(uows)


async def test_seeding_refuses_a_database_with_members(database, uows, clock):
    await new_member(uows)
    with pytest.raises(ValueError, match="empty database"):
        await seed_bench(database, members=5, entries=5, now=clock.now())
    async with uows() as uow:
        assert (await uow.session.execute(select(func.count()).select_from(Member))).scalar() == 1


async def test_the_numbering_does_not_depend_on_the_workers(database, clock):
    async with database.reader.connect() as conn:
        rules = await load_rules(conn)
    now = clock.now().astimezone(UTC).replace(tzinfo=None)
    plan = Plan(50, 8, now, rules, seed=3, postgres=False, chunk_members=7)

    async def rows(workers: int) -> list[dict]:
        async with contextlib.aclosing(built_chunks(plan, workers)) as chunks:
            return [tables async for _, tables in chunks]

    alone, together = await rows(1), await rows(3)
    assert len(alone) == 8
    assert alone == together


async def test_a_failed_load_leaves_the_database_as_it_was(database, uows, clock):
    # given a stored answer under the order id the first seeded purchase will use
    async with database.writer.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO idempotency_key (scope, key, fingerprint, result, created_at) "
                "VALUES ('purchase', 'B1-1', 'f', '{}', '2026-01-01 00:00:00')"
            )
        )
    migrated = await schema_of(database)
    # when seeding collides with it
    with pytest.raises((sqlite3.IntegrityError, asyncpg.UniqueViolationError)):
        await seed_bench(database, members=30, entries=6, now=clock.now(), chunk_members=10)
    # then nothing was written and every index, constraint and pragma is back
    for table in (Member, LedgerEntry, Lot, LotAllocation, Purchase):
        assert await count(uows, table) == 0
    assert await count(uows, IdempotencyKey) == 1
    assert await schema_of(database) == migrated
