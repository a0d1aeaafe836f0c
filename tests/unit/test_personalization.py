"""Pure personalization and early-access rules: scores, reasons, rotation, club windows and stock."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.rewards.offers.personalization import (
    FEATURED_POOL,
    Fitter,
    Reason,
    ReasonCode,
    _best,
    after,
    featured,
    fit,
    reason_text,
)
from backend.rewards.offers.rules import (
    Audience,
    Interest,
    MemberFacts,
    Unavailable,
    claim_refusal,
    early_access,
    hidden_before_start,
    opens_at,
    refusal,
    shown,
    units_left,
)
from tests.unit.test_offer_rules import LADDER, NOW, terms

TEA_DRINKER = MemberFacts(
    "gold",
    style_tags=frozenset({"style:sporty"}),
    categories_bought=frozenset({"outerwear"}),
    categories_viewed=frozenset({"knitwear"}),
    disliked_categories=frozenset({"coffee"}),
    favourite_categories=frozenset({"tea"}),
    interest={
        "outerwear": Interest(bought=1),
        "knitwear": Interest(viewed=1, last_viewed_at=NOW - timedelta(days=2)),
    },
)


@pytest.mark.parametrize(
    ("offer", "score", "reason"),
    [
        (terms(categories=frozenset({"tea"})), 24, Reason(ReasonCode.FAVOURITE_CATEGORY, "tea")),
        (
            terms(audience=Audience(style_tags=frozenset({"style:sporty", "style:boho"}))),
            16,
            Reason(ReasonCode.STYLE_MATCH, "style:sporty"),
        ),
        (terms(audience=Audience(min_tier="gold")), 12, Reason(ReasonCode.TIER, "gold")),
        (
            terms(categories=frozenset({"outerwear"})),
            8,
            Reason(ReasonCode.BOUGHT_CATEGORY, "outerwear"),
        ),
        (
            terms(categories=frozenset({"knitwear"})),
            4,
            Reason(ReasonCode.VIEWED_CATEGORY, "knitwear"),
        ),
        (terms(categories=frozenset({"denim"})), 0, Reason(ReasonCode.NEW_OFFER)),
        (  # parts add up; the largest names the reason
            terms(categories=frozenset({"tea", "outerwear"}), audience=Audience(min_tier="gold")),
            24 + 8 + 12,
            Reason(ReasonCode.FAVOURITE_CATEGORY, "tea"),
        ),
    ],
)
def test_each_part_of_the_score_and_the_reason_it_gives(offer, score, reason):
    found = fit(offer, TEA_DRINKER, now=NOW, ladder=LADDER)
    assert (found.score, found.reason) == (score, reason)


def test_the_tea_drinker_who_dislikes_coffee_is_never_shown_a_coffee_offer():
    coffee = terms(categories=frozenset({"coffee", "tea"}))
    assert not shown(coffee, TEA_DRINKER, now=NOW, ladder=LADDER)
    assert shown(terms(categories=frozenset({"tea"})), TEA_DRINKER, now=NOW, ladder=LADDER)


def test_views_count_fully_for_30_days_half_until_180_and_then_not_at_all():
    offer = terms(categories=frozenset({"knitwear"}))

    def score(days: int) -> int:
        interest = {"knitwear": Interest(viewed=5, last_viewed_at=NOW - timedelta(days=days))}
        return fit(offer, MemberFacts("member", interest=interest), now=NOW, ladder=LADDER).score

    assert [score(d) for d in (0, 30, 31, 180, 181)] == [12, 12, 6, 6, 0]


@given(st.integers(0, 10_000), st.integers(0, 10_000))
def test_more_purchases_in_a_category_never_score_less(fewer, more):
    fewer, more = sorted((fewer, more))
    offer = terms(categories=frozenset({"shoes"}))

    def score(bought: int) -> int:
        facts = MemberFacts("member", interest={"shoes": Interest(bought=bought)})
        return fit(offer, facts, now=NOW, ladder=LADDER).score

    assert 0 <= score(fewer) <= score(more) <= 40


@given(
    st.lists(st.tuples(st.integers(0, 500), st.integers(1, 2**31 - 1)), unique_by=lambda r: r[1])
)
def test_pages_cut_at_any_cursor_hold_every_offer_exactly_once(ranks):
    ordered = sorted(ranks, reverse=True)
    for cut in range(len(ordered) + 1):
        cursor = ordered[cut - 1] if cut else None
        assert [r for r in ordered if after(r, cursor)] == ordered[cut:]


@given(st.lists(st.integers(1, 50), unique=True, max_size=12), st.none() | st.integers(1, 50))
def test_the_featured_offer_changes_on_every_visit_while_another_is_eligible(ranked, last):
    chosen = featured(ranked, last=last)
    if not ranked:
        assert chosen is None
        return
    assert chosen in ranked[:FEATURED_POOL]
    if len(ranked) > 1:
        assert chosen != last


def test_the_featured_offer_rotates_through_the_five_best_in_rank_order():
    seen, last = [], None
    for _ in range(7):
        last = featured([9, 8, 7, 6, 5, 4], last=last)
        seen.append(last)
    assert seen == [9, 8, 7, 6, 5, 9, 8]
    assert featured([3], last=3) == 3  # the only one left is shown again


@pytest.mark.parametrize(
    ("locale", "text"),
    [
        ("en", "Because you bought outerwear"),
        ("nl-BE", "Omdat je outerwear kocht"),
        ("uk", "Бо ви купували: outerwear"),
        ("ar", "لأنك اشتريت outerwear"),
        ("fr", "Because you bought outerwear"),
    ],
)
def test_reasons_read_in_the_members_language_with_english_as_fallback(locale, text):
    assert reason_text(ReasonCode.BOUGHT_CATEGORY, locale=locale, label="outerwear") == text


CLUB = 7
EARLY = terms(
    starts_at=NOW + timedelta(days=3),
    audience=Audience(club_id=CLUB),
    early_access_days=3,
    stock=10,
    club_stock=2,
)
IN_CLUB = MemberFacts("member", club_ids=frozenset({CLUB}))
OUTSIDE = MemberFacts("member", club_ids=frozenset({8}))


def test_club_members_open_an_offer_its_early_access_days_before_everyone_else():
    assert opens_at(EARLY, IN_CLUB) == NOW == EARLY.starts_at - timedelta(days=3)
    assert opens_at(EARLY, OUTSIDE) == EARLY.starts_at
    assert early_access(EARLY, IN_CLUB, NOW) and not early_access(EARLY, OUTSIDE, NOW)
    assert not early_access(EARLY, IN_CLUB, EARLY.starts_at)  # public from the start on


@pytest.mark.parametrize(
    ("moment", "member", "expected"),
    [
        (NOW - timedelta(microseconds=1), IN_CLUB, Unavailable.NOT_YET_OPEN),
        (NOW, IN_CLUB, None),
        (EARLY.starts_at - timedelta(microseconds=1), OUTSIDE, Unavailable.NOT_YET_OPEN),
        (EARLY.starts_at, OUTSIDE, None),
    ],
)
def test_early_access_boundaries(moment, member, expected):
    found = refusal(EARLY, member, now=moment, ladder=LADDER, balance=100, taken=0)
    assert found == expected


def test_non_members_do_not_see_an_early_access_offer_before_its_public_start():
    assert hidden_before_start(EARLY, OUTSIDE, NOW)
    assert not hidden_before_start(EARLY, OUTSIDE, EARLY.starts_at)
    assert not hidden_before_start(EARLY, IN_CLUB, NOW - timedelta(days=30))


@pytest.mark.parametrize(
    ("stock", "club_stock", "early", "left"),
    [
        (10, 2, True, 2),  # early access takes the club's units only
        (10, 0, True, 0),
        (10, None, True, 10),  # none reserved: the public stock
        (10, 2, False, 12),  # what the club left joins the public stock
        (None, 2, True, 2),
        (None, 2, False, None),  # unlimited after the start
        (0, 0, False, 0),
    ],
)
def test_units_left_during_and_after_early_access(stock, club_stock, early, left):
    assert units_left(terms(stock=stock, club_stock=club_stock), early=early) == left


def test_an_early_access_offer_scores_its_club_members_highest():
    found = fit(EARLY, IN_CLUB, now=NOW, ladder=LADDER)
    assert (found.score, found.reason) == (40, Reason(ReasonCode.EARLY_ACCESS, str(CLUB)))


def _best_by_sorting(parts):
    """The rule `_best` implements: the parts sorted by points (high first), then subject."""
    found = sorted(parts, key=lambda part: (-part[0], part[1]))
    return found[0] if found and found[0][0] > 0 else (0, None)


@given(st.dictionaries(st.sampled_from("abcdef"), st.integers(0, 40)))
def test_the_best_part_is_the_first_of_the_parts_sorted_by_points_then_subject(points):
    parts = [(p, subject) for subject, p in points.items()]
    assert _best(parts) == _best_by_sorting(parts)


CATEGORIES = st.frozensets(st.sampled_from(["tea", "coffee", "shoes", "bags"]))
STYLES = st.frozensets(st.sampled_from(["style:sporty", "style:boho", "style:classic"]))
MOMENTS = st.integers(-200, 200).map(lambda days: NOW + timedelta(days=days))
OFFER_TERMS = st.builds(
    terms,
    starts_at=MOMENTS,
    ends_at=st.none() | MOMENTS,
    stock=st.none() | st.integers(0, 3),
    club_stock=st.none() | st.integers(0, 3),
    per_member_limit=st.none() | st.integers(1, 3),
    points_cost=st.integers(0, 300),
    early_access_days=st.integers(0, 14),
    categories=CATEGORIES,
    audience=st.builds(
        Audience,
        min_tier=st.none() | st.sampled_from([*LADDER, "unknown"]),
        club_id=st.none() | st.integers(1, 3),
        club_only=st.booleans(),
        style_tags=STYLES,
        categories=CATEGORIES,
    ),
)
INTERESTS = st.dictionaries(
    st.sampled_from(["tea", "coffee", "shoes", "bags"]),
    st.builds(
        Interest,
        bought=st.integers(0, 40),
        viewed=st.integers(0, 40),
        last_viewed_at=st.none() | MOMENTS,
    ),
)
MEMBER_FACTS = st.builds(
    MemberFacts,
    tier_code=st.sampled_from([*LADDER, "unknown"]),
    club_ids=st.frozensets(st.integers(1, 3)),
    style_tags=STYLES,
    categories_bought=CATEGORIES,
    disliked_categories=CATEGORIES,
    favourite_categories=CATEGORIES,
    interest=INTERESTS,
)


def _fit_by_the_table(offer, facts):
    """The module's table, part by part: every part with its points and subject, then the sum
    and the first part of the most points (NEW_OFFER when none gives any)."""
    interest = facts.interest
    known = sorted(c for c in offer.categories if c in interest)

    def views(c):
        seen = interest[c]
        if seen.last_viewed_at is None or seen.viewed <= 0:
            return 0
        age = NOW - seen.last_viewed_at
        full = 4 * min(seen.viewed.bit_length(), 5)
        return full if age <= timedelta(days=30) else full // 2 if age <= timedelta(days=180) else 0

    def best(parts):
        return max(parts, key=lambda part: part[0], default=(0, None))  # first among equals

    matched = sorted(offer.audience.style_tags & facts.style_tags)
    tier = offer.audience.min_tier
    rung = LADDER.index(tier) if tier in LADDER else 0
    parts = [
        (
            ReasonCode.EARLY_ACCESS,
            40 if early_access(offer, facts, NOW) else 0,
            str(offer.audience.club_id),
        ),
        (
            ReasonCode.BOUGHT_CATEGORY,
            *best([(8 * min(interest[c].bought.bit_length(), 5), c) for c in known]),
        ),
        (
            ReasonCode.FAVOURITE_CATEGORY,
            *best([(24, c) for c in sorted(offer.categories & facts.favourite_categories)]),
        ),
        (ReasonCode.STYLE_MATCH, 16 * min(len(matched), 2), matched[0] if matched else None),
        (ReasonCode.VIEWED_CATEGORY, *best([(views(c), c) for c in known])),
        (ReasonCode.TIER, 6 * rung, tier),
    ]
    code, points, subject = max(parts, key=lambda part: part[1])
    reason = Reason(code, subject) if points > 0 else Reason(ReasonCode.NEW_OFFER)
    return sum(part[1] for part in parts), reason


@given(OFFER_TERMS, MEMBER_FACTS)
def test_the_fit_is_the_sum_of_the_tables_parts_and_its_reason_the_largest(offer, facts):
    found = fit(offer, facts, now=NOW, ladder=LADDER)
    assert (found.score, found.reason) == _fit_by_the_table(offer, facts)


@given(OFFER_TERMS, MEMBER_FACTS, st.integers(0, 300), st.integers(0, 3))
def test_nothing_refuses_entry_to_an_offer_shown_to_the_member_only_its_claim(
    offer, facts, balance, taken
):
    if not shown(offer, facts, now=NOW, ladder=LADDER):
        return
    early = early_access(offer, facts, NOW)
    expected = refusal(offer, facts, now=NOW, ladder=LADDER, balance=balance, taken=taken)
    assert claim_refusal(offer, early=early, balance=balance, taken=taken) == expected


@given(st.lists(OFFER_TERMS, max_size=6), MEMBER_FACTS)
def test_one_members_figures_score_each_of_many_offers_by_the_table(offers, facts):
    fitter = Fitter(facts, now=NOW, ladder=LADDER)  # as a listing makes it: once for all offers
    for offer in offers:
        found = fitter(offer, early=early_access(offer, facts, NOW))
        assert (found.score, found.reason) == _fit_by_the_table(offer, facts)


@given(OFFER_TERMS, MEMBER_FACTS, MOMENTS, st.integers(-3, 14))
def test_early_access_is_opening_for_the_member_before_the_public_start(offer, facts, now, days):
    offer = replace(offer, early_access_days=days)
    assert early_access(offer, facts, now) == (opens_at(offer, facts) <= now < offer.starts_at)
