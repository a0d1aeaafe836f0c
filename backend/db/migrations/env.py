"""Alembic environment: runs on the connection handed over by backend.db.migrate."""

from __future__ import annotations

from alembic import context

from backend.db.tables import metadata


def run_migrations_online() -> None:
    """Run migrations on the connection passed in `config.attributes['connection']`."""
    connection = context.config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,
        compare_type=True,
    )
    context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported: use `rewards migrate`")
run_migrations_online()
