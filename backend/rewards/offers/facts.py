"""What offer decisions know about a member and offers, read in a fixed three statements.

The one place member facts are gathered: clubs, the StyleID profile and the categories bought
and viewed add their parts here, and every decision (lists, counts, redemption) sees them at once.
`MemberOffers` is a read (`backend.rewards.queries.Read`): the API batches it with the request's
other reads, and a unit of work runs it on its own connection.
"""

from __future__ import annotations

import json
import threading
from collections import namedtuple
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar, NamedTuple

from sqlalchemy import (
    BindParameter,
    Connection,
    Row,
    String,
    Text,
    and_,
    bindparam,
    cast,
    func,
    or_,
    select,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from backend.db import prepared
from backend.rewards.clubs.queries import CLUB, MEMBERSHIP
from backend.rewards.clubs.rules import MAX_EARLY_ACCESS_DAYS
from backend.rewards.offers.repository import FEATURED, MEMBER_CATEGORY, OFFER, VOUCHER
from backend.rewards.offers.rules import Interest, MemberFacts, OfferTerms
from backend.rewards.profile.queries import PROFILE, ProfilesOf
from backend.rewards.profile.rules import StyleFacts, answers_of, facts
from backend.rewards.queries import MEMBER, Carried, MemberRows, RowsFold, answer, learn

NOW: BindParameter[Any] = bindparam("now")


class CommaJoined(FunctionElement[str]):
    """Strings joined by commas (an aggregate), as `func.aggregate_strings(x, ",")` renders it
    but with the comma written into the SQL: that one's separator is a literal-execute
    parameter, which keeps a statement off `prepared`'s plans (built per run instead)."""

    type = String()
    inherit_cache = True


@compiles(CommaJoined)
def _comma_joined(element: CommaJoined, compiler: Any, **kw: Any) -> str:
    """SQLite."""
    return f"group_concat({compiler.process(element.clauses, **kw)}, ',')"


@compiles(CommaJoined, "postgresql")
def _comma_joined_postgresql(element: CommaJoined, compiler: Any, **kw: Any) -> str:
    """PostgreSQL."""
    return f"string_agg({compiler.process(element.clauses, **kw)}, ',')"


# The member's StyleID profile (NULLs without one) and, per member, one value each: active
# vouchers, the offer featured last, the clubs they belong to now (ids joined by commas).
_ACTIVE_VOUCHERS = select(func.count()).where(
    VOUCHER.c.member_id == MEMBER.c.id, VOUCHER.c.used_at.is_(None), VOUCHER.c.expires_at > NOW
)
_LAST_FEATURED = select(FEATURED.c.offer_id).where(FEATURED.c.member_id == MEMBER.c.id)
_CLUB_IDS = (
    select(CommaJoined(cast(MEMBERSHIP.c.club_id, String)))
    .join(CLUB, CLUB.c.id == MEMBERSHIP.c.club_id)
    .where(
        MEMBERSHIP.c.member_id == MEMBER.c.id,
        MEMBERSHIP.c.started_at <= NOW,
        MEMBERSHIP.c.ends_at > NOW,
        CLUB.c.active.is_(True),
    )
)
_FACTS_COLUMNS = (
    *PROFILE.c,
    _ACTIVE_VOUCHERS.scalar_subquery().label("active_vouchers"),
    _LAST_FEATURED.scalar_subquery().label("last_featured"),
    _CLUB_IDS.scalar_subquery().label("club_ids"),
)


def _with_profile(source: Any) -> Any:
    """`source` (the member table, or joins of it) with the member's profile, if any."""
    return source.outerjoin(PROFILE, PROFILE.c.member_id == MEMBER.c.id)


MEMBER_FACTS = (
    select(*_FACTS_COLUMNS)
    .select_from(_with_profile(MEMBER))
    .where(MEMBER.c.id == bindparam("member_id"))
)
INTERESTS = MemberRows(
    "interest_rows",
    select(MEMBER_CATEGORY)
    .where(MEMBER_CATEGORY.c.member_id == bindparam("member_id"))
    .order_by(MEMBER_CATEGORY.c.category),
)
# Offer rows with their open club's early access days and the member's vouchers of each (last).
# The JSON columns come as their stored text: `OfferCache` decodes an offer once per content.
_JSON_COLUMNS = frozenset(("texts", "categories", "style_tags", "audience_categories"))
_TAKEN = select(func.count()).where(
    VOUCHER.c.offer_id == OFFER.c.id, VOUCHER.c.member_id == bindparam("member_id")
)
_CANDIDATES = select(
    *(cast(c, Text).label(c.name) if c.name in _JSON_COLUMNS else c for c in OFFER.c),
    func.coalesce(CLUB.c.early_access_days, 0).label("club_early_access_days"),
    _TAKEN.scalar_subquery().label("taken"),
).select_from(OFFER.outerjoin(CLUB, and_(CLUB.c.id == OFFER.c.club_id, CLUB.c.active.is_(True))))
# An offer row as the decisions and the API read it: every column (JSON decoded) and its club's
# early access days, without the member's count; requests and threads share it (read only).
_ROW_FIELDS = (*(c.name for c in OFFER.c), "club_early_access_days")
OfferRow: Any = namedtuple("OfferRow", _ROW_FIELDS)  # type: ignore[misc]  # the table's columns


class OfferCache:
    """Offer rows with their JSON decoded and their terms, keyed by everything the row read
    returned (the member's count aside), so a row changed in any column (an `updateOffer`, a
    unit of stock taken, its club's early access) is a new key: what is found is never stale.

    Bounded: past `size` entries the oldest goes. Lookups are plain dict reads, safe across the
    reader threads; adding takes a lock.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._found: dict[tuple[Any, ...], tuple[Any, OfferTerms]] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._found)

    def candidate(self, row: Any) -> Candidate:
        """The candidate of an offer row of `_CANDIDATES`, decoded once per content."""
        key = row[:-1]  # a plain tuple
        found = self._found.get(key)
        if found is None:
            found = self._add(key)
        return Candidate(found[0], found[1], row.taken)

    def _add(self, key: tuple[Any, ...]) -> tuple[Any, OfferTerms]:
        """Decode a row new to the cache and keep it, dropping the oldest past the size."""
        offer: Any = OfferRow._make(
            json.loads(value) if name in _JSON_COLUMNS else value
            for name, value in zip(_ROW_FIELDS, key, strict=True)
        )
        found = (offer, OfferTerms.of(offer, early_access_days=offer.club_early_access_days))
        with self._lock:
            while len(self._found) >= self.size:
                del self._found[next(iter(self._found))]
            self._found[key] = found
        return found


# A few hundred open offers at most in practice; stock changes add a key per unit taken.
OFFERS = OfferCache(size=1024)
# Listed offers open now, or open early to a club's members, newest first.
OPEN_OFFERS = MemberRows(
    "open_offer_rows",
    _CANDIDATES.where(
        OFFER.c.listed.is_(True),
        or_(
            OFFER.c.starts_at <= NOW,
            OFFER.c.club_id.is_not(None) & (OFFER.c.starts_at <= bindparam("early")),
        ),
        or_(OFFER.c.ends_at.is_(None), OFFER.c.ends_at > NOW),
    ).order_by(OFFER.c.id.desc()),
)
OFFER_BY_ID = _CANDIDATES.where(OFFER.c.id == bindparam("offer_id"))


def _open(now: datetime) -> dict[str, datetime]:
    """The bind parameters of `OPEN_OFFERS` but the member: now, and the earliest start a
    club's early access can open now."""
    return {"now": now, "early": now + timedelta(days=MAX_EARLY_ACCESS_DAYS)}


class Candidate(NamedTuple):
    """An offer row (`OfferRow`), its terms, and how many vouchers of it the member holds."""

    row: Any
    terms: OfferTerms
    taken: int


@dataclass(frozen=True)
class OfferFacts:
    """Everything offer decisions know about one member: their facts, the candidate offers,
    their active vouchers and the offer they were featured last."""

    facts: MemberFacts
    offers: list[Candidate]
    active_vouchers: int
    last_featured: int | None


@dataclass(frozen=True)
class FactsOf:
    """A member's row of offer scalars and StyleID profile (`MEMBER_FACTS`) as of `now`."""

    member_id: int
    now: datetime

    def run(self, conn: Connection) -> Row[Any]:
        """One statement on the member's key."""
        row: Row[Any] = prepared.one(
            conn, MEMBER_FACTS, {"member_id": self.member_id, "now": self.now}
        )
        return row


@dataclass(frozen=True)
class FactsFold:
    """`FactsOf` as columns of the member's statement (`queries.Fold`); the profile's columns
    answer the StyleID read too, as `MemberOffers` leaves them."""

    now: datetime
    carried: ClassVar[Carried] = Carried(_FACTS_COLUMNS, _with_profile)

    def params(self) -> dict[str, Any]:
        """The moment vouchers and club memberships are counted at."""
        return {"now": self.now}

    def learn(self, conn: Connection, row: Row[Any]) -> None:
        """Keep the member's row as their facts' row (it has every column of it)."""
        learn(conn, FactsOf(row.id, self.now), row)


@dataclass(frozen=True)
class MemberOffers:
    """A member's offer facts with the open offers, or with one offer by id (open or not)."""

    member_id: int
    tier_code: str
    now: datetime
    offer_id: int | None = None

    def run(self, conn: Connection) -> OfferFacts:
        """Three statements: the member's scalars and profile, their categories, the offers
        (fewer when folds read them with the member: `FactsFold`, `folds`)."""
        me = answer(conn, FactsOf(self.member_id, self.now))  # `FactsFold` may have read it
        # The profile's columns are the StyleID field's answer too (`me { styleProfile }`).
        learn(conn, ProfilesOf((self.member_id,)), [me if me.member_id is not None else None])
        interest = {
            r.category: Interest(r.bought, r.viewed, r.last_viewed_at)
            for r in answer(conn, INTERESTS.of(self.member_id))
        }
        return OfferFacts(
            self._facts(me, interest), self._offers(conn), me.active_vouchers, me.last_featured
        )

    @staticmethod
    def folds(now: datetime) -> tuple[RowsFold, RowsFold]:
        """The member's categories and the open offers as columns of the member's statement
        (`MemberWith`); with `FactsFold`, the offer facts then send no statement of their own."""
        return INTERESTS.fold(), OPEN_OFFERS.fold(**_open(now))

    def _facts(self, me: Row[Any], interest: dict[str, Interest]) -> MemberFacts:
        """The member's facts from their row of scalars and profile and their categories."""
        styles = facts(answers_of(me)) if me.member_id is not None else StyleFacts()
        return MemberFacts(
            tier_code=self.tier_code,
            club_ids=frozenset(int(c) for c in (me.club_ids or "").split(",") if c),
            style_tags=styles.style_tags,
            categories_bought=frozenset(c for c, i in interest.items() if i.bought > 0),
            categories_viewed=frozenset(c for c, i in interest.items() if i.viewed > 0),
            disliked_categories=styles.disliked_categories,
            favourite_categories=styles.favourite_categories,
            interest=interest,
        )

    def _offers(self, conn: Connection) -> list[Candidate]:
        """The open offers, or the one asked for, with their terms and the vouchers taken."""
        if self.offer_id is None:
            rows = answer(conn, OPEN_OFFERS.of(self.member_id, **_open(self.now)))
        else:
            params = {"member_id": self.member_id, "offer_id": self.offer_id}
            rows = prepared.rows(conn, OFFER_BY_ID, params)
        return [OFFERS.candidate(row) for row in rows]
