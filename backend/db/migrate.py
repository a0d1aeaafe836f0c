"""Apply the alembic migrations to a database (on start and by `rewards migrate`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import AsyncEngine

ALEMBIC_INI = Path(__file__).with_name("alembic.ini")


def alembic_config(connection: Any = None) -> Config:
    """Build the alembic config of this package, optionally bound to a sync connection."""
    config = Config(str(ALEMBIC_INI))
    config.set_main_option("script_location", str(ALEMBIC_INI.parent / "migrations"))
    config.attributes["connection"] = connection
    return config


async def upgrade_to_head(engine: AsyncEngine) -> None:
    """Migrate the database behind `engine` to the newest revision."""

    def _upgrade(sync_connection: Any) -> None:
        command.upgrade(alembic_config(sync_connection), "head")

    async with engine.begin() as connection:
        await connection.run_sync(_upgrade)
