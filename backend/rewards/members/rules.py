"""Pure membership rules: age, profile field validation, card numbers and referral codes."""

from __future__ import annotations

import re
import secrets
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from backend.rewards.errors import DomainError

LOCALE = re.compile(r"^[a-z]{2,3}(-[A-Z]{2}|-[A-Z][a-z]{3})?$")
REFERRAL_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
MAX_AGE = 130


def age_on(birth_date: date, today: date) -> int:
    """Whole years between a birth date and a day."""
    before_birthday = (today.month, today.day) < (birth_date.month, birth_date.day)
    return today.year - birth_date.year - before_birthday


def check_birth_date(birth_date: date, *, now: datetime, time_zone: str, minimum_age: int) -> None:
    """Refuse future or absurd birth dates, and anyone under the minimum age where they live."""
    today = now.astimezone(zone(time_zone)).date()
    age = age_on(birth_date, today)
    if birth_date > today or age > MAX_AGE:
        raise DomainError(
            "INVALID_BIRTH_DATE", "The birth date is not a real one.", field="birthDate"
        )
    if age < minimum_age:
        raise DomainError(
            "AGE_RESTRICTED", f"Members must be {minimum_age} or older.", field="birthDate"
        )


def zone(time_zone: str) -> ZoneInfo:
    """Return the IANA time zone or refuse the name."""
    try:
        return ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise DomainError(
            "INVALID_TIME_ZONE", f"{time_zone!r} is not an IANA time zone.", field="timeZone"
        ) from None


def check_locale(locale: str) -> str:
    """Accept a language tag like `en`, `nl-NL`, `uk` or `ar`."""
    if not LOCALE.match(locale):
        raise DomainError("INVALID_LOCALE", f"{locale!r} is not a language tag.", field="locale")
    return locale


def clean_display_name(name: str | None) -> str | None:
    """Trim a display name; refuse one that is too long or has control characters."""
    if name is None:
        return None
    name = " ".join(name.split())
    if len(name) > 80 or any(ord(c) < 32 for c in name):
        raise DomainError(
            "INVALID_DISPLAY_NAME", "Display names are at most 80 characters.", field="displayName"
        )
    return name or None


def luhn_digit(digits: str) -> str:
    """The Luhn check digit stores and scanners use to catch mistyped card numbers."""
    total = 0
    for i, char in enumerate(reversed(digits)):
        d = int(char) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return str((10 - total % 10) % 10)


def new_card_number() -> str:
    """A random 16-digit membership card number with a Luhn check digit."""
    body = "8" + "".join(secrets.choice("0123456789") for _ in range(14))
    return body + luhn_digit(body)


def valid_card_number(card: str) -> bool:
    """Tell whether a string is a well-formed card number."""
    return len(card) == 16 and card.isdigit() and luhn_digit(card[:-1]) == card[-1]


def new_referral_code() -> str:
    """A random, unambiguous 8-character referral code."""
    return "".join(secrets.choice(REFERRAL_ALPHABET) for _ in range(8))
