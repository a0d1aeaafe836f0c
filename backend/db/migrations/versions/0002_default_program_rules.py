"""default program rules: tiers, currency earn rates, settings

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIERS = [
    ("member", "Member", 0, 0, "1.000", ["Points on every purchase", "Birthday gift"]),
    ("silver", "Silver", 1, 500, "1.100", ["10% more points", "Early sale access"]),
    ("gold", "Gold", 2, 2000, "1.250", ["25% more points", "Free shipping", "Gold-only offers"]),
    ("platinum", "Platinum", 3, 5000, "1.500", ["50% more points", "Personal stylist"]),
]
RATES = {
    "EUR": "1",
    "USD": "1",
    "GBP": "1",
    "CHF": "1",
    "AED": "0.25",
    "PLN": "0.25",
    "SEK": "0.1",
    "DKK": "0.1",
    "UAH": "0.025",
}
SETTINGS = {
    "return_window_days": 14,
    "lot_lifetime_months": 12,
    "tier_window_months": 12,
    "tier_grace_months": 12,
    "expiry_warning_days": 30,
    "minimum_age": 18,
    "max_purchase_amount": "1000000",
    "max_adjustment_points": 1000000,
}


def upgrade() -> None:
    """Insert the default ladder, rates and settings."""
    tier = sa.table(
        "tier",
        sa.column("code", sa.String),
        sa.column("name", sa.String),
        sa.column("position", sa.Integer),
        sa.column("threshold", sa.BigInteger),
        sa.column("multiplier", sa.Numeric(6, 3)),
        sa.column("perks", sa.JSON),
    )
    op.bulk_insert(
        tier,
        [
            {"code": c, "name": n, "position": p, "threshold": t, "multiplier": m, "perks": k}
            for c, n, p, t, m, k in TIERS
        ],
    )
    rate = sa.table(
        "currency_rate", sa.column("currency", sa.String), sa.column("points_per_unit", sa.Numeric)
    )
    op.bulk_insert(rate, [{"currency": c, "points_per_unit": r} for c, r in RATES.items()])
    setting = sa.table("program_setting", sa.column("key", sa.String), sa.column("value", sa.JSON))
    op.bulk_insert(setting, [{"key": k, "value": v} for k, v in SETTINGS.items()])


def downgrade() -> None:
    """Remove the defaults."""
    op.execute("DELETE FROM program_setting")
    op.execute("DELETE FROM currency_rate")
    op.execute("DELETE FROM tier")
