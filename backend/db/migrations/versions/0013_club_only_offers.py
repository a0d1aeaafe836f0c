"""club-only offers

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-10

- `offer.club_only`: true keeps the offer to its club's members for its whole window (not only
  early access); existing offers stay open to their whole audience (false).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the flag, false for every existing offer."""
    # Plain ADD COLUMN: SQLite's batch mode would copy `offer`, which vouchers refer to.
    op.add_column(
        "offer", sa.Column("club_only", sa.Boolean(), nullable=False, server_default=sa.false())
    )


def downgrade() -> None:
    """Drop it again."""
    op.execute("ALTER TABLE offer DROP COLUMN club_only")
