"""Pure offer rules: audiences, the order of refusals, voucher codes, texts and the ladder."""

from __future__ import annotations

import math
import secrets
from datetime import UTC, datetime, timedelta

import pytest

from backend.rewards.errors import DomainError
from backend.rewards.offers.rules import (
    CODE_BYTES,
    CROCKFORD,
    Audience,
    MemberFacts,
    Milestone,
    OfferTerms,
    Unavailable,
    VoucherStatus,
    check_ladder,
    display_code,
    due_milestones,
    in_audience,
    new_voucher_code,
    parse_code,
    pick_text,
    refusal,
    shown,
    voucher_status,
)

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
LADDER = ["member", "silver", "gold", "platinum"]


def terms(**fields) -> OfferTerms:
    """Open offer terms for 100 points, changed by `fields`."""
    base = {
        "id": 1,
        "points_cost": 100,
        "starts_at": NOW - timedelta(days=1),
        "ends_at": None,
        "stock": None,
        "per_member_limit": None,
    }
    return OfferTerms(**{**base, **fields})


@pytest.mark.parametrize(
    ("audience", "facts", "expected"),
    [
        (Audience(), MemberFacts("member"), True),
        (Audience(min_tier="gold"), MemberFacts("silver"), False),
        (Audience(min_tier="gold"), MemberFacts("platinum"), True),
        (Audience(club_id=7), MemberFacts("member", club_ids=frozenset({7})), True),
        # A club opens an offer early to its members; it restricts no one after the start.
        (Audience(club_id=7), MemberFacts("member", club_ids=frozenset({8})), True),
        # A club-only offer is its members' alone.
        (Audience(club_id=7, club_only=True), MemberFacts("m", club_ids=frozenset({7})), True),
        (Audience(club_id=7, club_only=True), MemberFacts("m", club_ids=frozenset({8})), False),
        (Audience(club_only=True), MemberFacts("member"), False),
        (
            Audience(style_tags=frozenset({"boho", "classic"})),
            MemberFacts("member", style_tags=frozenset({"classic"})),
            True,
        ),
        (Audience(style_tags=frozenset({"boho"})), MemberFacts("member"), False),
        (
            Audience(categories=frozenset({"tea"})),
            MemberFacts("member", categories_bought=frozenset({"tea"})),
            True,
        ),
        (
            Audience(categories=frozenset({"tea"})),
            MemberFacts("member", categories_viewed=frozenset({"tea"})),
            False,
        ),
    ],
)
def test_every_part_of_an_audience_that_is_set_must_match(audience, facts, expected):
    assert in_audience(audience, facts, LADDER) is expected


def test_a_tea_drinker_who_dislikes_coffee_is_not_shown_a_coffee_offer():
    tea_drinker = MemberFacts("member", disliked_categories=frozenset({"coffee"}))
    assert not shown(terms(categories=frozenset({"coffee"})), tea_drinker, now=NOW, ladder=LADDER)
    assert shown(terms(categories=frozenset({"tea"})), tea_drinker, now=NOW, ladder=LADDER)


def test_refusals_come_in_a_fixed_order():
    facts = MemberFacts("member")
    worst = terms(
        starts_at=NOW + timedelta(days=1),
        stock=0,
        per_member_limit=1,
        audience=Audience(min_tier="gold"),
    )
    expected = [
        Unavailable.NOT_YET_OPEN,
        Unavailable.NOT_IN_AUDIENCE,
        Unavailable.OUT_OF_STOCK,
        Unavailable.LIMIT_REACHED,
        Unavailable.NOT_ENOUGH_POINTS,
        None,
    ]
    fixes = [
        {"starts_at": NOW},
        {"audience": Audience()},
        {"stock": 1},
        {"per_member_limit": 2},
        {"points_cost": 0},
    ]
    current = worst
    for index, reason in enumerate(expected):
        assert refusal(current, facts, now=NOW, ladder=LADDER, balance=50, taken=1) == reason
        if index < len(fixes):
            current = OfferTerms(**{**current.__dict__, **fixes[index]})
    assert refusal(terms(ends_at=NOW), facts, now=NOW, ladder=LADDER, balance=0, taken=0) == (
        Unavailable.ENDED
    )


def test_a_club_only_offer_is_refused_to_non_members_whenever_and_opens_early_to_members():
    only = Audience(club_id=7, club_only=True)
    member, outsider = MemberFacts("m", club_ids=frozenset({7})), MemberFacts("m")
    for window in (
        {"starts_at": NOW + timedelta(days=1)},
        {"starts_at": NOW - timedelta(days=2), "ends_at": NOW},
        {},
    ):
        offer = terms(audience=only, early_access_days=3, **window)
        assert refusal(offer, outsider, now=NOW, ladder=LADDER, balance=500, taken=0) == (
            Unavailable.NOT_IN_AUDIENCE
        )
        assert not shown(offer, outsider, now=NOW, ladder=LADDER)
    early = terms(audience=only, early_access_days=3, starts_at=NOW + timedelta(days=1))
    assert refusal(early, member, now=NOW, ladder=LADDER, balance=500, taken=0) is None
    assert shown(early, member, now=NOW, ladder=LADDER)


def test_voucher_codes_are_unique_over_100000_and_carry_80_random_bits():
    codes = {new_voucher_code(secrets.token_bytes) for _ in range(100_000)}
    assert len(codes) == 100_000
    assert all(len(c) == 16 and set(c) <= set(CROCKFORD) for c in codes)
    bits = 16 * math.log2(len(CROCKFORD))
    assert bits == CODE_BYTES * 8 == 80 >= 64


def test_every_random_bit_shows_in_the_code():
    for raw in (b"\x00" * 10, b"\xff" * 10, secrets.token_bytes(10)):
        code = new_voucher_code(lambda n, raw=raw: raw)
        decoded = sum(CROCKFORD.index(c) << (5 * i) for i, c in enumerate(reversed(code)))
        assert decoded == int.from_bytes(raw, "big")


@pytest.mark.parametrize(
    "typed",
    ["7KQ2-9W4M-XP3D-H8RT", "7kq29w4mxp3dh8rt", "7KQ2 9W4M XP3D H8RT", " 7kq2-9w4m-xp3d-h8rt "],
)
def test_a_code_is_read_however_it_is_typed(typed):
    assert parse_code(typed) == "7KQ29W4MXP3DH8RT"
    assert display_code("7KQ29W4MXP3DH8RT") == "7KQ2-9W4M-XP3D-H8RT"


def test_letters_that_look_like_digits_read_as_digits_and_junk_is_refused():
    assert parse_code("OOOO-IIII-LLLL-0000") == "0000111111110000"
    for junk in (
        "",
        "UUUU-UUUU-UUUU-UUUU",
        "7KQ2-9W4M-XP3D-H8R",
        "7KQ2-9W4M-XP3D-H8RTX",
        "x" * 10_000,
    ):
        assert parse_code(junk) is None


def test_voucher_status_as_of_a_moment():
    later = NOW + timedelta(days=1)
    assert voucher_status(used_at=None, expires_at=later, now=NOW) == VoucherStatus.ACTIVE
    assert voucher_status(used_at=None, expires_at=NOW, now=NOW) == VoucherStatus.EXPIRED
    assert voucher_status(used_at=NOW, expires_at=NOW, now=later) == VoucherStatus.USED


def test_the_text_for_a_locale_falls_back_to_its_language_then_the_default():
    texts = {"en": {"title": "en"}, "nl": {"title": "nl"}, "pt-BR": {"title": "pt-BR"}}
    assert pick_text(texts, "nl-BE", "en")[0] == "nl"
    assert pick_text(texts, "pt-PT", "en")[0] == "en"
    assert pick_text(texts, "fr", "en")[0] == "en"
    assert pick_text({"pt-BR": {}}, "pt", "en")[0] == "pt-BR"


def test_the_ladder_is_sorted_checked_and_reached_once_per_count():
    ladder = check_ladder([Milestone(10, 3), Milestone(4, 2)])
    assert ladder == (Milestone(4, 2), Milestone(10, 3))
    assert due_milestones(ladder, 4) == [Milestone(4, 2)] and due_milestones(ladder, 5) == []
    with pytest.raises(DomainError) as refused:
        check_ladder([Milestone(4, 2), Milestone(4, 3)])
    assert (refused.value.code, refused.value.field) == ("INVALID_MILESTONE", "steps.1.purchases")
