"""personal offers: club stock for early access, product views, the last featured offer

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08

- `offer.club_stock`: units reserved for the offer's club during its early access; what is
  left at the public start joins the public stock (read as `stock + club_stock`, no job).
- `member_category.last_viewed_at`: with the existing `viewed` count, a member's product views
  per category (one row per member and category, however many views).
- `featured_offer`: per member, the offer the dashboard featured last, so the next visit
  features another one while there is another.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.db.types

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = backend.db.types.UTCDateTime


def upgrade() -> None:
    """Add the club stock, the view time and the featured offer table."""
    # Plain ADD/DROP COLUMN: SQLite's batch mode would copy `offer`, which vouchers refer to.
    op.add_column("offer", sa.Column("club_stock", sa.Integer(), nullable=True))
    op.add_column("member_category", sa.Column("last_viewed_at", UTC(), nullable=True))
    op.create_table(
        "featured_offer",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("offer_id", sa.Integer(), nullable=False),
        sa.Column("shown_at", UTC(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.ForeignKeyConstraint(["offer_id"], ["offer.id"]),
        sa.PrimaryKeyConstraint("member_id"),
    )


def downgrade() -> None:
    """Drop them again."""
    op.drop_table("featured_offer")
    op.execute("ALTER TABLE member_category DROP COLUMN last_viewed_at")
    op.execute("ALTER TABLE offer DROP COLUMN club_stock")
