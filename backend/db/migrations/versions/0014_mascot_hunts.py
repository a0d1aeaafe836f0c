"""catch the mascot: hunt sessions and their rules

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30

- `mascot_hunt`: one row per hunt: the server seed and the rules it was started with (so the
  plan can be recomputed at the finish), the member's local day it counts on, the deadline, and
  once finished the points, the stored result (answered to replays) and the staff flag.
- Program setting `mascot_hunt`: the rules of new hunts (length, spawns, visibility, reaction
  time, latency tolerance, grace, points, golden bonus, daily caps), changeable without a redeploy.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.db.types

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = backend.db.types.UTCDateTime
RULES = {
    "duration_ms": 30_000,
    "spawns": 12,
    "visible_min_ms": 900,
    "visible_max_ms": 1_800,
    "golden_per_mille": 80,
    "reaction_ms": 150,
    "tolerance_ms": 250,
    "points_per_catch": 5,
    "golden_bonus": 25,
    "suspicious_rejections": 3,
    "grace_ms": 10_000,
    "daily_hunts": 5,
    "daily_points_cap": 150,
}


def upgrade() -> None:
    """Create the hunt table and add the hunt rules."""
    op.create_table(
        "mascot_hunt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("seed", sa.String(length=64), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("local_day", sa.Date(), nullable=False),
        sa.Column("started_at", UTC(), nullable=False),
        sa.Column("deadline", UTC(), nullable=False),
        sa.Column("finished_at", UTC(), nullable=True),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_mascot_hunt_member_day", "mascot_hunt", ["member_id", "local_day"])
    op.create_index("ix_mascot_hunt_flagged", "mascot_hunt", ["flagged", "id"])
    setting = sa.table("program_setting", sa.column("key", sa.String), sa.column("value", sa.JSON))
    op.bulk_insert(setting, [{"key": "mascot_hunt", "value": RULES}])


def downgrade() -> None:
    """Drop the hunts and their rules (their ledger entries stay)."""
    op.execute("DELETE FROM program_setting WHERE key = 'mascot_hunt'")
    op.drop_index("ix_mascot_hunt_flagged", table_name="mascot_hunt")
    op.drop_index("ix_mascot_hunt_member_day", table_name="mascot_hunt")
    op.drop_table("mascot_hunt")
