"""Read side: the offers a member sees and why each is or is not redeemable, in a fixed few statements."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.rewards.offers.facts import facts_of
from backend.rewards.offers.repository import taken
from backend.rewards.offers.rules import OfferTerms, Unavailable, in_audience, refusal, shown
from backend.rewards.queries import PointsAsOf


@dataclass(frozen=True)
class OfferView:
    """An offer as one member sees it: the row and the reason it cannot be redeemed (None: it can)."""

    row: Row[Any]
    reason: Unavailable | None


async def views(
    db: AsyncConnection,
    member: Any,
    offers: Sequence[Row[Any]],
    *,
    now: datetime,
    ladder: Sequence[str],
    listing: bool,
) -> list[OfferView]:
    """The offers a member may see, each with its reason, in their order.

    A listing holds open offers of the member's audience they do not dislike; a single offer
    looked up by id is seen whenever it is listed and in the member's audience (closed or not).
    `member` has `id`, `tier_code` and the cached `balance`, `pending` and `debt`.
    """
    (facts,) = await facts_of(db, [member])
    terms = [(row, OfferTerms.of(row)) for row in offers if row.listed]
    if listing:
        terms = [(r, t) for r, t in terms if shown(t, facts, now=now, ladder=ladder)]
    else:
        terms = [(r, t) for r, t in terms if in_audience(t.audience, facts, ladder)]
    if not terms:
        return []
    limited = [t.id for _, t in terms if t.per_member_limit is not None]
    counts = await taken(db, [member.id], limited)
    balance = (await db.run_sync(PointsAsOf.of(member, now=now, warning_days=0).run)).balance
    return [
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
        )
        for row, t in terms
    ]
