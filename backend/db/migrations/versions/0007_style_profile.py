"""StyleID: published option lists (seeded), member style profiles, the completion award

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

- `style_option` holds the lists members choose from (hair colours, body shapes, sizes, colours,
  styles and the product categories purchases and offers use), with labels per language; marketing
  extends them with rows and retires options instead of deleting them.
- `style_profile` holds each member's answers as option codes.
- Program setting `style_completion_points` (100): points for completing the profile, once.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import backend.db.types

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SETTING = sa.table("program_setting", sa.column("key", sa.String), sa.column("value", sa.JSON))
KEY = "style_completion_points"

# code: (en, nl, uk, ar)
HAIR_COLOURS = {
    "blonde": ("Blonde", "Blond", "Біляве", "أشقر"),
    "brown": ("Brown", "Bruin", "Каштанове", "بني"),
    "black": ("Black", "Zwart", "Чорне", "أسود"),
    "red": ("Red", "Rood", "Руде", "أحمر"),
    "grey": ("Grey", "Grijs", "Сиве", "رمادي"),
    "other": ("Other", "Anders", "Інше", "آخر"),
}
BODY_SHAPES = {
    "hourglass": ("Hourglass", "Zandloper", "Пісочний годинник", "الساعة الرملية"),
    "pear": ("Pear", "Peer", "Груша", "الكمثرى"),
    "apple": ("Apple", "Appel", "Яблуко", "التفاحة"),
    "rectangle": ("Rectangle", "Rechthoek", "Прямокутник", "المستطيل"),
    "inverted-triangle": (
        "Inverted triangle",
        "Omgekeerde driehoek",
        "Перевернутий трикутник",
        "المثلث المقلوب",
    ),
}
COLOURS = {
    "black": ("Black", "Zwart", "Чорний", "أسود"),
    "white": ("White", "Wit", "Білий", "أبيض"),
    "grey": ("Grey", "Grijs", "Сірий", "رمادي"),
    "navy": ("Navy", "Marineblauw", "Темно-синій", "كحلي"),
    "blue": ("Blue", "Blauw", "Синій", "أزرق"),
    "green": ("Green", "Groen", "Зелений", "أخضر"),
    "red": ("Red", "Rood", "Червоний", "أحمر"),
    "pink": ("Pink", "Roze", "Рожевий", "وردي"),
    "purple": ("Purple", "Paars", "Фіолетовий", "بنفسجي"),
    "yellow": ("Yellow", "Geel", "Жовтий", "أصفر"),
    "orange": ("Orange", "Oranje", "Помаранчевий", "برتقالي"),
    "brown": ("Brown", "Bruin", "Коричневий", "بني"),
    "beige": ("Beige", "Beige", "Бежевий", "بيج"),
    "gold": ("Gold", "Goud", "Золотий", "ذهبي"),
    "silver": ("Silver", "Zilver", "Срібний", "فضي"),
}
STYLES = {
    "casual": ("Casual", "Casual", "Повсякденний", "كاجوال"),
    "classic": ("Classic", "Klassiek", "Класичний", "كلاسيكي"),
    "sporty": ("Sporty", "Sportief", "Спортивний", "رياضي"),
    "elegant": ("Elegant", "Elegant", "Елегантний", "أنيق"),
    "boho": ("Boho", "Boho", "Бохо", "بوهيمي"),
    "streetwear": ("Streetwear", "Streetwear", "Стрітвір", "أزياء الشارع"),
    "minimalist": ("Minimalist", "Minimalistisch", "Мінімалістичний", "بسيط"),
    "romantic": ("Romantic", "Romantisch", "Романтичний", "رومانسي"),
    "business": ("Business", "Zakelijk", "Діловий", "رسمي للعمل"),
}
CATEGORIES = {
    "outerwear": ("Outerwear", "Jassen", "Верхній одяг", "ملابس خارجية"),
    "dresses": ("Dresses", "Jurken", "Сукні", "فساتين"),
    "tops": ("Tops", "Tops", "Топи", "بلوزات"),
    "shirts": ("Shirts", "Overhemden", "Сорочки", "قمصان"),
    "knitwear": ("Knitwear", "Breigoed", "В'язаний одяг", "ملابس محبوكة"),
    "jeans": ("Jeans", "Jeans", "Джинси", "جينز"),
    "trousers": ("Trousers", "Broeken", "Штани", "بناطيل"),
    "skirts": ("Skirts", "Rokken", "Спідниці", "تنانير"),
    "sportswear": ("Sportswear", "Sportkleding", "Спортивний одяг", "ملابس رياضية"),
    "lingerie": ("Lingerie", "Lingerie", "Білизна", "ملابس داخلية"),
    "swimwear": ("Swimwear", "Badmode", "Купальники", "ملابس سباحة"),
    "shoes": ("Shoes", "Schoenen", "Взуття", "أحذية"),
    "bags": ("Bags", "Tassen", "Сумки", "حقائب"),
    "accessories": ("Accessories", "Accessoires", "Аксесуари", "إكسسوارات"),
    "jewellery": ("Jewellery", "Sieraden", "Прикраси", "مجوهرات"),
    "beauty": ("Beauty", "Beauty", "Краса", "تجميل"),
    "home": ("Home", "Wonen", "Дім", "المنزل"),
    "coffee": ("Coffee", "Koffie", "Кава", "قهوة"),
    "tea": ("Tea", "Thee", "Чай", "شاي"),
}
LANGUAGES = ("en", "nl", "uk", "ar")
TOP_SIZES = ["XXS", "XS", "S", "M", "L", "XL", "XXL", "3XL"]
BOTTOM_SIZES = [str(n) for n in range(32, 56, 2)]  # EU 32-54
SHOE_SIZES = [f"{n // 2}" if n % 2 == 0 else f"{n // 2}.5" for n in range(70, 97)]  # EU 35-48


def _translated(kind: str, options: dict[str, tuple[str, ...]]) -> list[dict[str, object]]:
    """Rows of a list whose labels differ per language."""
    return [
        {
            "kind": kind,
            "code": code,
            "position": i,
            "labels": dict(zip(LANGUAGES, names, strict=True)),
        }
        for i, (code, names) in enumerate(options.items())
    ]


def _sizes(kind: str, sizes: list[str], prefix: str = "") -> list[dict[str, object]]:
    """Rows of a size list: the same label in every language."""
    return [
        {"kind": kind, "code": size.lower(), "position": i, "labels": {"en": prefix + size}}
        for i, size in enumerate(sizes)
    ]


def options() -> list[dict[str, object]]:
    """Every seeded option row."""
    return [
        *_translated("hair_colour", HAIR_COLOURS),
        *_translated("body_shape", BODY_SHAPES),
        *_sizes("top_size", TOP_SIZES),
        *_sizes("bottom_size", BOTTOM_SIZES, "EU "),
        *_sizes("shoe_size", SHOE_SIZES, "EU "),
        *_translated("colour", COLOURS),
        *_translated("style", STYLES),
        *_translated("category", CATEGORIES),
    ]


def upgrade() -> None:
    """Create the option and profile tables, seed the options and the completion award."""
    option = op.create_table(
        "style_option",
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("retired", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "code"),
    )
    op.create_table(
        "style_profile",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("hair_colour", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("body_shape", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("top_size", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("bottom_size", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("shoe_size", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("colours", sa.JSON(), nullable=False),
        sa.Column("styles", sa.JSON(), nullable=False),
        sa.Column("favourite_categories", sa.JSON(), nullable=False),
        sa.Column("disliked_categories", sa.JSON(), nullable=False),
        sa.Column("updated_at", backend.db.types.UTCDateTime(), nullable=False),
        sa.Column("completed_at", backend.db.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("member_id"),
    )
    op.bulk_insert(option, [{**row, "retired": False} for row in options()])
    op.bulk_insert(SETTING, [{"key": KEY, "value": 100}])


def downgrade() -> None:
    """Drop the profiles and options and the award setting (points already earned stay)."""
    op.execute(SETTING.delete().where(SETTING.c.key == KEY))
    op.drop_table("style_profile")
    op.drop_table("style_option")
