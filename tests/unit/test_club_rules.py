"""Club rules: status at read time, term ends, join decisions, the club's checks and languages."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from backend.rewards.clubs.rules import (
    ClubDraft,
    ClubStatus,
    ClubTerms,
    JoinSource,
    Standing,
    check_invitation_days,
    clean_draft,
    decide_join,
    localize,
    status,
    term_end,
)
from backend.rewards.errors import DomainError

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
BOUGHT = ClubTerms(points_price=400, term_months=12, invitation_only=False, active=True)
PRIVATE = ClubTerms(points_price=None, term_months=6, invitation_only=True, active=True)
DRAFT = ClubDraft(
    code="sneakers",
    name={"en": "Sneakers Club", "uk": "Клуб кросівок"},
    description={"en": "Drops first."},
    perks=({"en": "Early drops", "ar": "إصدارات مبكرة"},),
    points_price=2000,
    term_months=12,
    invitation_only=False,
)


def code_of(call, *args, **kwargs) -> tuple[str, str | None]:
    """The code and field of the DomainError a call raises."""
    with pytest.raises(DomainError) as raised:
        call(*args, **kwargs)
    return raised.value.code, raised.value.field


def test_a_term_ends_the_same_moment_months_later_clamped_at_month_end():
    assert term_end(NOW, 12) == datetime(2027, 6, 1, 12, 0, tzinfo=UTC)
    assert term_end(datetime(2026, 1, 31, 9, tzinfo=UTC), 1) == datetime(2026, 2, 28, 9, tzinfo=UTC)


def test_status_is_member_until_the_exact_end_then_expired():
    end = NOW + timedelta(days=1)
    assert status(Standing(latest_end=end), now=end - timedelta(microseconds=1)) == "MEMBER"
    assert status(Standing(latest_end=end), now=end) == ClubStatus.EXPIRED
    assert status(Standing(), now=NOW) == ClubStatus.NOT_MEMBER


def test_an_open_invitation_shows_unless_a_term_runs():
    later = NOW + timedelta(days=5)
    assert status(Standing(invited_until=later), now=NOW) == ClubStatus.INVITED
    assert status(Standing(invited_until=NOW), now=NOW) == ClubStatus.NOT_MEMBER
    assert status(Standing(NOW - timedelta(days=1), later), now=NOW) == ClubStatus.INVITED
    assert status(Standing(later, later), now=NOW) == ClubStatus.MEMBER


def test_a_first_join_buys_a_term_from_now():
    join = decide_join(BOUGHT, latest_end=None, invited=False, now=NOW)
    assert (join.source, join.starts_at, join.ends_at, join.points) == (
        JoinSource.POINTS,
        NOW,
        term_end(NOW, 12),
        400,
    )


def test_a_renewal_starts_where_the_running_term_ends_and_one_term_ahead_is_the_most():
    end = NOW + timedelta(days=30)
    join = decide_join(BOUGHT, latest_end=end, invited=False, now=NOW)
    assert (join.starts_at, join.ends_at) == (end, term_end(end, 12))
    assert code_of(decide_join, BOUGHT, latest_end=join.ends_at, invited=False, now=NOW) == (
        "ALREADY_MEMBER",
        "clubId",
    )
    exactly_one_term = term_end(NOW, 12)
    assert decide_join(BOUGHT, latest_end=exactly_one_term, invited=False, now=NOW).points == 400


def test_after_expiry_a_join_starts_afresh():
    join = decide_join(BOUGHT, latest_end=NOW, invited=False, now=NOW)
    assert join.starts_at == NOW


def test_invitation_only_needs_an_invitation_which_is_free():
    assert code_of(decide_join, PRIVATE, latest_end=None, invited=False, now=NOW) == (
        "INVITATION_REQUIRED",
        "clubId",
    )
    join = decide_join(PRIVATE, latest_end=None, invited=True, now=NOW)
    assert (join.source, join.points, join.ends_at) == (JoinSource.INVITATION, 0, term_end(NOW, 6))
    assert decide_join(BOUGHT, latest_end=None, invited=True, now=NOW).points == 0


def test_a_closed_club_takes_nobody():
    closed = replace(BOUGHT, active=False)
    assert code_of(decide_join, closed, latest_end=None, invited=True, now=NOW)[0] == "CLUB_CLOSED"


def test_texts_fall_back_to_english():
    texts = {"en": "Sneakers Club", "uk": "Клуб кросівок", "ar": "نادي الأحذية"}
    assert localize(texts, "uk") == "Клуб кросівок"
    assert localize(texts, "ar-AE") == "نادي الأحذية"
    assert localize(texts, "nl-NL") == "Sneakers Club"
    assert localize(texts, "de") == "Sneakers Club"


def test_a_clean_draft_keeps_its_texts_in_nfc_and_collapses_spaces():
    cleaned = clean_draft(replace(DRAFT, name={"en": "  Sneakers   Club ", "nl": "Cafe\u0301"}))
    assert cleaned.name == {"en": "Sneakers Club", "nl": "Café"}
    assert cleaned.perks == ({"en": "Early drops", "ar": "إصدارات مبكرة"},)


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"code": "Sneakers"}, "INVALID_CODE", "code"),
        ({"code": "-x"}, "INVALID_CODE", "code"),
        ({"code": "a" * 33}, "INVALID_CODE", "code"),
        ({"code": "a\x00"}, "INVALID_CODE", "code"),
        ({"name": {"uk": "Клуб"}}, "INVALID_NAME", "name.en"),
        ({"name": {"en": "Club", "de": "Klub"}}, "INVALID_NAME", "name"),
        ({"name": {"en": "N" * 81}}, "INVALID_NAME", "name.en"),
        ({"name": {"en": "Club", "ar": "\u200b"}}, "INVALID_NAME", "name.ar"),
        ({"description": {"en": "a\nb"}}, "INVALID_DESCRIPTION", "description.en"),
        ({"description": {"en": "d" * 1001}}, "INVALID_DESCRIPTION", "description.en"),
        ({"perks": ({"en": "p"},) * 11}, "INVALID_PERKS", "perks"),
        ({"perks": ({"en": "ok"}, {"en": "p" * 121})}, "INVALID_PERKS", "perks.1.en"),
        ({"points_price": None}, "INVALID_PRICE", "pointsPrice"),
        ({"points_price": 0}, "INVALID_PRICE", "pointsPrice"),
        ({"points_price": 1_000_001}, "INVALID_PRICE", "pointsPrice"),
        ({"invitation_only": True}, "INVALID_PRICE", "pointsPrice"),
        ({"term_months": 0}, "INVALID_TERM", "termMonths"),
        ({"term_months": 61}, "INVALID_TERM", "termMonths"),
        ({"early_access_days": -1}, "INVALID_EARLY_ACCESS", "earlyAccessDays"),
        ({"early_access_days": 31}, "INVALID_EARLY_ACCESS", "earlyAccessDays"),
    ],
)
def test_a_bad_club_gets_the_code_of_its_field(changes, code, field):
    assert code_of(clean_draft, replace(DRAFT, **changes)) == (code, field)


def test_every_field_at_its_limit_passes():
    draft = replace(
        DRAFT,
        code="z" * 32,
        name={lang: "N" * 80 for lang in ("en", "ar", "uk", "nl")},
        description={"en": "d" * 1000},
        perks=({"en": "p" * 120},) * 10,
        points_price=1_000_000,
        term_months=60,
        early_access_days=30,
    )
    assert clean_draft(draft) == draft
    private = replace(DRAFT, points_price=None, invitation_only=True, term_months=1)
    assert clean_draft(replace(private, early_access_days=0)).points_price is None


def test_invitations_stay_open_one_to_365_days():
    assert check_invitation_days(1) == 1 and check_invitation_days(365) == 365
    assert code_of(check_invitation_days, 366) == ("INVALID_EXPIRY", "expiresInDays")
    assert code_of(check_invitation_days, 0) == ("INVALID_EXPIRY", "expiresInDays")
