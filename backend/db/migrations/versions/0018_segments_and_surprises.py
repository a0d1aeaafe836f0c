"""segments and surprises

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30

- `segment`: marketing's saved filters over members (a JSON filter, see
  `backend/rewards/marketing/segments.py`).
- `campaign`: a surprise (reward, message, send time, holdout share) with a copy of its
  segment's filter and the job's progress (`cursor_member_id`).
- `campaign_recipient`: one row per member a campaign reached, unique per (campaign, member),
  written in the transaction of the member's reward.
- `ix_purchase_member_occurred`: a member's last purchase and purchases after a send, read
  through an index.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import backend.db.types

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = backend.db.types.UTCDateTime


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    """A bounded string column type, as SQLModel declares it."""
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    """Create segment, campaign and campaign_recipient; index purchases by member and time."""
    op.create_table(
        "segment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", _text(80), nullable=False),
        sa.Column("filter", sa.JSON(), nullable=False),
        sa.Column("created_by", _text(128), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("updated_by", _text(128), nullable=False),
        sa.Column("updated_at", UTC(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "campaign",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", _text(80), nullable=False),
        sa.Column("segment_id", sa.Integer(), nullable=False),
        sa.Column("filter", sa.JSON(), nullable=False),
        sa.Column("reward_kind", _text(16), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=True),
        sa.Column("offer_id", sa.Integer(), nullable=True),
        sa.Column("message", _text(500), nullable=False),
        sa.Column("send_at", UTC(), nullable=False),
        sa.Column("holdout_percent", sa.Integer(), nullable=False),
        sa.Column("seed", _text(64), nullable=False),
        sa.Column("status", _text(16), nullable=False),
        sa.Column("cursor_member_id", sa.BigInteger(), nullable=False),
        sa.Column("created_by", _text(128), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("started_at", UTC(), nullable=True),
        sa.Column("finished_at", UTC(), nullable=True),
        sa.ForeignKeyConstraint(["segment_id"], ["segment.id"]),
        sa.ForeignKeyConstraint(["offer_id"], ["offer.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_campaign_due", "campaign", ["status", "send_at"])
    op.create_table(
        "campaign_recipient",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("held_out", sa.Boolean(), nullable=False),
        sa.Column("outcome", _text(16), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=True),
        sa.Column("voucher_id", sa.Integer(), nullable=True),
        sa.Column("notification_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC(), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"]),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.ForeignKeyConstraint(["entry_id"], ["ledger_entry.id"]),
        sa.ForeignKeyConstraint(["voucher_id"], ["voucher.id"]),
        sa.ForeignKeyConstraint(["notification_id"], ["notification.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("campaign_id", "member_id", name="uq_campaign_recipient"),
    )
    op.create_index("ix_purchase_member_occurred", "purchase", ["member_id", "occurred_at"])


def downgrade() -> None:
    """Drop them again."""
    op.drop_index("ix_purchase_member_occurred", table_name="purchase")
    op.drop_table("campaign_recipient")
    op.drop_index("ix_campaign_due", table_name="campaign")
    op.drop_table("campaign")
    op.drop_table("segment")
