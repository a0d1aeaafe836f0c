"""bonus events limited to a segment

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-30

- `bonus_event.segment_filter`: a copy of the segment's filter taken when the event is created
  (NULL: every member), so later edits of the segment do not change an announced event.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the segment filter of bonus events."""
    op.add_column("bonus_event", sa.Column("segment_filter", sa.JSON(), nullable=True))


def downgrade() -> None:
    """Drop the segment filter of bonus events (in place: a batch copy would lose the triggers)."""
    op.drop_column("bonus_event", "segment_filter")
