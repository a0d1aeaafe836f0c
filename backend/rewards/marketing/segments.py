"""Segments: marketing's filters over members, and the one function that turns a filter into SQL.

A filter is a conjunction: every part given must hold, a part left out (None, empty) is not
asked. Within a list part any value matches (tiers: Silver OR Gold). Only active members are
ever in a segment. `member_condition` is the single place a filter becomes a WHERE clause over
`member`; counting (`segmentPreview`), surprises and later bonus events all call it, so a
segment means the same everywhere. Each part reads an index of its own per member (purchases
by member and time, categories and club terms by their primary keys, StyleID by member).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    cast,
    exists,
    extract,
    func,
    literal,
    not_,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from backend.db.tables import (
    ClubMembership,
    Device,
    Member,
    MemberCategory,
    Purchase,
    Segment,
    StyleProfile,
)
from backend.rewards.errors import DomainError

MEMBER = Member.__table__  # type: ignore[attr-defined]
PURCHASE = Purchase.__table__  # type: ignore[attr-defined]
CATEGORY = MemberCategory.__table__  # type: ignore[attr-defined]
TERM = ClubMembership.__table__  # type: ignore[attr-defined]
STYLE = StyleProfile.__table__  # type: ignore[attr-defined]
DEVICE = Device.__table__  # type: ignore[attr-defined]
SEGMENT = Segment.__table__  # type: ignore[attr-defined]

MAX_VALUES = 20  # per list part
MAX_DAYS = 3650
MAX_POINTS = 1_000_000_000
CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # tier, option and category codes
LANGUAGE = re.compile(r"[a-z]{2,3}")
STYLE_LISTS = {"styles": STYLE.c.styles, "colours": STYLE.c.colours}


@dataclass(frozen=True)
class SegmentFilter:
    """Who is in a segment; every part given must hold (see the module's note)."""

    tiers: tuple[str, ...] = ()
    club_ids: tuple[int, ...] = ()  # a term running at the time asked
    hair_colours: tuple[str, ...] = ()  # StyleID answers
    body_shapes: tuple[str, ...] = ()
    styles: tuple[str, ...] = ()
    colours: tuple[str, ...] = ()
    categories_bought: tuple[str, ...] = ()
    last_purchase_before: datetime | None = None  # members who never bought are not "before"
    last_purchase_after: datetime | None = None
    inactive_days: int | None = None  # no purchase in that many days (never bought counts)
    balance_min: int | None = None
    balance_max: int | None = None
    birthday_month: int | None = None
    languages: tuple[str, ...] = ()  # `nl` matches the locales `nl`, `nl-NL`, `nl-BE`…
    marketing_consent: bool | None = None

    def as_json(self) -> dict[str, Any]:
        """The stored form: only the parts given, times in ISO 8601."""
        stored: dict[str, Any] = {}
        for name, value in asdict(self).items():
            if value in (None, ()):
                continue
            stored[name] = value.isoformat() if isinstance(value, datetime) else value
        return stored

    @classmethod
    def of_json(cls, stored: Mapping[str, Any]) -> SegmentFilter:
        """Read the stored form back."""
        values: dict[str, Any] = {}
        for item in fields(cls):
            if item.name not in stored:
                continue
            value = stored[item.name]
            if isinstance(value, list):
                value = tuple(value)
            elif item.name.startswith("last_purchase"):
                value = datetime.fromisoformat(value)
            values[item.name] = value
        return cls(**values)


def _refuse(field: str, why: str) -> DomainError:
    """A refused filter, naming the part at fault."""
    return DomainError("INVALID_FILTER", f"`{field}` {why}", field=f"filter.{field}")


def _codes(field: str, values: Sequence[str], pattern: re.Pattern[str] = CODE) -> tuple[str, ...]:
    """A list part: at most MAX_VALUES distinct codes, each well formed."""
    if len(values) > MAX_VALUES:
        raise _refuse(field, f"holds at most {MAX_VALUES} values.")
    for value in values:
        if not pattern.fullmatch(value):
            raise _refuse(field, f"holds a malformed code: {value[:70]!r}.")
    return tuple(dict.fromkeys(values))


def _between(field: str, value: int | None, low: int, high: int) -> None:
    """A number part within its range."""
    if value is not None and not low <= value <= high:
        raise _refuse(field, f"must be between {low} and {high}.")


def check_filter(spec: SegmentFilter) -> SegmentFilter:
    """The filter in its stored form, or INVALID_FILTER naming the first part at fault."""
    camel = {"club_ids": "clubIds"}
    lists = ("tiers", "hair_colours", "body_shapes", "styles", "colours", "categories_bought")
    cleaned: dict[str, Any] = {
        name: _codes(camel.get(name, _camel(name)), getattr(spec, name)) for name in lists
    }
    cleaned["languages"] = _codes("languages", spec.languages, LANGUAGE)
    if len(spec.club_ids) > MAX_VALUES:
        raise _refuse("clubIds", f"holds at most {MAX_VALUES} values.")
    cleaned["club_ids"] = tuple(dict.fromkeys(spec.club_ids))
    _between("inactiveDays", spec.inactive_days, 1, MAX_DAYS)
    _between("balanceMin", spec.balance_min, -MAX_POINTS, MAX_POINTS)
    _between("balanceMax", spec.balance_max, -MAX_POINTS, MAX_POINTS)
    _between("birthdayMonth", spec.birthday_month, 1, 12)
    low, high = spec.balance_min, spec.balance_max
    if low is not None and high is not None and low > high:
        raise _refuse("balanceMax", "must not be below `balanceMin`.")
    before, after = spec.last_purchase_before, spec.last_purchase_after
    for name, moment in (("lastPurchaseBefore", before), ("lastPurchaseAfter", after)):
        if moment is not None and moment.utcoffset() is None:
            raise _refuse(name, "needs a time zone offset.")
    if before is not None and after is not None and before <= after:
        raise _refuse("lastPurchaseBefore", "must be later than `lastPurchaseAfter`.")
    return SegmentFilter(
        **{**asdict(spec), **cleaned},
    )


def _camel(name: str) -> str:
    """The API's name of a filter part."""
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def member_condition(spec: SegmentFilter, *, now: datetime, dialect: str) -> ColumnElement[bool]:
    """The WHERE clause over `member` that selects the segment's members as of `now`.

    `dialect` is the database's (`sqlite` or `postgresql`): StyleID lists are JSON arrays, read
    with `json_each` on SQLite and `?|` on PostgreSQL.
    """
    parts: list[ColumnElement[bool]] = [MEMBER.c.status == "active"]
    if spec.tiers:
        parts.append(MEMBER.c.tier_code.in_(spec.tiers))
    if spec.club_ids:
        parts.append(_in_club(spec.club_ids, now))
    parts += _style_parts(spec, dialect)
    if spec.categories_bought:
        parts.append(
            exists().where(
                CATEGORY.c.member_id == MEMBER.c.id,
                CATEGORY.c.category.in_(spec.categories_bought),
                CATEGORY.c.bought > 0,
            )
        )
    parts += _purchase_parts(spec, now)
    if spec.balance_min is not None:
        parts.append(MEMBER.c.balance >= spec.balance_min)
    if spec.balance_max is not None:
        parts.append(MEMBER.c.balance <= spec.balance_max)
    if spec.birthday_month is not None:
        parts.append(extract("month", MEMBER.c.birth_date) == spec.birthday_month)
    if spec.languages:
        parts.append(
            or_(
                *(
                    or_(MEMBER.c.locale == lang, MEMBER.c.locale.like(f"{lang}-%"))
                    for lang in spec.languages
                )
            )
        )
    if spec.marketing_consent is not None:
        parts.append(MEMBER.c.marketing_consent.is_(spec.marketing_consent))
    return and_(*parts)


def _in_club(club_ids: Sequence[int], now: datetime) -> ColumnElement[bool]:
    """A term in one of the clubs runs at `now`."""
    return exists().where(
        TERM.c.member_id == MEMBER.c.id,
        TERM.c.club_id.in_(club_ids),
        TERM.c.started_at <= now,
        TERM.c.ends_at > now,
    )


def _style_parts(spec: SegmentFilter, dialect: str) -> list[ColumnElement[bool]]:
    """StyleID answers: single answers by equality, lists by sharing at least one code."""
    asked: list[ColumnElement[bool]] = []
    if spec.hair_colours:
        asked.append(STYLE.c.hair_colour.in_(spec.hair_colours))
    if spec.body_shapes:
        asked.append(STYLE.c.body_shape.in_(spec.body_shapes))
    for name, column in STYLE_LISTS.items():
        codes: tuple[str, ...] = getattr(spec, name)
        if codes:
            asked.append(_shares(column, codes, dialect))
    if not asked:
        return []
    return [exists().where(STYLE.c.member_id == MEMBER.c.id, *asked)]


def _shares(column: Any, codes: tuple[str, ...], dialect: str) -> ColumnElement[bool]:
    """A JSON array column holds at least one of `codes`."""
    if dialect == "postgresql":
        return cast(column, JSONB).op("?|")(literal(list(codes), ARRAY(String)))
    items = func.json_each(column).table_valued("value")
    return exists(select(items.c.value).where(items.c.value.in_(codes)))


def _purchase_parts(spec: SegmentFilter, now: datetime) -> list[ColumnElement[bool]]:
    """Last purchase before/after a time, and no purchase in the last N days."""
    parts: list[ColumnElement[bool]] = []
    mine = PURCHASE.c.member_id == MEMBER.c.id
    if spec.last_purchase_after is not None:
        parts.append(exists().where(mine, PURCHASE.c.occurred_at > spec.last_purchase_after))
    if spec.last_purchase_before is not None:
        parts.append(exists().where(mine))
        parts.append(
            not_(exists().where(mine, PURCHASE.c.occurred_at >= spec.last_purchase_before))
        )
    if spec.inactive_days is not None:
        since = now - timedelta(days=spec.inactive_days)
        parts.append(not_(exists().where(mine, PURCHASE.c.occurred_at >= since)))
    return parts


async def saved_filter(
    conn: AsyncConnection | AsyncSession, segment_id: int
) -> SegmentFilter | None:
    """A saved segment's filter (for `member_condition`), or None if there is no such segment."""
    stmt = select(SEGMENT.c.filter).where(SEGMENT.c.id == segment_id)
    stored = (await conn.execute(stmt)).scalar()
    return None if stored is None else SegmentFilter.of_json(stored)


@dataclass(frozen=True)
class Preview:
    """How many members a segment holds now, and how many of them a marketing push can reach."""

    members: int
    with_consent: int
    reachable: int  # consent and at least one device


async def preview(conn: AsyncConnection, spec: SegmentFilter, *, now: datetime) -> Preview:
    """Count a segment's members in one statement."""
    dialect = conn.dialect.name
    consent = MEMBER.c.marketing_consent.is_(True)
    has_device = exists().where(DEVICE.c.member_id == MEMBER.c.id)
    stmt = select(
        func.count(),
        func.count().filter(consent),
        func.count().filter(and_(consent, has_device)),
    ).where(member_condition(spec, now=now, dialect=dialect))
    members, with_consent, reachable = (await conn.execute(stmt)).one()
    return Preview(int(members), int(with_consent), int(reachable))


def member_ids_after(
    spec: SegmentFilter, *, now: datetime, dialect: str, after: int, limit: int
) -> Any:
    """The statement picking the next `limit` members of a segment in id order after `after`."""
    return (
        select(MEMBER.c.id)
        .where(MEMBER.c.id > after, member_condition(spec, now=now, dialect=dialect))
        .order_by(MEMBER.c.id)
        .limit(limit)
    )
