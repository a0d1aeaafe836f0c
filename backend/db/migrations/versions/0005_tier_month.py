"""tier_month: qualifying points per member and month, kept with the ledger

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30

- `tier_month` holds the tier-qualifying points (earn, release and reverse entries' spendable
  amounts) of each member per UTC calendar month, so tier progress reads at most 12 rows instead
  of summing a member's history. The upgrade fills it from the ledger.
- No other index was needed: tests/api/test_query_plans.py shows every statement of the
  dashboard and of `recordPurchase` already reads hot tables through an index.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONTH = {
    "postgresql": "CAST(date_trunc('month', created_at) AS DATE)",
    "sqlite": "substr(created_at, 1, 7) || '-01'",
}
BACKFILL = """
INSERT INTO tier_month (member_id, month, points)
SELECT member_id, {month}, SUM(amount) FROM ledger_entry
WHERE kind IN ('earn', 'release', 'reverse') AND amount != 0
GROUP BY member_id, {month}
"""


def upgrade() -> None:
    """Create `tier_month` and fill it from the ledger."""
    op.create_table(
        "tier_month",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("member_id", "month"),
    )
    op.execute(BACKFILL.format(month=MONTH[op.get_bind().dialect.name]))


def downgrade() -> None:
    """Drop `tier_month` (the ledger still holds every entry it was summed from)."""
    op.drop_table("tier_month")
