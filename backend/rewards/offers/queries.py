"""Read side: the offers a member sees, ranked for them, each with why it is shown and whether
it is redeemable, in a fixed few statements."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.rewards.offers.facts import facts_of, terms_of
from backend.rewards.offers.personalization import Fit, Rank, fit
from backend.rewards.offers.repository import taken
from backend.rewards.offers.rules import (
    OfferTerms,
    Unavailable,
    early_access,
    hidden_before_start,
    in_audience,
    refusal,
    shown,
)
from backend.rewards.queries import PointsAsOf


@dataclass(frozen=True)
class OfferView:
    """An offer as one member sees it: the row, why it cannot be redeemed (None: it can), its
    fit for them, and whether they see it thanks to their club's early access."""

    row: Row[Any]
    reason: Unavailable | None
    fit: Fit
    early: bool

    @property
    def rank(self) -> Rank:
        """Its place in the member's list (higher first)."""
        return (self.fit.score, self.row.id)


async def views(
    db: AsyncConnection,
    member: Any,
    offers: Sequence[Row[Any]],
    *,
    now: datetime,
    ladder: Sequence[str],
    listing: bool,
) -> list[OfferView]:
    """The offers a member may see, each with its reason and fit, best-ranked first.

    A listing holds open offers (open early for the club's members) of the member's audience
    they do not dislike; a single offer looked up by id is seen whenever it is listed and in
    the member's audience (closed or not), except an early-access offer, which non-members of
    its club do not see before its public start. `member` has `id`, `tier_code` and the cached
    `balance`, `pending` and `debt`.
    """
    listed = [row for row in offers if row.listed]
    if not listed:
        return []
    (facts,) = await facts_of(db, [member], now=now)
    pairs: list[tuple[Row[Any], OfferTerms]] = list(
        zip(listed, await terms_of(db, listed), strict=True)
    )
    if listing:
        pairs = [(r, t) for r, t in pairs if shown(t, facts, now=now, ladder=ladder)]
    else:
        pairs = [
            (r, t)
            for r, t in pairs
            if in_audience(t.audience, facts, ladder) and not hidden_before_start(t, facts, now)
        ]
    if not pairs:
        return []
    limited = [t.id for _, t in pairs if t.per_member_limit is not None]
    counts = await taken(db, [member.id], limited)
    balance = (await db.run_sync(PointsAsOf.of(member, now=now, warning_days=0).run)).balance
    found = [
        OfferView(
            row,
            refusal(
                t,
                facts,
                now=now,
                ladder=ladder,
                balance=balance,
                taken=counts.get((member.id, t.id), 0),
            ),
            fit(t, facts, now=now, ladder=ladder),
            early_access(t, facts, now),
        )
        for row, t in pairs
    ]
    return sorted(found, key=lambda view: view.rank, reverse=True)
