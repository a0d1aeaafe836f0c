"""program start: purchases dated before it are refused

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SETTING = sa.table("program_setting", sa.column("key", sa.String), sa.column("value", sa.JSON))
KEY = "program_started_at"


def upgrade() -> None:
    """Add the program start (ISO 8601); staff move it back when older purchases must count."""
    op.bulk_insert(SETTING, [{"key": KEY, "value": "2026-01-01T00:00:00+00:00"}])


def downgrade() -> None:
    """Remove the program start."""
    op.execute(SETTING.delete().where(SETTING.c.key == KEY))
