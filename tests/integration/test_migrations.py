"""Migrations produce exactly the schema the models describe, and carry stored rows across."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from backend.db.migrate import alembic_config
from backend.db.tables import metadata
from backend.rewards.purchases.services import RefundInput, record_purchase, refund_purchase
from tests.helpers import give, new_member, purchase
from tests.integration.test_ledger_properties import assert_scores_match_earned_months


# SQLite cannot reflect expression indexes (lower(email)), so alembic leaves that one out there;
# the query-plan tests show both databases use it.
@pytest.mark.filterwarnings("ignore:.*expression-based index '?ix_member_email_lower")
async def test_migrated_database_matches_the_models(database):
    def diff(sync_connection):
        context = MigrationContext.configure(sync_connection, opts={"compare_type": True})
        return compare_metadata(context, metadata)

    async with database.reader.connect() as conn:
        differences = await conn.run_sync(diff)
    assert differences == []


async def test_default_program_rules_are_seeded(database):
    async with database.reader.connect() as conn:
        tiers = (
            await conn.execute(text("SELECT code, threshold FROM tier ORDER BY position"))
        ).all()
    assert [tuple(t) for t in tiers] == [
        ("member", 0),
        ("silver", 500),
        ("gold", 2000),
        ("platinum", 5000),
    ]


async def _migrate(database, action: str, revision: str) -> None:
    """Run alembic's upgrade or downgrade on the test database."""

    def run(sync_connection):
        getattr(command, action)(alembic_config(sync_connection), revision)

    async with database.writer.begin() as conn:
        await conn.run_sync(run)
    await database.dispose()  # pooled connections cache statement plans of the old schema


async def _stored_keys(database) -> list[tuple[str, str, dict]]:
    """The idempotency rows: scope, key and stored answer."""
    async with database.reader.connect() as conn:
        rows = await conn.execute(
            text('SELECT scope, "key", result FROM idempotency_key ORDER BY id')
        )
        return [(s, k, r if isinstance(r, dict) else json.loads(r)) for s, k, r in rows]


async def _bought_and_refunded(uows):
    """A member's order A-1 of 200 EUR, 50 of it refunded: the member, order, answer and refund."""
    member = await new_member(uows)
    data = purchase("A-1", member.card_number, "200")
    first = await uows.run(lambda uow: record_purchase(uow, data=data, actor="pos"))
    refund = RefundInput("A-1", "R-1", Decimal("50"), "EUR")
    await uows.run(lambda uow: refund_purchase(uow, data=refund, actor="pos"))
    return member, data, first, refund


async def test_0003_moves_refund_keys_and_stored_answers_both_ways(database, uows):
    _, data, first, refund = await _bought_and_refunded(uows)
    await _migrate(database, "downgrade", "0002")
    assert await _stored_keys(database) == [
        ("purchase", "A-1", {"purchase_id": first.id}),
        ("refund:A-1", "R-1", {"purchase_id": first.id}),
    ]
    async with database.writer.begin() as conn:  # 0002 had no triggers
        await conn.execute(text("UPDATE ledger_entry SET reason = reason"))
    await _migrate(database, "upgrade", "head")
    assert [(s, k) for s, k, _ in await _stored_keys(database)] == [
        ("purchase", "A-1"),
        ("refund", "3:A-1:R-1"),
    ]
    assert await uows.run(lambda uow: record_purchase(uow, data=data, actor="pos")) == first
    replayed = await uows.run(lambda uow: refund_purchase(uow, data=refund, actor="pos"))
    assert (replayed.refunded_amount, replayed.reversed_points) == (Decimal(50), 50)
    with pytest.raises(DBAPIError, match="append-only"):
        async with database.writer.begin() as conn:
            await conn.execute(text("UPDATE ledger_entry SET reason = reason"))


async def test_0010_adds_the_buyers_card_to_stored_purchase_answers_and_takes_it_out_again(
    database, uows
):
    member, data, first, _ = await _bought_and_refunded(uows)
    await _migrate(database, "downgrade", "0009")
    assert [r.get("member_reference") for _, _, r in await _stored_keys(database)] == [None, None]
    await _migrate(database, "upgrade", "head")
    cards = [r["member_reference"] for _, _, r in await _stored_keys(database)]
    assert cards == [member.card_number] * 2
    assert await uows.run(lambda uow: record_purchase(uow, data=data, actor="pos")) == first


async def test_0020_counts_the_leaderboard_histogram_from_earned_month(database, uows):
    ids = [(await new_member(uows, uid=f"h{i}")).id for i in range(3)]
    for member_id, points in zip(ids, (300, 300, 40), strict=True):
        await give(uows, member_id, points)
    await _migrate(database, "downgrade", "0020-1")
    await _migrate(database, "upgrade", "head")
    await assert_scores_match_earned_months(uows)
