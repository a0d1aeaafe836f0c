"""Read side: the offers a member sees, ranked for them, each with why it is shown and whether
it is redeemable, decided from one `MemberOffers` read."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from operator import attrgetter
from typing import Any, NamedTuple

from backend.rewards.offers.facts import Candidate, OfferFacts
from backend.rewards.offers.personalization import Fit, Fitter, Rank
from backend.rewards.offers.rules import (
    MemberFacts,
    Unavailable,
    claim_refusal,
    early_access,
    hidden_before_start,
    in_audience,
    refusal,
    shown,
)


class OfferView(NamedTuple):
    """An offer as one member sees it: the row, why it cannot be redeemed (None: it can), its
    fit for them, and whether they see it thanks to their club's early access."""

    row: Any  # an `OfferRow`
    reason: Unavailable | None
    fit: Fit
    early: bool

    @property
    def rank(self) -> Rank:
        """Its place in the member's list (higher first)."""
        return (self.fit.score, self.row.id)


_by_rank = attrgetter("fit.score", "row.id")  # `OfferView.rank`, without a Python call per offer


def views(
    read: OfferFacts, *, balance: int, now: datetime, ladder: Sequence[str], listing: bool
) -> list[OfferView]:
    """The offers a member may see, each with its reason and fit, best-ranked first.

    A listing holds open offers (open early for the club's members) of the member's audience
    they do not dislike; a single offer looked up by id is seen whenever it is listed and in
    the member's audience (closed or not), except an early-access offer, which non-members of
    its club do not see before its public start. `balance` is the member's as of `now`.
    """
    facts = read.facts
    listed = [c for c in read.offers if c.row.listed]
    if listing:
        seen = [c for c in listed if shown(c.terms, facts, now=now, ladder=ladder)]
    else:
        seen = [
            c
            for c in listed
            if in_audience(c.terms.audience, facts, ladder)
            and not hidden_before_start(c.terms, facts, now)
        ]
    fitter = Fitter(facts, now=now, ladder=ladder)  # the member's figures, once for all offers
    found = [
        _view(c, facts, fitter, now=now, ladder=ladder, balance=balance, in_listing=listing)
        for c in seen
    ]
    return sorted(found, key=_by_rank, reverse=True)


def _view(
    offer: Candidate,
    facts: MemberFacts,
    fitter: Fitter,
    *,
    now: datetime,
    ladder: Sequence[str],
    balance: int,
    in_listing: bool,
) -> OfferView:
    """One offer as the member sees it. An offer in a listing is `shown` to them, so nothing
    refuses them entry: only its claim (stock, limit, points) may be refused."""
    terms, early = offer.terms, early_access(offer.terms, facts, now)
    reason = (
        claim_refusal(terms, early=early, balance=balance, taken=offer.taken)
        if in_listing
        else refusal(terms, facts, now=now, ladder=ladder, balance=balance, taken=offer.taken)
    )
    return OfferView(offer.row, reason, fitter(terms, early=early), early)
