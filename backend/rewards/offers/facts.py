"""What offer decisions know about members and offers, read in a fixed number of statements.

The one place member facts are gathered: clubs, the StyleID profile and the categories bought
and viewed add their parts here, and every decision (lists, counts, redemption) sees them at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from backend.rewards.clubs.queries import active_club_ids_by_member, early_access_days
from backend.rewards.offers.repository import Db, interests
from backend.rewards.offers.rules import MemberFacts, OfferTerms
from backend.rewards.profile.queries import style_facts


async def facts_of(db: Db, members: Sequence[Any], *, now: datetime) -> list[MemberFacts]:
    """The facts of each member (rows or objects with `id` and `tier_code`), in the order given.

    Three statements for any number of members: clubs, StyleID profiles, category interests.
    """
    ids = [m.id for m in members]
    clubs = await active_club_ids_by_member(db, ids, now=now)
    styles = await style_facts(db, ids)
    interest = await interests(db, ids)
    return [
        MemberFacts(
            tier_code=m.tier_code,
            club_ids=clubs[m.id],
            style_tags=styles[m.id].style_tags,
            categories_bought=frozenset(c for c, i in interest[m.id].items() if i.bought > 0),
            categories_viewed=frozenset(c for c, i in interest[m.id].items() if i.viewed > 0),
            disliked_categories=styles[m.id].disliked_categories,
            favourite_categories=styles[m.id].favourite_categories,
            interest=interest[m.id],
        )
        for m in members
    ]


async def terms_of(db: Db, offers: Sequence[Any]) -> list[OfferTerms]:
    """The terms of offer rows with their clubs' early access (one statement, none without clubs)."""
    clubs = sorted({row.club_id for row in offers if row.club_id is not None})
    days = await early_access_days(db, clubs) if clubs else {}
    return [OfferTerms.of(row, early_access_days=days.get(row.club_id, 0)) for row in offers]
