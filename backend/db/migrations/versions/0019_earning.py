"""earning beyond purchases: earning rules and tallies, bonus events, referrals

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-30

- `earning_rule`: points, caps (points a local day, points ever) and reporter of each action that
  is not a purchase, seeded with the program's defaults; `action_tally`: points per member,
  action and local day (and "lifetime"), checked under the member's lock.
- `bonus_event`: purchase-point multipliers in a time window.
- Both `earning_rule` and `bonus_event` are program rules: triggers bump `rules_version` on
  every change, like `tier`, `currency_rate` and `program_setting` (0010).
- `referral`: a friend who enrolled with a member's code, one row per friend.
- Program settings: `member_claim_max_points` (what one member-reported award may be worth),
  `referral_referrer_points` (500), `referral_friend_points` (250), `referral_yearly_limit` (20).
  `style_completion_points` (0007) goes: completing the StyleID earns the `style_id_completed`
  rule's points (100, once), which a claim of that action cannot earn again (its lifetime cap).
"""

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

import backend.db.types

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = backend.db.types.UTCDateTime
SEEDED_AT = "2026-11-30T00:00:00+00:00"
# action, points, unit, daily cap, lifetime cap, reporter, streak days, streak bonus
RULES = [
    ("profile_completed", 50, 1, None, 50, "member", None, 0),
    ("style_id_completed", 100, 1, None, 100, "member", None, 0),
    ("review_written", 25, 1, 50, None, "integration", None, 0),
    ("survey_completed", 20, 1, 20, None, "member", None, 0),
    ("social_share", 5, 1, 15, None, "member", None, 0),
    ("app_opened", 1, 1, 1, None, "member", 7, 20),
    ("product_viewed", 0, 1, None, None, "member", None, 0),
    ("recycling_return", 50, 1, 100, None, "integration", None, 0),
    ("fitness_steps", 1, 1000, 10, None, "integration", None, 0),
]
SETTINGS = {
    "member_claim_max_points": 50,
    "referral_referrer_points": 500,
    "referral_friend_points": 250,
    "referral_yearly_limit": 20,
}
# The StyleID award's points move from this setting (0007) to the `style_id_completed` rule.
STYLE_SETTING = "style_completion_points"
BUMP = "UPDATE rules_version SET version = version + 1"
SQLITE_ACTIONS = ("INSERT", "UPDATE", "DELETE")
RULE_TABLES = ("earning_rule", "bonus_event")  # program rules, like tier and currency_rate


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    """A bounded string column type, as SQLModel declares it."""
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def _earning_tables() -> None:
    """Create the earning rules (with the defaults) and the tallies."""
    rule = op.create_table(
        "earning_rule",
        sa.Column("action", _text(32), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("unit", sa.Integer(), nullable=False),
        sa.Column("daily_cap", sa.BigInteger(), nullable=True),
        sa.Column("lifetime_cap", sa.BigInteger(), nullable=True),
        sa.Column("reporter", _text(16), nullable=False),
        sa.Column("streak_days", sa.Integer(), nullable=True),
        sa.Column("streak_bonus", sa.Integer(), nullable=False),
        sa.Column("updated_by", _text(128), nullable=True),
        sa.Column("updated_at", UTC(), nullable=False),
        sa.PrimaryKeyConstraint("action"),
    )
    keys = ("action", "points", "unit", "daily_cap", "lifetime_cap", "reporter")
    at = datetime.fromisoformat(SEEDED_AT)
    op.bulk_insert(
        rule,
        [
            {
                **dict(zip(keys, row[:6], strict=True)),
                "streak_days": row[6],
                "streak_bonus": row[7],
                "updated_at": at,
            }
            for row in RULES
        ],
    )
    op.create_table(
        "action_tally",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("action", _text(32), nullable=False),
        sa.Column("period", _text(10), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("claims", sa.Integer(), nullable=False),
        sa.Column("streak", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("member_id", "action", "period"),
    )


def _bonus_events() -> None:
    """Create the bonus events and the triggers that make them program rules."""
    op.create_table(
        "bonus_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", _text(80), nullable=False),
        sa.Column("multiplier", sa.Numeric(6, 3), nullable=False),
        sa.Column("starts_at", UTC(), nullable=False),
        sa.Column("ends_at", UTC(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("tiers", sa.JSON(), nullable=False),
        sa.Column("created_by", _text(128), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_bonus_event_window", "bonus_event", ["ends_at", "starts_at"])


def _triggers() -> None:
    """Make changes of earning rules and bonus events bump the rules version."""
    if op.get_bind().dialect.name == "postgresql":
        for name in RULE_TABLES:
            op.execute(
                f"CREATE TRIGGER {name}_bumps_rules_version "
                f"AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {name} "
                "FOR EACH STATEMENT EXECUTE FUNCTION bump_rules_version()"
            )
        return
    for name in RULE_TABLES:
        for action in SQLITE_ACTIONS:
            op.execute(
                f"CREATE TRIGGER {name}_{action.lower()}_bumps_rules_version "
                f"AFTER {action} ON {name} BEGIN {BUMP}; END"
            )


def _referrals() -> None:
    """Create the referrals."""
    op.create_table(
        "referral",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("referrer_id", sa.Integer(), nullable=False),
        sa.Column("friend_id", sa.Integer(), nullable=False),
        sa.Column("status", _text(16), nullable=False),
        sa.Column("purchase_id", sa.Integer(), nullable=True),
        sa.Column("referrer_entry_id", sa.Integer(), nullable=True),
        sa.Column("friend_entry_id", sa.Integer(), nullable=True),
        sa.Column("joined_at", UTC(), nullable=False),
        sa.Column("decided_at", UTC(), nullable=True),
        sa.ForeignKeyConstraint(["referrer_id"], ["member.id"]),
        sa.ForeignKeyConstraint(["friend_id"], ["member.id"]),
        sa.ForeignKeyConstraint(["purchase_id"], ["purchase.id"]),
        sa.ForeignKeyConstraint(["referrer_entry_id"], ["ledger_entry.id"]),
        sa.ForeignKeyConstraint(["friend_entry_id"], ["ledger_entry.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("friend_id"),
    )
    op.create_index("ix_referral_referrer", "referral", ["referrer_id", "status", "decided_at"])
    op.create_index(op.f("ix_referral_status"), "referral", ["status"])
    op.create_index(op.f("ix_referral_purchase_id"), "referral", ["purchase_id"])


def upgrade() -> None:
    """Create the tables and add the settings."""
    _earning_tables()
    _bonus_events()
    _referrals()
    _triggers()
    setting = sa.table("program_setting", sa.column("key", sa.String), sa.column("value", sa.JSON))
    op.bulk_insert(setting, [{"key": k, "value": v} for k, v in SETTINGS.items()])
    op.execute(f"DELETE FROM program_setting WHERE key = '{STYLE_SETTING}'")


def downgrade() -> None:
    """Drop them again (the ledger keeps the entries they wrote)."""
    keys = ", ".join(f"'{key}'" for key in SETTINGS)
    op.execute(f"DELETE FROM program_setting WHERE key IN ({keys})")
    setting = sa.table("program_setting", sa.column("key", sa.String), sa.column("value", sa.JSON))
    op.bulk_insert(setting, [{"key": STYLE_SETTING, "value": 100}])
    op.drop_index(op.f("ix_referral_purchase_id"), table_name="referral")
    op.drop_index(op.f("ix_referral_status"), table_name="referral")
    op.drop_index("ix_referral_referrer", table_name="referral")
    op.drop_table("referral")
    for name in RULE_TABLES:
        if op.get_bind().dialect.name == "postgresql":
            op.execute(f"DROP TRIGGER {name}_bumps_rules_version ON {name}")
        else:
            for action in SQLITE_ACTIONS:
                op.execute(f"DROP TRIGGER {name}_{action.lower()}_bumps_rules_version")
    op.drop_index("ix_bonus_event_window", table_name="bonus_event")
    op.drop_table("bonus_event")
    op.drop_table("action_tally")
    op.drop_table("earning_rule")
