"""indexes for the settle job's due lots and members, and for staff e-mail lookups

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30

- `ix_lot_unreleased` (available_at) over lots still pending and `ix_lot_open_expiry`
  (expires_at) over released lots with points left: partial indexes holding only the lots the
  settle job may have to release or expire, so finding them no longer reads the whole table.
- `ix_member_tier_reached` (tier_code, tier_reached_at): members above the lowest tier whose
  grace may be over, without reading every member.
- `ix_member_email_lower` (lower(email), id): `memberByEmail` matches e-mails case-insensitively
  and takes the oldest membership.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the four indexes."""
    op.create_index(
        "ix_lot_unreleased",
        "lot",
        ["available_at"],
        postgresql_where=sa.text("NOT released"),
        sqlite_where=sa.text("released = 0"),
    )
    op.create_index(
        "ix_lot_open_expiry",
        "lot",
        ["expires_at"],
        postgresql_where=sa.text("released AND remaining > 0"),
        sqlite_where=sa.text("released = 1 AND remaining > 0"),
    )
    op.create_index("ix_member_tier_reached", "member", ["tier_code", "tier_reached_at"])
    op.create_index("ix_member_email_lower", "member", [sa.text("lower(email)"), "id"])


def downgrade() -> None:
    """Drop them."""
    for name, table in (
        ("ix_member_email_lower", "member"),
        ("ix_member_tier_reached", "member"),
        ("ix_lot_open_expiry", "lot"),
        ("ix_lot_unreleased", "lot"),
    ):
        op.drop_index(name, table_name=table)
