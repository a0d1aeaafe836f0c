"""clubs: clubs, their members' terms and invitations

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01

- `club`: localized texts as JSON maps, a points price or invitation-only (a check keeps the
  two consistent), a term in months and the days of early access its members get.
- `club_membership`: one row per term; a renewal starts where the running term ends, so a
  member's terms in a club never overlap (`uq_club_membership_term` refuses a duplicate start).
- `club_invitation`: marketing's invitations; joining accepts one instead of spending points.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import backend.db.types

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = backend.db.types.UTCDateTime


def upgrade() -> None:
    """Create the club tables."""
    op.create_table(
        "club",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("name", sa.JSON(), nullable=False),
        sa.Column("description", sa.JSON(), nullable=False),
        sa.Column("perks", sa.JSON(), nullable=False),
        sa.Column("points_price", sa.BigInteger(), nullable=True),
        sa.Column("term_months", sa.Integer(), nullable=False),
        sa.Column("invitation_only", sa.Boolean(), nullable=False),
        sa.Column("early_access_days", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("updated_at", UTC(), nullable=False),
        sa.CheckConstraint(
            "(invitation_only AND points_price IS NULL) OR "
            "(NOT invitation_only AND points_price IS NOT NULL)",
            name="ck_club_price_or_invitation",
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_table(
        "club_invitation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("club_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("invited_by", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("expires_at", UTC(), nullable=False),
        sa.Column("accepted_at", UTC(), nullable=True),
        sa.ForeignKeyConstraint(["club_id"], ["club.id"]),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_club_invitation_member", "club_invitation", ["member_id", "club_id"])
    op.create_table(
        "club_membership",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("club_id", sa.Integer(), nullable=False),
        sa.Column("started_at", UTC(), nullable=False),
        sa.Column("ends_at", UTC(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=True),
        sa.Column("invitation_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC(), nullable=False),
        sa.ForeignKeyConstraint(["club_id"], ["club.id"]),
        sa.ForeignKeyConstraint(["entry_id"], ["ledger_entry.id"]),
        sa.ForeignKeyConstraint(["invitation_id"], ["club_invitation.id"]),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("member_id", "club_id", "started_at", name="uq_club_membership_term"),
    )
    op.create_index("ix_club_membership_club", "club_membership", ["club_id"])


def downgrade() -> None:
    """Drop the club tables (memberships bought for points stay in the ledger)."""
    op.drop_index("ix_club_membership_club", table_name="club_membership")
    op.drop_table("club_membership")
    op.drop_index("ix_club_invitation_member", table_name="club_invitation")
    op.drop_table("club_invitation")
    op.drop_table("club")
