"""offers, vouchers, categories bought; default gift offers, milestone ladder and welcome gift

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30

- `offer`: the catalogue (texts per language as JSON, audience, window, stock, limits).
- `voucher`: codes members got (unique code; unique member + grant key, so a welcome or
  milestone gift is given once whatever is replayed).
- `member_category`: purchases per member and category (the audience "bought one of these"),
  filled from the purchases' lines.
- Three unlisted gift offers (welcome keychain, a tote bag at the 4th purchase, 15 EUR off at
  the 10th) and the settings `default_language`, `milestones` and `welcome_offer_id`.
"""

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

import backend.db.types

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ALWAYS = datetime(2020, 1, 1)  # gifts are open from before the program started
GIFTS = [
    (
        "welcome",
        "free_product",
        None,
        {
            "en": ("Welcome gift: a free keychain", "Pick it up in any store."),
            "ar": ("هدية الترحيب: ميدالية مفاتيح مجانية", "استلمها من أي متجر."),
            "uk": ("Вітальний подарунок: брелок", "Заберіть його в будь-якому магазині."),
            "nl": ("Welkomstcadeau: een gratis sleutelhanger", "Haal hem op in elke winkel."),
        },
    ),
    (
        4,
        "free_product",
        None,
        {
            "en": ("Your 4th purchase: a free tote bag", "Thank you for coming back."),
            "ar": ("مشترياتك الرابعة: حقيبة مجانية", "شكرًا لعودتك."),
            "uk": ("Ваша 4-та покупка: сумка в подарунок", "Дякуємо, що повертаєтеся."),
            "nl": ("Je 4e aankoop: een gratis tas", "Bedankt dat je terugkomt."),
        },
    ),
    (
        10,
        "fixed_discount",
        "15",
        {
            "en": ("Your 10th purchase: 15 EUR off", "On your next purchase."),
            "ar": ("مشترياتك العاشرة: خصم 15 يورو", "على مشترياتك القادمة."),
            "uk": ("Ваша 10-та покупка: знижка 15 EUR", "На наступну покупку."),
            "nl": ("Je 10e aankoop: 15 EUR korting", "Op je volgende aankoop."),
        },
    ),
]


def _create_tables() -> None:
    """The three tables and their indexes."""
    string = sqlmodel.sql.sqltypes.AutoString
    utc = backend.db.types.UTCDateTime
    op.create_table(
        "offer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", string(length=24), nullable=False),
        sa.Column("texts", sa.JSON(), nullable=False),
        sa.Column("points_cost", sa.BigInteger(), nullable=False),
        sa.Column("percent", sa.Integer(), nullable=True),
        sa.Column("discount_amount", sa.Numeric(precision=18, scale=4), nullable=True),
        sa.Column("discount_currency", string(length=3), nullable=True),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("min_tier", string(length=32), nullable=True),
        sa.Column("club_id", sa.Integer(), nullable=True),
        sa.Column("style_tags", sa.JSON(), nullable=False),
        sa.Column("audience_categories", sa.JSON(), nullable=False),
        sa.Column("starts_at", utc(), nullable=False),
        sa.Column("ends_at", utc(), nullable=True),
        sa.Column("stock", sa.Integer(), nullable=True),
        sa.Column("per_member_limit", sa.Integer(), nullable=True),
        sa.Column("image_url", string(length=2048), nullable=True),
        sa.Column("voucher_valid_days", sa.Integer(), nullable=False),
        sa.Column("listed", sa.Boolean(), nullable=False),
        sa.Column("created_by", string(length=128), nullable=False),
        sa.Column("created_at", utc(), nullable=False),
        sa.Column("updated_at", utc(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_offer_listed_window", "offer", ["listed", "starts_at"])
    op.create_table(
        "voucher",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", string(length=16), nullable=False),
        sa.Column("offer_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("origin", string(length=16), nullable=False),
        sa.Column("grant_key", string(length=32), nullable=True),
        sa.Column("points_spent", sa.BigInteger(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=True),
        sa.Column("issued_at", utc(), nullable=False),
        sa.Column("expires_at", utc(), nullable=False),
        sa.Column("used_at", utc(), nullable=True),
        sa.Column("used_by", string(length=128), nullable=True),
        sa.Column("used_reference", string(length=128), nullable=True),
        sa.ForeignKeyConstraint(["entry_id"], ["ledger_entry.id"]),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.ForeignKeyConstraint(["offer_id"], ["offer.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code", name="uq_voucher_code"),
        sa.UniqueConstraint("member_id", "grant_key", name="uq_voucher_member_grant"),
    )
    op.create_index("ix_voucher_member_id", "voucher", ["member_id", "id"])
    op.create_index("ix_voucher_offer_member", "voucher", ["offer_id", "member_id"])
    op.create_table(
        "member_category",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("category", string(length=64), nullable=False),
        sa.Column("bought", sa.BigInteger(), nullable=False),
        sa.Column("viewed", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("member_id", "category"),
    )


def _seed_gifts() -> None:
    """Insert the default gift offers and point the program settings at them."""
    bind = op.get_bind()
    offer = sa.table(
        "offer",
        *(sa.column(name) for name in ("id", "kind", "points_cost", "discount_amount")),
        *(sa.column(name) for name in ("discount_currency", "voucher_valid_days", "listed")),
        *(sa.column(name) for name in ("starts_at", "created_by", "created_at", "updated_at")),
        *(sa.column(name, sa.JSON) for name in ("texts", "categories", "style_tags")),
        sa.column("audience_categories", sa.JSON),
    )
    ids = {}
    for step, kind, amount, texts in GIFTS:
        row = {
            "kind": kind,
            "texts": {k: {"title": t, "description": d} for k, (t, d) in texts.items()},
            "points_cost": 0,
            "discount_amount": amount,
            "discount_currency": "EUR" if amount else None,
            "categories": [],
            "style_tags": [],
            "audience_categories": [],
            "voucher_valid_days": 60,
            "listed": False,
            "starts_at": ALWAYS,
            "created_by": "migration",
            "created_at": ALWAYS,
            "updated_at": ALWAYS,
        }
        ids[step] = bind.execute(sa.insert(offer).values(row).returning(offer.c.id)).scalar_one()
    setting = sa.table("program_setting", sa.column("key", sa.String), sa.column("value", sa.JSON))
    ladder = [{"purchases": n, "offer_id": ids[n]} for n in (4, 10)]
    op.bulk_insert(
        setting,
        [
            {"key": "default_language", "value": "en"},
            {"key": "milestones", "value": ladder},
            {"key": "welcome_offer_id", "value": ids["welcome"]},
        ],
    )


def _backfill_categories() -> None:
    """Count each member's purchases per category from the stored order lines, in batches."""
    bind = op.get_bind()
    purchase = sa.table(
        "purchase", sa.column("id", sa.Integer), sa.column("member_id"), sa.column("lines", sa.JSON)
    )
    counts: dict[tuple[int, str], int] = {}
    last = 0
    while batch := bind.execute(
        sa.select(purchase).where(purchase.c.id > last).order_by(purchase.c.id).limit(5000)
    ).all():
        for row in batch:
            for category in {line.get("category") for line in row.lines} - {None}:
                counts[(row.member_id, category)] = counts.get((row.member_id, category), 0) + 1
        last = batch[-1].id
    table = sa.table(
        "member_category",
        sa.column("member_id", sa.Integer),
        sa.column("category", sa.String),
        sa.column("bought", sa.BigInteger),
        sa.column("viewed", sa.BigInteger),
    )
    rows = [
        {"member_id": m, "category": c, "bought": n, "viewed": 0} for (m, c), n in counts.items()
    ]
    if rows:
        op.bulk_insert(table, rows)


def upgrade() -> None:
    """Create the tables, seed the gifts and fill the categories bought."""
    _create_tables()
    _seed_gifts()
    _backfill_categories()


def downgrade() -> None:
    """Drop the tables and the settings that point into them."""
    op.execute(
        "DELETE FROM program_setting WHERE key IN ('default_language', 'milestones', 'welcome_offer_id')"
    )
    op.drop_table("member_category")
    op.drop_index("ix_voucher_offer_member", table_name="voucher")
    op.drop_index("ix_voucher_member_id", table_name="voucher")
    op.drop_table("voucher")
    op.drop_index("ix_offer_listed_window", table_name="offer")
    op.drop_table("offer")
