"""wheel of points

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30

- `wheel_config`: versions of the wheel (segments with weights, free spins per local day, price
  of an extra spin, daily points budget); the newest is the wheel, each spin keeps its version.
- `wheel_player`: per member the committed seed of the next spin, its nonce, banked extra spins
  and the free spins used on their local day.
- `wheel_spin`: every spin with its revealed seed and nonce, so anyone can recompute it.
- `wheel_grant`: extra spins given to a member, once per source reference.
- `wheel_budget`: points the wheel paid out per UTC day.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import backend.db.types

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = backend.db.types.UTCDateTime


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    """A bounded string column type, as SQLModel declares it."""
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    """Create the wheel's tables."""
    op.create_table(
        "wheel_config",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("segments", sa.JSON(), nullable=False),
        sa.Column("free_spins_per_day", sa.Integer(), nullable=False),
        sa.Column("extra_spin_price", sa.Integer(), nullable=True),
        sa.Column("daily_points_budget", sa.BigInteger(), nullable=True),
        sa.Column("created_by", _text(128), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "wheel_player",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("seed", _text(64), nullable=False),
        sa.Column("commitment", _text(64), nullable=False),
        sa.Column("nonce", sa.Integer(), nullable=False),
        sa.Column("extra_spins", sa.Integer(), nullable=False),
        sa.Column("free_day", sa.Date(), nullable=True),
        sa.Column("free_used", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("member_id"),
    )
    op.create_table(
        "wheel_spin",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("config_id", sa.Integer(), nullable=False),
        sa.Column("nonce", sa.Integer(), nullable=False),
        sa.Column("seed", _text(64), nullable=False),
        sa.Column("commitment", _text(64), nullable=False),
        sa.Column("segment_index", sa.Integer(), nullable=False),
        sa.Column("kind", _text(16), nullable=False),
        sa.Column("void", _text(24), nullable=True),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("voucher_id", sa.Integer(), nullable=True),
        sa.Column("entry_id", sa.Integer(), nullable=True),
        sa.Column("paid_with", _text(8), nullable=False),
        sa.Column("points_spent", sa.Integer(), nullable=False),
        sa.Column("local_day", sa.Date(), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.ForeignKeyConstraint(["config_id"], ["wheel_config.id"]),
        sa.ForeignKeyConstraint(["entry_id"], ["ledger_entry.id"]),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.ForeignKeyConstraint(["voucher_id"], ["voucher.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("member_id", "nonce", name="uq_wheel_spin_nonce"),
    )
    op.create_table(
        "wheel_grant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("spins", sa.Integer(), nullable=False),
        sa.Column("reason", _text(200), nullable=False),
        sa.Column("source_ref", _text(64), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("member_id", "source_ref", name="uq_wheel_grant_source"),
    )
    op.create_table(
        "wheel_budget",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day"),
    )


def downgrade() -> None:
    """Drop the wheel's tables (the ledger keeps the points it paid)."""
    for table in ("wheel_budget", "wheel_grant", "wheel_spin", "wheel_player", "wheel_config"):
        op.drop_table(table)
