"""Pure automation rules: birthdays (29 February), the dates somewhere on Earth, nudge targets."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from backend.rewards.automations.rules import (
    birth_dates_celebrated_on,
    birthdays_somewhere,
    celebrated_on,
    dates_somewhere,
    nudge_target,
)
from backend.rewards.program import TierRule

LADDER = tuple(
    TierRule(code, code.title(), position, threshold, Decimal(1), ())
    for position, (code, threshold) in enumerate([("member", 0), ("silver", 500), ("gold", 2000)])
)
MEMBER, SILVER, GOLD = LADDER
LEAP_DAY = date(2000, 2, 29)


@pytest.mark.parametrize(("year", "day"), [(2027, date(2027, 2, 28)), (2028, date(2028, 2, 29))])
def test_29_february_is_celebrated_on_28_february_off_leap_years(year, day):
    assert celebrated_on(LEAP_DAY, year) == day
    assert celebrated_on(date(1990, 3, 1), year) == date(year, 3, 1)


def test_the_birth_dates_of_a_day_include_leap_days_only_when_they_move_there():
    assert LEAP_DAY in birth_dates_celebrated_on(date(2027, 2, 28), max_age=130)
    assert LEAP_DAY not in birth_dates_celebrated_on(date(2028, 2, 28), max_age=130)
    assert LEAP_DAY in birth_dates_celebrated_on(date(2028, 2, 29), max_age=130)
    assert date(2001, 2, 28) in birth_dates_celebrated_on(date(2027, 2, 28), max_age=130)


def test_around_utc_midnight_three_dates_are_somewhere():
    assert dates_somewhere(datetime(2026, 6, 1, 11, 0, tzinfo=UTC)) == [
        date(2026, 5, 31),
        date(2026, 6, 1),
        date(2026, 6, 2),
    ]
    born = birthdays_somewhere(datetime(2026, 6, 1, 23, 0, tzinfo=UTC), max_age=130)
    assert date(1990, 6, 2) in born and date(1990, 6, 1) in born and date(1990, 5, 31) not in born


@pytest.mark.parametrize(("points", "target"), [(399, None), (400, SILVER), (499, SILVER)])
def test_the_nudge_starts_at_the_share_of_the_next_threshold(points, target):
    assert nudge_target(LADDER, current=MEMBER, qualifying=points, percent=80) == target


def test_no_nudge_towards_a_tier_held_already_or_past_the_top():
    assert nudge_target(LADDER, current=GOLD, qualifying=450, percent=80) is None
    assert nudge_target(LADDER, current=GOLD, qualifying=5000, percent=80) is None
    assert nudge_target(LADDER, current=SILVER, qualifying=1600, percent=80) == GOLD
