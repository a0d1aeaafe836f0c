"""automations: birthday gifts, points-expiring warnings, tier nudges, club renewal reminders

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30

- `automation_occasion`: one row per member and occasion an automation acted on (kind, member,
  key: a birthday year, an expiry date, a month and tier, a club term), unique, written in the
  unit of work of the gift or notification, so each happens at most once.
- `lot.expiry_warned` (false for existing lots) and the partial index `ix_lot_unwarned_expiry`:
  the warning job reads only open lots it has not looked at yet.
- Indexes for the other scans: `member.birth_date`, `tier_month (month, member_id)`,
  `club_membership.ends_at`.
- Program settings: `birthday_gift_points` (200), `points_expiry_warning_days` (30),
  `tier_nudge_percent` (80), `club_renewal_reminder_days` (7).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import backend.db.types

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SETTINGS = {
    "birthday_gift_points": 200,
    "points_expiry_warning_days": 30,
    "tier_nudge_percent": 80,
    "club_renewal_reminder_days": 7,
}


def upgrade() -> None:
    """Create the occasions table, the warning flag and the scan indexes; add the settings."""
    op.create_table(
        "automation_occasion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", backend.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "member_id", "key", name="uq_automation_occasion"),
    )
    # Plain ADD COLUMN: SQLite's batch mode would copy `lot`, which allocations refer to.
    op.add_column(
        "lot", sa.Column("expiry_warned", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.create_index(
        "ix_lot_unwarned_expiry",
        "lot",
        ["expires_at"],
        postgresql_where=sa.text("released AND remaining > 0 AND NOT expiry_warned"),
        sqlite_where=sa.text("released = 1 AND remaining > 0 AND expiry_warned = 0"),
    )
    op.create_index("ix_member_birth_date", "member", ["birth_date"])
    op.create_index("ix_tier_month_month", "tier_month", ["month", "member_id"])
    op.create_index("ix_club_membership_ends", "club_membership", ["ends_at"])
    setting = sa.table("program_setting", sa.column("key", sa.String), sa.column("value", sa.JSON))
    op.bulk_insert(setting, [{"key": k, "value": v} for k, v in SETTINGS.items()])


def downgrade() -> None:
    """Drop them again (occasions are forgotten: automations would act once more)."""
    keys = ", ".join(f"'{key}'" for key in SETTINGS)
    op.execute(f"DELETE FROM program_setting WHERE key IN ({keys})")
    op.drop_index("ix_club_membership_ends", table_name="club_membership")
    op.drop_index("ix_tier_month_month", table_name="tier_month")
    op.drop_index("ix_member_birth_date", table_name="member")
    op.drop_index("ix_lot_unwarned_expiry", table_name="lot")
    op.execute("ALTER TABLE lot DROP COLUMN expiry_warned")
    op.drop_table("automation_occasion")
