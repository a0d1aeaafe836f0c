"""notifications: devices, the inbox and the push outbox; quiet hours and the marketing cap

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-10

- `device`: FCM registration tokens of members; `token_hash` (SHA-256) is unique, so a token
  belongs to one member at most (a 4096-character token cannot be indexed by PostgreSQL).
- `notification`: the inbox, rendered in the member's language at creation, with what became
  of its push (`push_status`, `push_at`).
- `push_outbox`: one row per push message, written in the transaction of the event; senders
  claim due rows with a lease. `device_id` deliberately has no foreign key (see the model).
- Program settings `quiet_hours_start`/`quiet_hours_end` (21:00-09:00 in the member's time zone)
  and `marketing_push_weekly_cap` (3): rules for marketing pushes, changeable without a redeploy.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import backend.db.types

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = backend.db.types.UTCDateTime
SETTINGS = {
    "quiet_hours_start": "21:00",
    "quiet_hours_end": "09:00",
    "marketing_push_weekly_cap": 3,
}


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    """A bounded string column type, as SQLModel declares it."""
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    """Create the device, notification and push_outbox tables; add the push rules."""
    op.create_table(
        "device",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("token", _text(4096), nullable=False),
        sa.Column("token_hash", _text(64), nullable=False),
        sa.Column("platform", _text(8), nullable=False),
        sa.Column("app_version", _text(32), nullable=True),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("last_seen_at", UTC(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_device_member_seen", "device", ["member_id", "last_seen_at"])
    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("kind", _text(32), nullable=False),
        sa.Column("category", _text(16), nullable=False),
        sa.Column("language", _text(8), nullable=False),
        sa.Column("title", _text(120), nullable=False),
        sa.Column("body", _text(500), nullable=False),
        sa.Column("deep_link", _text(512), nullable=False),
        sa.Column("reward", _text(200), nullable=True),
        sa.Column("push_status", _text(16), nullable=False),
        sa.Column("push_at", UTC(), nullable=True),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("read_at", UTC(), nullable=True),
        sa.Column("opened_at", UTC(), nullable=True),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_notification_member", "notification", ["member_id", "id"])
    op.create_index("ix_notification_member_unread", "notification", ["member_id", "read_at"])
    op.create_table(
        "push_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notification_id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("status", _text(16), nullable=False),
        sa.Column("not_before", UTC(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_until", UTC(), nullable=True),
        sa.Column("claim", _text(32), nullable=True),
        sa.Column("last_error", _text(500), nullable=True),
        sa.Column("fcm_message_id", _text(256), nullable=True),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("sent_at", UTC(), nullable=True),
        sa.ForeignKeyConstraint(["notification_id"], ["notification.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_push_outbox_due", "push_outbox", ["status", "not_before"])
    op.create_index(op.f("ix_push_outbox_notification_id"), "push_outbox", ["notification_id"])
    setting = sa.table("program_setting", sa.column("key", sa.String), sa.column("value", sa.JSON))
    op.bulk_insert(setting, [{"key": k, "value": v} for k, v in SETTINGS.items()])


def downgrade() -> None:
    """Drop the push tables and rules (the ledger is untouched)."""
    keys = ", ".join(f"'{key}'" for key in SETTINGS)
    op.execute(f"DELETE FROM program_setting WHERE key IN ({keys})")
    op.drop_index(op.f("ix_push_outbox_notification_id"), table_name="push_outbox")
    op.drop_index("ix_push_outbox_due", table_name="push_outbox")
    op.drop_table("push_outbox")
    op.drop_index("ix_notification_member_unread", table_name="notification")
    op.drop_index("ix_notification_member", table_name="notification")
    op.drop_table("notification")
    op.drop_index("ix_device_member_seen", table_name="device")
    op.drop_table("device")
