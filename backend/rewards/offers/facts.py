"""What offer decisions know about a member and offers, read in a fixed three statements.

The one place member facts are gathered: clubs, the StyleID profile and the categories bought
and viewed add their parts here, and every decision (lists, counts, redemption) sees them at once.
`MemberOffers` is a read (`backend.rewards.queries.Read`): the API batches it with the request's
other reads, and a unit of work runs it on its own connection.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BindParameter,
    Connection,
    Row,
    String,
    and_,
    bindparam,
    cast,
    func,
    or_,
    select,
)

from backend.rewards.clubs.queries import CLUB, MEMBERSHIP
from backend.rewards.clubs.rules import MAX_EARLY_ACCESS_DAYS
from backend.rewards.offers.repository import FEATURED, MEMBER_CATEGORY, OFFER, VOUCHER
from backend.rewards.offers.rules import Interest, MemberFacts, OfferTerms
from backend.rewards.profile.queries import PROFILE
from backend.rewards.profile.rules import StyleFacts, answers_of, facts
from backend.rewards.queries import MEMBER

NOW: BindParameter[Any] = bindparam("now")
# The member's StyleID profile (NULLs without one) and, per member, one value each: active
# vouchers, the offer featured last, the clubs they belong to now (ids joined by commas).
_ACTIVE_VOUCHERS = select(func.count()).where(
    VOUCHER.c.member_id == MEMBER.c.id, VOUCHER.c.used_at.is_(None), VOUCHER.c.expires_at > NOW
)
_LAST_FEATURED = select(FEATURED.c.offer_id).where(FEATURED.c.member_id == MEMBER.c.id)
_CLUB_IDS = (
    select(func.aggregate_strings(cast(MEMBERSHIP.c.club_id, String), ","))
    .join(CLUB, CLUB.c.id == MEMBERSHIP.c.club_id)
    .where(
        MEMBERSHIP.c.member_id == MEMBER.c.id,
        MEMBERSHIP.c.started_at <= NOW,
        MEMBERSHIP.c.ends_at > NOW,
        CLUB.c.active.is_(True),
    )
)
MEMBER_FACTS = (
    select(
        PROFILE,
        _ACTIVE_VOUCHERS.scalar_subquery().label("active_vouchers"),
        _LAST_FEATURED.scalar_subquery().label("last_featured"),
        _CLUB_IDS.scalar_subquery().label("club_ids"),
    )
    .select_from(MEMBER.outerjoin(PROFILE, PROFILE.c.member_id == MEMBER.c.id))
    .where(MEMBER.c.id == bindparam("member_id"))
)
INTERESTS = select(MEMBER_CATEGORY).where(MEMBER_CATEGORY.c.member_id == bindparam("member_id"))
# Offer rows with their open club's early access days and the member's vouchers of each.
_TAKEN = select(func.count()).where(
    VOUCHER.c.offer_id == OFFER.c.id, VOUCHER.c.member_id == bindparam("member_id")
)
_CANDIDATES = select(
    OFFER,
    func.coalesce(CLUB.c.early_access_days, 0).label("club_early_access_days"),
    _TAKEN.scalar_subquery().label("taken"),
).select_from(OFFER.outerjoin(CLUB, and_(CLUB.c.id == OFFER.c.club_id, CLUB.c.active.is_(True))))
# Listed offers open now, or open early to a club's members, newest first.
OPEN_OFFERS = _CANDIDATES.where(
    OFFER.c.listed.is_(True),
    or_(
        OFFER.c.starts_at <= NOW,
        OFFER.c.club_id.is_not(None) & (OFFER.c.starts_at <= bindparam("early")),
    ),
    or_(OFFER.c.ends_at.is_(None), OFFER.c.ends_at > NOW),
).order_by(OFFER.c.id.desc())
OFFER_BY_ID = _CANDIDATES.where(OFFER.c.id == bindparam("offer_id"))


@dataclass(frozen=True)
class Candidate:
    """An offer row, its terms, and how many vouchers of it the member holds."""

    row: Row[Any]
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
class MemberOffers:
    """A member's offer facts with the open offers, or with one offer by id (open or not)."""

    member_id: int
    tier_code: str
    now: datetime
    offer_id: int | None = None

    def run(self, conn: Connection) -> OfferFacts:
        """Three statements: the member's scalars and profile, their categories, the offers."""
        params = {"member_id": self.member_id, "now": self.now}
        me = conn.execute(MEMBER_FACTS, params).one()
        interest = {
            r.category: Interest(r.bought, r.viewed, r.last_viewed_at)
            for r in conn.execute(INTERESTS, params)
        }
        return OfferFacts(
            self._facts(me, interest), self._offers(conn), me.active_vouchers, me.last_featured
        )

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
        params: dict[str, Any] = {"member_id": self.member_id}
        if self.offer_id is None:
            early = self.now + timedelta(days=MAX_EARLY_ACCESS_DAYS)
            rows = conn.execute(OPEN_OFFERS, {**params, "now": self.now, "early": early}).all()
        else:
            rows = conn.execute(OFFER_BY_ID, {**params, "offer_id": self.offer_id}).all()
        return [
            Candidate(
                row, OfferTerms.of(row, early_access_days=row.club_early_access_days), row.taken
            )
            for row in rows
        ]
