"""Pure notification rules: templates in every language, quiet hours, the cap, retry waits, tokens."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from backend.rewards.errors import DomainError
from backend.rewards.notifications.rules import (
    LANGUAGES,
    TEMPLATES,
    Kind,
    after_quiet_hours,
    check_token,
    in_quiet_hours,
    render,
    retry_delay,
    within_cap,
)

PARAMS: dict[Kind, dict[str, object]] = {
    Kind.POINTS_EARNED: {"points": 120, "order": "A-1"},
    Kind.VOUCHER_ISSUED: {"voucher_id": 7},
    Kind.TIER_REACHED: {"tier": "Gold"},
    Kind.SURPRISE: {"message": "200 points, on us."},
    Kind.DRAW_WON: {"draw_id": "RHJhdzox"},
    Kind.BIRTHDAY_POINTS: {"points": 200},
    Kind.BIRTHDAY_VOUCHER: {"voucher_id": 7},
    Kind.POINTS_EXPIRING: {"points": 350, "date": "2026-07-01"},
    Kind.TIER_NUDGE: {"tier": "Silver", "points": 50},
    Kind.CLUB_RENEWAL: {"club": "Sneakers", "club_id": 3, "date": "2026-07-01"},
}
REWARD = {"en": "Free keychain", "nl": "Gratis sleutelhanger"}
NIGHT, MORNING = time(21), time(9)
AMSTERDAM = ZoneInfo("Europe/Amsterdam")


@pytest.mark.parametrize("kind", list(Kind))
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_kind_renders_in_every_language(kind, language):
    rendered = render(kind, PARAMS[kind], locale=language, reward=REWARD)
    assert rendered.language == language
    assert rendered.title and rendered.body and "{" not in rendered.title + rendered.body
    assert rendered.deep_link.startswith("rewards://")
    assert set(TEMPLATES[kind].texts) == set(LANGUAGES)


def test_a_locale_picks_its_language_and_others_fall_back_to_english():
    assert render(Kind.TIER_REACHED, {"tier": "Gold"}, locale="nl-NL").title == "Welkom bij Gold"
    assert render(Kind.TIER_REACHED, {"tier": "Gold"}, locale="uk").language == "uk"
    assert render(Kind.TIER_REACHED, {"tier": "Gold"}, locale="fr-FR").title == "Welcome to Gold"


def test_the_reward_is_shown_in_the_members_language_or_the_fallback():
    voucher = render(Kind.VOUCHER_ISSUED, {"voucher_id": 7}, locale="nl", reward=REWARD)
    assert voucher.reward == "Gratis sleutelhanger" and voucher.body.startswith("Gratis")
    assert voucher.deep_link == "rewards://vouchers/7"
    assert render(Kind.VOUCHER_ISSUED, {"voucher_id": 7}, locale="ar", reward=REWARD).reward == (
        "Free keychain"
    )


def test_a_missing_parameter_is_a_bug_not_a_half_filled_text():
    with pytest.raises(ValueError, match="voucher_id"):
        render(Kind.VOUCHER_ISSUED, {}, locale="en", reward=REWARD)


def test_long_parameters_are_clipped_to_the_columns():
    rendered = render(Kind.SURPRISE, {"message": "x" * 2000}, locale="en")
    assert len(rendered.body) == 500 and rendered.body.endswith("…")


@pytest.mark.parametrize(
    ("local", "quiet"),
    [(time(20, 59), False), (time(21), True), (time(23, 30), True), (time(3), True),
     (time(8, 59), True), (time(9), False), (time(12), False)],
)  # fmt: skip
def test_quiet_hours_wrap_past_midnight(local, quiet):
    assert in_quiet_hours(local, NIGHT, MORNING) is quiet


def test_equal_start_and_end_mean_no_quiet_hours():
    assert not in_quiet_hours(time(3), time(0), time(0))


def test_a_push_in_the_evening_waits_for_the_next_morning_in_the_members_zone():
    evening = datetime(2026, 6, 1, 20, 30, tzinfo=UTC)  # 22:30 in Amsterdam (summer time)
    assert after_quiet_hours(evening, AMSTERDAM, NIGHT, MORNING) == datetime(
        2026, 6, 2, 7, 0, tzinfo=UTC
    )


def test_a_push_after_midnight_waits_for_the_same_morning():
    night = datetime(2026, 6, 2, 1, 0, tzinfo=UTC)  # 03:00 in Amsterdam
    assert after_quiet_hours(night, AMSTERDAM, NIGHT, MORNING) == datetime(
        2026, 6, 2, 7, 0, tzinfo=UTC
    )


def test_a_push_in_the_day_goes_at_once():
    noon = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
    assert after_quiet_hours(noon, AMSTERDAM, NIGHT, MORNING) == noon


def test_the_wake_up_time_follows_daylight_saving_changes():
    # the night the clocks go forward in Europe (29 March 2026): 09:00 is 07:00 UTC afterwards
    night = datetime(2026, 3, 28, 22, 0, tzinfo=UTC)  # 23:00 CET
    assert after_quiet_hours(night, AMSTERDAM, NIGHT, MORNING) == datetime(
        2026, 3, 29, 7, 0, tzinfo=UTC
    )


def test_the_cap_allows_up_to_its_number():
    assert within_cap(2, 3) and not within_cap(3, 3) and not within_cap(0, 0)


def test_retry_waits_grow_exponentially_up_to_the_cap_with_jitter_and_honour_retry_after():
    waits = [retry_delay(n, base=5, cap=60, jitter=1.0, retry_after=None) for n in range(1, 6)]
    assert waits == [5, 10, 20, 40, 60]
    assert retry_delay(1, base=5, cap=60, jitter=0.0, retry_after=None) == 2.5
    assert retry_delay(1, base=5, cap=60, jitter=0.5, retry_after=120) == 120


@pytest.mark.parametrize("token", ["a", "x" * 4096, "fcm:APA91b-_~!"])
def test_tokens_of_printable_ascii_up_to_4096_are_accepted(token):
    assert check_token(token) == token


@pytest.mark.parametrize("token", ["", "x" * 4097, "has space", "nul\x00", "tab\t", "é", "日本"])
def test_other_tokens_are_refused_with_a_code(token):
    with pytest.raises(DomainError) as refused:
        check_token(token)
    assert (refused.value.code, refused.value.field) == ("INVALID_TOKEN", "token")
