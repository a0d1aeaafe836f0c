"""Pure rules: FIFO allocation, reversal split, calendar months, card numbers, age, tiers, points."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.rewards.clock import add_months
from backend.rewards.errors import DomainError
from backend.rewards.ledger.rules import OpenLot, allocate_fifo, split_reversal
from backend.rewards.members.rules import (
    age_on,
    check_birth_date,
    new_card_number,
    valid_card_number,
)
from backend.rewards.program import TierRule
from backend.rewards.purchases.rules import purchase_points, refund_points
from backend.rewards.tiers.rules import decide_tier, tier_for

LADDER = tuple(
    TierRule(code, code.title(), i, threshold, Decimal(m), ())
    for i, (code, threshold, m) in enumerate(
        [
            ("member", 0, "1"),
            ("silver", 500, "1.1"),
            ("gold", 2000, "1.25"),
            ("platinum", 5000, "1.5"),
        ]
    )
)
NOW = datetime(2026, 6, 1, tzinfo=UTC)


def test_fifo_takes_oldest_first_and_reports_the_shortfall():
    lots = [OpenLot(1, 30), OpenLot(2, 0), OpenLot(3, 50)]
    assert allocate_fifo(lots, 60) == ([(1, 30), (3, 30)], 0)
    assert allocate_fifo(lots, 100) == ([(1, 30), (3, 50)], 20)


@given(st.lists(st.integers(0, 1000), max_size=10), st.integers(0, 5000))
def test_fifo_never_takes_more_than_a_lot_holds(remaining, points):
    lots = [OpenLot(i, r) for i, r in enumerate(remaining)]
    takes, left = allocate_fifo(lots, points)
    assert sum(t for _, t in takes) + left == points
    assert all(0 < t <= remaining[i] for i, t in takes)
    assert left == max(0, points - sum(remaining))


def test_reversal_takes_unspent_then_expired_then_spent_points():
    split = split_reversal(points=100, remaining=30, expired=50)
    assert (split.from_lot, split.from_expired, split.from_elsewhere) == (30, 50, 20)
    assert split.balance_effect == 50


def test_adding_months_clamps_to_the_end_of_the_month():
    assert add_months(datetime(2026, 1, 31, tzinfo=UTC), 1) == datetime(2026, 2, 28, tzinfo=UTC)
    assert add_months(datetime(2028, 2, 29, tzinfo=UTC), 12) == datetime(2029, 2, 28, tzinfo=UTC)
    assert add_months(datetime(2026, 3, 15, tzinfo=UTC), -12) == datetime(2025, 3, 15, tzinfo=UTC)


def test_card_numbers_carry_a_luhn_check_digit():
    card = new_card_number()
    assert valid_card_number(card)
    wrong = card[:-1] + str((int(card[-1]) + 1) % 10)
    assert not valid_card_number(wrong)


def test_age_counts_whole_years_and_the_18th_birthday_counts_where_the_member_lives():
    assert age_on(date(2008, 6, 2), date(2026, 6, 1)) == 17
    assert age_on(date(2008, 6, 1), date(2026, 6, 1)) == 18
    late_evening_utc = datetime(2026, 5, 31, 22, 0, tzinfo=UTC)  # already 1 June in Kyiv
    check_birth_date(
        date(2008, 6, 1), now=late_evening_utc, time_zone="Europe/Kyiv", minimum_age=18
    )
    with pytest.raises(DomainError) as refused:
        check_birth_date(
            date(2008, 6, 1), now=late_evening_utc, time_zone="America/New_York", minimum_age=18
        )
    assert refused.value.code == "AGE_RESTRICTED"


def test_tiers_go_up_at_once_and_down_only_after_grace():
    gold, silver = LADDER[2], LADDER[1]
    assert tier_for(LADDER, 1999) == silver
    assert (
        decide_tier(
            ladder=LADDER, current=silver, reached_at=NOW, qualifying=2500, now=NOW, grace_months=12
        )
        == gold
    )
    kept = decide_tier(
        ladder=LADDER,
        current=gold,
        reached_at=NOW,
        qualifying=0,
        now=add_months(NOW, 11),
        grace_months=12,
    )
    assert kept == gold
    dropped = decide_tier(
        ladder=LADDER,
        current=gold,
        reached_at=NOW,
        qualifying=600,
        now=add_months(NOW, 12),
        grace_months=12,
    )
    assert dropped == silver


def test_purchase_points_round_down_once_per_order():
    assert purchase_points(Decimal("19.99"), rate=Decimal(1), multiplier=Decimal("1.25")) == 24
    assert purchase_points(Decimal("0.79"), rate=Decimal(1), multiplier=Decimal("1.25")) == 0


@given(st.integers(1, 10_000), st.lists(st.integers(1, 100), min_size=1, max_size=8))
def test_partial_refunds_add_up_to_exactly_the_order_points(points, shares):
    amount = Decimal(sum(shares))
    refunded, reversed_so_far = Decimal(0), 0
    for share in shares:
        refunded += share
        step = refund_points(
            order_points=points,
            order_amount=amount,
            refunded_total=refunded,
            reversed_so_far=reversed_so_far,
        )
        assert step >= 0
        reversed_so_far += step
    assert reversed_so_far == points
