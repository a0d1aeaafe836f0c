"""Tier progress from monthly totals: which months count and when the oldest stops counting."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from backend.rewards.tiers.rules import Qualifying, first_counted_month, month_of, qualifying

NOW = datetime(2027, 5, 20, 9, 30, tzinfo=UTC)


def test_a_month_is_its_first_day_in_utc():
    assert month_of(datetime(2026, 6, 30, 23, 59, tzinfo=UTC)) == date(2026, 6, 1)
    kyiv = timezone(timedelta(hours=3))
    assert month_of(datetime(2026, 7, 1, 1, 0, tzinfo=kyiv)) == date(2026, 6, 1)


def test_the_window_is_this_month_and_the_eleven_before_it():
    assert first_counted_month(NOW, 12) == date(2026, 6, 1)
    assert first_counted_month(datetime(2027, 1, 31, tzinfo=UTC), 12) == date(2026, 2, 1)
    assert first_counted_month(NOW, 1) == date(2027, 5, 1)


def test_months_inside_the_window_are_summed_and_the_oldest_earning_one_sets_the_deadline():
    months = [
        (date(2026, 5, 1), 900),  # before the window: ignored
        (date(2026, 6, 1), -50),  # a refund: lowers the total, is no deadline
        (date(2026, 8, 1), 300),
        (date(2027, 5, 1), 200),
    ]
    assert qualifying(months, now=NOW, window_months=12) == Qualifying(
        points=450, oldest_leaves_at=datetime(2027, 8, 1, tzinfo=UTC)
    )


def test_no_points_means_no_deadline_and_never_a_negative_total():
    assert qualifying([], now=NOW, window_months=12) == Qualifying(0, None)
    refunded = [(date(2027, 4, 1), -80)]
    assert qualifying(refunded, now=NOW, window_months=12) == Qualifying(0, None)
