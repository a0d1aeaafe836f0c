"""the leaderboard's score histogram: members per score per month

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-30

- `earned_score`: how many members of a month's board have each score (width 1) and each band
  of 256 scores (width 256), counted from `earned_month` rows above zero and kept by the ledger
  with it, so a rank sums the members of the bands and scores above instead of counting the
  members above. Clustered on its key on SQLite (WITHOUT ROWID). Filled here from `earned_month`.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FILL = """
INSERT INTO earned_score (month, width, points, members)
SELECT month, {width}, points - points % {width}, count(*) FROM earned_month WHERE points > 0
GROUP BY month, points - points % {width}
"""


def upgrade() -> None:
    """Create `earned_score` and count `earned_month` into it."""
    op.create_table(
        "earned_score",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("month", "width", "points"),
        sqlite_with_rowid=False,
    )
    for width in (1, 256):  # scores, bands of scores
        op.execute(FILL.format(width=width))


def downgrade() -> None:
    """Drop `earned_score` (`earned_month` still has every member's points)."""
    op.drop_table("earned_score")
