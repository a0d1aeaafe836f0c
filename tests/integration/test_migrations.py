"""Migrations produce exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from backend.db.tables import metadata


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
