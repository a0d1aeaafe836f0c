"""leaderboard and prize draws

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30

- `earned_month`: points each member earned per UTC calendar month as the leaderboard counts
  them (earns in their month, pending ones too; reversals and expiries of an earn taken back from
  the earn's month; no staff adjustments), indexed by (month, points, member_id) for the board
  and ranks. The upgrade fills it from the ledger.
- `member.leaderboard_opt_in` (false for everyone): show the display name on the leaderboard.
- `program_setting` `leaderboard_alias_key`: a random key, made here once per database, from
  which the stable anonymous names of the board ("Member #123456") are derived.
- `prize_draw` and `draw_ticket`: draws with their seed commitment and result, and tickets.
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import backend.db.types

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = backend.db.types.UTCDateTime
MONTH = {
    "postgresql": "CAST(date_trunc('month', e.created_at) AS DATE)",
    "sqlite": "substr(e.created_at, 1, 7) || '-01'",
}
BACKFILL = """
INSERT INTO earned_month (member_id, month, points)
SELECT e.member_id, {month}, SUM(e.amount + e.pending_delta + COALESCE((
    SELECT SUM(r.amount + r.pending_delta) FROM ledger_entry r
    WHERE r.related_entry_id = e.id AND r.kind IN ('reverse', 'expire')), 0))
FROM ledger_entry e WHERE e.kind = 'earn'
GROUP BY e.member_id, {month}
"""


def upgrade() -> None:
    """Create the tables, add the opt-in, make the alias key and fill `earned_month`."""
    op.create_table(
        "earned_month",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("member_id", "month"),
    )
    op.create_index("ix_earned_month_rank", "earned_month", ["month", "points", "member_id"])
    op.execute(BACKFILL.format(month=MONTH[op.get_bind().dialect.name]))
    op.add_column(
        "member",
        sa.Column("leaderboard_opt_in", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    setting = sa.table("program_setting", sa.column("key", sa.String), sa.column("value", sa.JSON))
    op.bulk_insert(setting, [{"key": "leaderboard_alias_key", "value": secrets.token_hex(32)}])
    _draw_tables()


def _draw_tables() -> None:
    """Create `prize_draw` and `draw_ticket`."""
    op.create_table(
        "prize_draw",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("prize", sa.JSON(), nullable=False),
        sa.Column("min_tier", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("entry_cost", sa.BigInteger(), nullable=False),
        sa.Column("max_entries", sa.Integer(), nullable=False),
        sa.Column("winners", sa.Integer(), nullable=False),
        sa.Column("closes_at", UTC(), nullable=False),
        sa.Column("seed", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("seed_commitment", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("tickets", sa.Integer(), nullable=False),
        sa.Column("drawn_at", UTC(), nullable=True),
        sa.Column("winning_tickets", sa.JSON(), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_prize_draw_due", "prize_draw", ["drawn_at", "closes_at"])
    op.create_table(
        "draw_ticket",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("draw_id", sa.Integer(), nullable=False),
        sa.Column("ticket", sa.Integer(), nullable=False),
        sa.Column("holder", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC(), nullable=False),
        sa.ForeignKeyConstraint(["draw_id"], ["prize_draw.id"]),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.ForeignKeyConstraint(["entry_id"], ["ledger_entry.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("draw_id", "ticket", name="uq_draw_ticket"),
    )
    op.create_index("ix_draw_ticket_member", "draw_ticket", ["member_id", "draw_id"])


def downgrade() -> None:
    """Drop the draws, the key, the opt-in and `earned_month` (the ledger still has every entry)."""
    op.drop_table("draw_ticket")
    op.drop_table("prize_draw")
    op.execute("DELETE FROM program_setting WHERE key = 'leaderboard_alias_key'")
    op.execute("ALTER TABLE member DROP COLUMN leaderboard_opt_in")
    op.drop_table("earned_month")
