"""Pure marketing rules: filters checked, rewards, holdout draw, send times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from backend.rewards.errors import DomainError
from backend.rewards.marketing.rules import (
    Reward,
    RewardKind,
    check_holdout,
    check_reward,
    check_send_at,
    held_out,
    points_reward,
)
from backend.rewards.marketing.segments import SegmentFilter, check_filter

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        (SegmentFilter(tiers=tuple(f"t{n}" for n in range(21))), "filter.tiers"),
        (SegmentFilter(styles=("sporty", "no spaces")), "filter.styles"),
        (SegmentFilter(categories_bought=("x" * 65,)), "filter.categoriesBought"),
        (SegmentFilter(languages=("NL",)), "filter.languages"),
        (SegmentFilter(club_ids=tuple(range(1, 22))), "filter.clubIds"),
        (SegmentFilter(inactive_days=0), "filter.inactiveDays"),
        (SegmentFilter(birthday_month=13), "filter.birthdayMonth"),
        (SegmentFilter(balance_min=10, balance_max=9), "filter.balanceMax"),
        (SegmentFilter(balance_min=-(10**9) - 1), "filter.balanceMin"),
        (SegmentFilter(last_purchase_after=datetime(2026, 1, 1)), "filter.lastPurchaseAfter"),
        (
            SegmentFilter(last_purchase_before=NOW, last_purchase_after=NOW),
            "filter.lastPurchaseBefore",
        ),
    ],
)
def test_a_bad_filter_is_refused_naming_its_part(spec, field):
    with pytest.raises(DomainError) as refused:
        check_filter(spec)
    assert (refused.value.code, refused.value.field) == ("INVALID_FILTER", field)


def test_a_filter_at_its_limits_is_kept_and_round_trips_through_json():
    spec = SegmentFilter(
        tiers=tuple(f"t{n}" for n in range(20)),
        styles=("sporty", "sporty", "classic"),
        inactive_days=3650,
        birthday_month=12,
        balance_min=-(10**9),
        balance_max=10**9,
        last_purchase_before=NOW,
        last_purchase_after=NOW - timedelta(days=1),
        marketing_consent=False,
    )
    checked = check_filter(spec)
    assert checked.styles == ("sporty", "classic")  # duplicates dropped, order kept
    assert SegmentFilter.of_json(checked.as_json()) == checked
    assert SegmentFilter().as_json() == {}


@pytest.mark.parametrize(
    ("reward", "code"),
    [
        (Reward(RewardKind.POINTS), "INVALID_REWARD"),
        (Reward(RewardKind.POINTS, points=10, offer_id=1), "INVALID_REWARD"),
        (Reward(RewardKind.POINTS, points=0), "INVALID_POINTS"),
        (Reward(RewardKind.POINTS, points=100_001), "INVALID_POINTS"),
        (Reward(RewardKind.OFFER), "INVALID_REWARD"),
        (Reward(RewardKind.EXTRA_SPINS, points=3, offer_id=1), "INVALID_REWARD"),
    ],
)
def test_a_malformed_reward_is_refused(reward, code):
    with pytest.raises(DomainError) as refused:
        check_reward(reward)
    assert refused.value.code == code


def test_holdout_and_send_time_ranges():
    assert check_holdout(0) == 0 and check_holdout(50) == 50
    for bad in (-1, 51):
        with pytest.raises(DomainError, match="0 to 50"):
            check_holdout(bad)
    assert check_send_at(None, NOW) == NOW
    assert check_send_at(NOW - timedelta(minutes=4), NOW) == NOW  # a clock a little behind
    assert check_send_at(NOW + timedelta(days=365), NOW) == NOW + timedelta(days=365)
    cases = [
        (NOW - timedelta(minutes=6), "SEND_AT_IN_PAST"),
        (NOW + timedelta(days=366), "INVALID_SEND_AT"),
        (datetime(2026, 7, 1), "INVALID_SEND_AT"),
    ]
    for moment, code in cases:
        with pytest.raises(DomainError) as refused:
            check_send_at(moment, NOW)
        assert (refused.value.code, refused.value.field) == (code, "sendAt")


def test_the_holdout_draw_is_reproducible_keyed_and_close_to_the_share():
    members = range(1, 20_001)
    drawn = [m for m in members if held_out("seed-a", m, 10)]
    assert drawn == [m for m in members if held_out("seed-a", m, 10)]  # reproducible
    assert 1800 <= len(drawn) <= 2200
    assert drawn != [m for m in members if held_out("seed-b", m, 10)]  # another seed, others
    assert not any(held_out("seed-a", m, 0) for m in members)
    assert set(drawn) <= {m for m in members if held_out("seed-a", m, 20)}  # shares nest


def test_a_points_reward_is_named_in_every_template_language():
    assert points_reward(250) == {
        "en": "250 points",
        "nl": "250 punten",
        "uk": "250 балів",
        "ar": "250 نقطة",
    }
