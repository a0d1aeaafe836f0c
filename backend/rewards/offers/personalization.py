"""Personalized offers, pure: how well an offer fits a member, why it is shown, what is featured.

An offer's score is the sum of these parts (whole numbers, so the order is exact and every
page of a list computes the same ranks):

| part | points |
|---|---|
| early access: the member's club opened it before its public start | 40 |
| bought one of its categories (the best one; 1, 2–3, 4–7, … purchases) | 8, 16, 24, 32, 40 |
| one of its categories is a StyleID favourite | 24 |
| its StyleID tags match the member's (one, two or more) | 16, 32 |
| viewed one of its categories (1, 2–3, 4–7, … views) in the last 30 days | 4, 8, 12, 16, 20 |
| … last viewed 31 to 180 days ago (older views count nothing) | 2, 4, 6, 8, 10 |
| it is for a tier above the entry tier the member has reached (rung 1, 2, 3, …) | 6, 12, 18, … |

Counts grow the score by their binary length, so the tenth purchase in a category adds less
than the second. The reason shown is the part that gave the most points (ties in the order of
the table), or NEW_OFFER when none did. Offers in a category the member dislikes never reach
the ranking (`rules.shown`). The list is ordered by score, then newest first: `rank` is the
(score, offer id) pair, compared from high to low, and a page's cursor holds it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from operator import itemgetter
from typing import NamedTuple

from backend.rewards.offers.rules import MemberFacts, OfferTerms, early_access, tier_rank


class ReasonCode(enum.StrEnum):
    """Why an offer is shown to a member (the largest part of its score)."""

    EARLY_ACCESS = "EARLY_ACCESS"
    BOUGHT_CATEGORY = "BOUGHT_CATEGORY"
    FAVOURITE_CATEGORY = "FAVOURITE_CATEGORY"
    STYLE_MATCH = "STYLE_MATCH"
    VIEWED_CATEGORY = "VIEWED_CATEGORY"
    TIER = "TIER"
    NEW_OFFER = "NEW_OFFER"


# Reasons, fits and views are made for every offer on every listing: tuples are cheaper to make
# than frozen dataclasses and as immutable.
class Reason(NamedTuple):
    """A reason code and what it is about: a category, a StyleID tag, a tier code or a club id."""

    code: ReasonCode
    subject: str | None = None


NEW_OFFER = Reason(ReasonCode.NEW_OFFER)  # the reason of an offer no part gives points


class Fit(NamedTuple):
    """An offer's score for a member and the reason it is shown."""

    score: int
    reason: Reason


EARLY_ACCESS_POINTS = 40
BOUGHT_POINTS = 8
FAVOURITE_POINTS = 24
STYLE_POINTS = 16
VIEWED_POINTS = 4
TIER_POINTS = 6
MAX_STEPS = 5  # counts beyond 16 add nothing more
RECENT_VIEW = timedelta(days=30)
OLD_VIEW = timedelta(days=180)
FEATURED_POOL = 5  # the featured offer rotates through this many of the best-ranked


def _steps(count: int) -> int:
    """1 for one, 2 for two or three, 3 for four to seven…, at most MAX_STEPS."""
    return min(count.bit_length(), MAX_STEPS)


def _best(parts: Iterable[tuple[int, str]]) -> tuple[int, str | None]:
    """The highest-scoring (points, subject), the first subject in order among equals."""
    found = min(parts, key=_best_first, default=None)
    return found if found is not None and found[0] > 0 else (0, None)


def _best_first(part: tuple[int, str]) -> tuple[int, str]:
    """Order parts by points (high first), then subject: the best is the least."""
    return -part[0], part[1]


def _viewed_points(viewed: int, last: datetime | None, now: datetime) -> int:
    """Points of a category's views: full for recent ones, half for older, none past 180 days."""
    if last is None or viewed <= 0 or now - last > OLD_VIEW:
        return 0
    full = VIEWED_POINTS * _steps(viewed)
    return full if now - last <= RECENT_VIEW else full // 2


_points = itemgetter(1)  # of a (reason code, points, subject) part
# Enum members are looked up on every offer: module names are cheaper than class attributes.
_EARLY_ACCESS = ReasonCode.EARLY_ACCESS
_BOUGHT_CATEGORY = ReasonCode.BOUGHT_CATEGORY
_FAVOURITE_CATEGORY = ReasonCode.FAVOURITE_CATEGORY
_STYLE_MATCH = ReasonCode.STYLE_MATCH
_VIEWED_CATEGORY = ReasonCode.VIEWED_CATEGORY
_TIER = ReasonCode.TIER


def fit(terms: OfferTerms, facts: MemberFacts, *, now: datetime, ladder: Sequence[str]) -> Fit:
    """Score an offer for a member and say why it is shown (see the module's table)."""
    return Fitter(facts, now=now, ladder=ladder)(terms, early=early_access(terms, facts, now))


class Fitter:
    """`fit` for one member at one moment: the points of each category they bought or viewed
    and each tier's rung are worked out once, not once per offer."""

    __slots__ = ("_bought", "_favourite", "_rungs", "_style_tags", "_viewed")

    def __init__(self, facts: MemberFacts, *, now: datetime, ladder: Sequence[str]) -> None:
        interest = facts.interest.items()
        # Only categories that give points: a category of none gives the same as an unknown one.
        self._bought = {
            c: points for c, i in interest if (points := BOUGHT_POINTS * _steps(i.bought)) > 0
        }
        self._viewed = {
            c: points
            for c, i in interest
            if (points := _viewed_points(i.viewed, i.last_viewed_at, now)) > 0
        }
        self._favourite = facts.favourite_categories
        self._style_tags = facts.style_tags
        self._rungs = {code: tier_rank(code, ladder) for code in ladder}

    def __call__(self, terms: OfferTerms, *, early: bool) -> Fit:
        """The offer's fit; `early` tells whether the member sees it thanks to early access."""
        audience, categories = terms.audience, terms.categories
        # Most members have viewed (or bought) nothing that gives points: nothing to look up.
        bought, bought_in = _best_of(self._bought, categories) if self._bought else (0, None)
        viewed, viewed_in = _best_of(self._viewed, categories) if self._viewed else (0, None)
        favourites = categories & self._favourite
        favourite = FAVOURITE_POINTS if favourites else 0
        matched = audience.style_tags & self._style_tags
        tier = audience.min_tier
        rung = self._rungs.get(tier, 0) if tier is not None else 0
        club = EARLY_ACCESS_POINTS if early else 0
        style = STYLE_POINTS * min(len(matched), 2)
        score = club + bought + favourite + style + viewed + TIER_POINTS * rung
        if not score:  # no part gives points (none is negative): no reason to name
            return Fit(0, NEW_OFFER)
        parts = (
            (_EARLY_ACCESS, club, audience.club_id),
            (_BOUGHT_CATEGORY, bought, bought_in),
            (_FAVOURITE_CATEGORY, favourite, min(favourites) if favourites else None),
            (_STYLE_MATCH, style, min(matched) if matched else None),
            (_VIEWED_CATEGORY, viewed, viewed_in),
            (_TIER, TIER_POINTS * rung, tier),
        )
        code, _, subject = max(parts, key=_points)  # the first among equals
        # A part gives points only with its subject (the club's id is a number).
        return Fit(score, Reason(code, str(subject)))


def _best_of(points: Mapping[str, int], categories: frozenset[str]) -> tuple[int, str | None]:
    """The best (points, category) of an offer's categories (`_best`): an offer in none of the
    member's categories is done with one set intersection."""
    known = points.keys() & categories
    if not known:
        return 0, None
    if len(known) == 1:  # most offers have one category; every mapped one gives points
        (category,) = known
        return points[category], category
    return _best((points[c], c) for c in known)


Rank = tuple[int, int]
"""(score, offer id): a list runs from the highest rank down."""


def after(rank: Rank, cursor: Rank | None) -> bool:
    """Tell whether an offer of this rank comes after the cursor's in a list."""
    return cursor is None or rank < cursor


def featured(ranked: Sequence[int], *, last: int | None) -> int | None:
    """The offer to feature now, from redeemable offer ids best first.

    It rotates through the best FEATURED_POOL: the one after the last featured (wrapping), or
    the best when the last is no longer among them. Only the last one left is shown twice.
    """
    pool = list(ranked[:FEATURED_POOL])
    if not pool:
        return None
    if last not in pool:
        return pool[0]
    return pool[(pool.index(last) + 1) % len(pool)]


# Reason texts by language; `{label}` is the category, style, tier or club in the reader's language.
REASON_TEXTS: Mapping[str, Mapping[ReasonCode, str]] = {
    "en": {
        ReasonCode.EARLY_ACCESS: "Early access for {label} members",
        ReasonCode.BOUGHT_CATEGORY: "Because you bought {label}",
        ReasonCode.FAVOURITE_CATEGORY: "From your favourite category: {label}",
        ReasonCode.STYLE_MATCH: "Matches your {label} style",
        ReasonCode.VIEWED_CATEGORY: "Because you looked at {label}",
        ReasonCode.TIER: "A {label}-tier offer",
        ReasonCode.NEW_OFFER: "New for you",
    },
    "nl": {
        ReasonCode.EARLY_ACCESS: "Eerder toegang voor leden van {label}",
        ReasonCode.BOUGHT_CATEGORY: "Omdat je {label} kocht",
        ReasonCode.FAVOURITE_CATEGORY: "Uit je favoriete categorie: {label}",
        ReasonCode.STYLE_MATCH: "Past bij jouw stijl: {label}",
        ReasonCode.VIEWED_CATEGORY: "Omdat je {label} bekeek",
        ReasonCode.TIER: "Een aanbieding voor {label}-leden",
        ReasonCode.NEW_OFFER: "Nieuw voor jou",
    },
    "uk": {
        ReasonCode.EARLY_ACCESS: "Ранній доступ для учасників клубу «{label}»",
        ReasonCode.BOUGHT_CATEGORY: "Бо ви купували: {label}",
        ReasonCode.FAVOURITE_CATEGORY: "З вашої улюбленої категорії: {label}",
        ReasonCode.STYLE_MATCH: "Пасує до вашого стилю: {label}",
        ReasonCode.VIEWED_CATEGORY: "Бо ви переглядали: {label}",
        ReasonCode.TIER: "Пропозиція для рівня {label}",
        ReasonCode.NEW_OFFER: "Нове для вас",
    },
    "ar": {
        ReasonCode.EARLY_ACCESS: "وصول مبكر لأعضاء {label}",
        ReasonCode.BOUGHT_CATEGORY: "لأنك اشتريت {label}",
        ReasonCode.FAVOURITE_CATEGORY: "من فئتك المفضلة: {label}",
        ReasonCode.STYLE_MATCH: "يناسب أسلوبك: {label}",
        ReasonCode.VIEWED_CATEGORY: "لأنك شاهدت {label}",
        ReasonCode.TIER: "عرض لمستوى {label}",
        ReasonCode.NEW_OFFER: "جديد لك",
    },
}
FALLBACK_LANGUAGE = "en"


def reason_text(code: ReasonCode, *, locale: str, label: str) -> str:
    """The reason in the reader's language (its language, else English), with its label."""
    language = locale.split("-", 1)[0].lower()
    texts = REASON_TEXTS.get(language, REASON_TEXTS[FALLBACK_LANGUAGE])
    return texts[code].format(label=label)
