"""Pure rules: FIFO allocation, reversal split, months, card numbers, age, tiers, points, input policy."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.api.types import parse_pk
from backend.rewards.clock import add_months
from backend.rewards.errors import DomainError
from backend.rewards.ledger.rules import OpenLot, allocate_fifo, split_reversal
from backend.rewards.members.rules import (
    LANGCODES_CACHE_LIMIT,
    age_on,
    check_birth_date,
    check_locale,
    check_time_zone,
    new_card_number,
    valid_card_number,
)
from backend.rewards.program import TierRule
from backend.rewards.purchases.rules import (
    PurchaseInput,
    check_amount,
    check_purchase,
    clean_purchase,
    plain,
    program_start,
    purchase_points,
    refund_points,
    refund_reason,
)
from backend.rewards.text import JOINERS, TextField, best_language, clean, clip, visible_count
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


def purchase_input(**fields: object) -> PurchaseInput:
    """A valid order, with some fields changed."""
    data: dict[str, object] = {
        "order_id": "A-1",
        "card_number": "8000000000000000",
        "amount": Decimal(10),
        "currency": "EUR",
        "channel": "web",
        "occurred_at": NOW,
    }
    return PurchaseInput(**{**data, **fields})  # type: ignore[arg-type]


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


NAME = TextField("INVALID_NAME", "name", "The name", 10, prose=True, allow=JOINERS)
CODE = TextField("INVALID_CODE", "code", "The code", 5)


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("a\x00b", "control character (U+0000"),
        ("a\nb", "control character (U+000A"),
        ("a\x85b", "control character (U+0085"),  # C1 NEL
        ("a\ud800b", "lone surrogate (U+D800"),
        ("a\u200bb", "formatting character (U+200B"),  # zero-width space
        ("a\u202eb", "formatting character (U+202E"),  # right-to-left override
        ("a\u2066b", "formatting character (U+2066"),  # left-to-right isolate
        ("a\ufeffb", "formatting character (U+FEFF"),  # byte order mark
        ("a\u00adb", "formatting character (U+00AD"),  # soft hyphen
        ("a\U000e0041b", "formatting character (U+E0041"),  # tag character (hidden text)
        ("a\u2028b", "line separator (U+2028"),
        ("a\u2029b", "paragraph separator (U+2029"),
        ("a\ufffeb", "noncharacter (U+FFFE"),
        ("a\ufdd0b", "noncharacter (U+FDD0"),
        ("abcdefghijk", "at most 10 characters"),
        ("\u200d\u200d\u200d", "at least 1 visible character"),
        ("\u0301\u0301", "at least 1 visible character"),  # combining marks alone
        ("   ", "at least 1 visible character"),
        ("\u3164\u3164", "at least 1 visible character"),  # Hangul fillers render as nothing
        ("\u2800", "at least 1 visible character"),  # blank Braille pattern
    ],
)
def test_the_text_policy_refuses_what_it_never_stores(value, why):
    with pytest.raises(DomainError) as refused:
        clean(value, NAME)
    assert (refused.value.code, refused.value.field) == ("INVALID_NAME", "name")
    assert why in refused.value.message


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("Олена", "Олена"),
        ("سارة أحمد", "سارة أحمد"),
        ("  Ana   María ", "Ana María"),
        ("e\u0301", "\u00e9"),  # NFC composes e + combining acute
        ("👩\u200d💻", "👩\u200d💻"),  # a ZWJ emoji sequence keeps its joiner
        ("می\u200cخواهم", "می\u200cخواهم"),  # Persian needs the zero-width non-joiner
        ("👍🏽", "👍🏽"),  # skin-tone modifier
        ("🇺🇦 1️⃣", "🇺🇦 1️⃣"),  # flag (regional indicators), keycap with variation selector
        ("\ue000", "\ue000"),  # private use
        ("a\u00a0\u3000b", "a b"),  # other spaces collapse too
    ],
)
def test_the_text_policy_keeps_real_text_in_nfc(value, stored):
    assert clean(value, NAME) == stored


def test_identifiers_are_kept_verbatim_and_fields_can_be_renamed_per_call():
    assert clean(" A-1 ", CODE) == " A-1 "
    with pytest.raises(DomainError) as refused:
        clean("\u200dA", CODE, field="lines.3.sku")  # joiners are allowed only where a field says
    assert refused.value.field == "lines.3.sku"


def test_length_counts_characters_after_nfc_and_huge_input_is_refused_unread():
    assert clean("e\u0301" * 10, NAME) == "\u00e9" * 10  # 20 code points in, 10 stored
    with pytest.raises(DomainError):
        clean("x" * 5_000_000, NAME)
    assert visible_count("a\u200d\u0301 b") == 2
    assert clip("abcdef", 4) == "abc…" and clip("abc", 4) == "abc"


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("nl-nl", "nl-NL"),
        ("EN", "en"),
        ("en_US", "en-US"),
        ("uk", "uk"),
        ("ar", "ar"),
        ("zh-hant-tw", "zh-Hant-TW"),
        ("en-Latn-US", "en-US"),
        ("es-419", "es-419"),
        ("iw", "he"),
    ],
)
def test_locales_are_standard_bcp47_tags(given, stored):
    assert check_locale(given) == stored


@pytest.mark.parametrize(
    "locale",
    [
        "en\n",
        "english please",
        "xx",
        "und",
        "x-private",
        "en--US",
        "",
        "ﬀ",
        "sr-Latn-RS-x-abcd",
        "e" * 100,
    ],
)
def test_other_locales_are_refused(locale):
    with pytest.raises(DomainError) as refused:
        check_locale(locale)
    assert (refused.value.code, refused.value.field) == ("INVALID_LOCALE", "locale")


def test_parsing_many_unique_locales_does_not_grow_langcodes_caches():
    import langcodes

    for i in range(LANGCODES_CACHE_LIMIT + 50):
        check_locale(f"en-x-{i:x}")
    assert len(langcodes.Language._PARSE_CACHE) <= LANGCODES_CACHE_LIMIT + 1


def test_time_zones_come_from_the_iana_database():
    assert check_time_zone("Europe/Kyiv") == "Europe/Kyiv"
    assert check_time_zone("europe/amsterdam") == "Europe/Amsterdam"
    assert check_time_zone("UTC") == "UTC"
    for name in ["America", "Mars/Olympus", "", "localtime", "Factory", "../etc/passwd", "UTC\x00"]:
        with pytest.raises(DomainError) as refused:
            check_time_zone(name)
        assert refused.value.code == "INVALID_TIME_ZONE", name


def test_card_numbers_are_ascii_digits():
    assert not valid_card_number("²" * 16)
    assert not valid_card_number("٣" * 16)  # Arabic-Indic digits are digits, but not card digits


@pytest.mark.parametrize(
    "amount", ["NaN", "sNaN", "Infinity", "-Infinity", "-0", "0", "-1", "1E-999999", "10.12345"]
)
def test_money_that_parses_but_is_not_sane_is_refused(amount):
    with pytest.raises(DomainError) as refused:
        check_amount(Decimal(amount), maximum=Decimal(1000))
    assert refused.value.code == "INVALID_AMOUNT"


def test_money_is_kept_exactly_without_trailing_zeros():
    assert str(plain(Decimal("100.500000"))) == "100.5"
    assert plain(Decimal("0E-99999")) == 0 and len(str(plain(Decimal("0E-99999")))) == 1
    assert (
        format(plain(Decimal("1.00")), "f") == "1" and format(plain(Decimal("1E+2")), "f") == "100"
    )
    long = Decimal("1." + "0" * 40 + "1")  # more digits than the decimal context's 28
    assert plain(long) == long


def test_money_limits_count_real_decimals_and_absurd_exponents():
    for fine in ["10.100000", "1E+2", "0.0001", "1000"]:
        check_amount(Decimal(fine), maximum=Decimal(1000))
    for too_big in ["1E+999999", "1000.0001"]:
        with pytest.raises(DomainError):
            check_amount(Decimal(too_big), maximum=Decimal(1000))


def test_refund_reasons_fit_their_column():
    assert len(refund_reason("r" * 128, "o" * 128)) == 200


def test_global_id_numbers_are_ascii_digits_within_postgresql_integer():
    assert parse_pk("1") == 1 and parse_pk("2147483647") == 2147483647
    for bad in ["2147483648", "99999999999999999999", "0", "01", "²", "١", "-1", " 1", "1\n", ""]:
        assert parse_pk(bad) is None, bad


def test_purchase_times_are_kept_in_utc_and_impossible_ones_refused():
    offset = datetime.fromisoformat("2026-06-01T17:00:00+05:00")
    naive = datetime(2026, 6, 1, 12, 0)
    for sent in (offset, naive):
        data = clean_purchase(purchase_input(occurred_at=sent))
        assert data.occurred_at == NOW.replace(hour=12)
        assert data.occurred_at.utcoffset() == timedelta(0)
    for impossible in ("0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"):
        with pytest.raises(DomainError) as refused:
            clean_purchase(purchase_input(occurred_at=datetime.fromisoformat(impossible)))
        assert (refused.value.code, refused.value.field) == ("INVALID_TIME", "occurredAt")


def test_the_program_start_comes_from_settings():
    assert program_start({"program_started_at": "2026-03-01"}) == datetime(2026, 3, 1, tzinfo=UTC)
    data = clean_purchase(purchase_input(occurred_at=datetime(2026, 2, 28, tzinfo=UTC)))
    with pytest.raises(DomainError) as refused:
        check_purchase(
            data,
            now=NOW,
            maximum=Decimal(1000),
            rates={"EUR": Decimal(1)},
            started=program_start({"program_started_at": "2026-03-01T00:00:00+00:00"}),
        )
    assert refused.value.message == "The purchase time is before the program started."


@pytest.mark.parametrize(
    ("locale", "expected"),
    [("nl-BE", "nl-BE"), ("nl-NL", "nl"), ("NL", "nl"), ("uk", "en"), ("ar-EG", "en")],
)
def test_a_reader_gets_the_exact_tag_then_the_language_then_the_fallback(locale, expected):
    assert best_language({"nl-BE": "", "nl": "", "en": ""}, locale, "en") == expected


def test_no_text_in_any_acceptable_language_is_none():
    assert best_language({"ar": ""}, "nl-NL", "en") is None
