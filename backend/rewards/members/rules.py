"""Pure membership rules: age, profile field validation, card numbers and referral codes."""

from __future__ import annotations

import re
import secrets
from datetime import date, datetime
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

import langcodes

from backend.db.tables import Member
from backend.rewards.errors import DomainError
from backend.rewards.text import JOINERS, TextField, clean, is_clean, visible_count, width

REFERRAL_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
MAX_AGE = 130
LOCALE_WIDTH = width(Member, "locale")
TIME_ZONE_WIDTH = width(Member, "time_zone")
REFERRAL_CODE = re.compile(f"[{REFERRAL_ALPHABET}]{{1,{width(Member, 'referral_code')}}}")
# BCP 47 subtags are ASCII letters and digits; `_` is accepted as `-` (as in `en_US`).
LOCALE_SHAPE = re.compile(r"[A-Za-z0-9]{1,8}(?:[-_][A-Za-z0-9]{1,8}){0,7}")
LANGUAGE = re.compile(r"[a-z]{2,3}")
# langcodes caches every tag it parses, forever: unique tags from clients must not grow it.
LANGCODES_CACHE_LIMIT = 4096
# Not zones a member lives in: the host's own `localtime` file and tzdata's placeholder.
NOT_MEMBER_ZONES = frozenset({"localtime", "Factory"})
DISPLAY_NAME = TextField(
    "INVALID_DISPLAY_NAME",
    "displayName",
    "The display name",
    width(Member, "display_name"),
    minimum=0,
    prose=True,
    allow=JOINERS,
)
UID = TextField("INVALID_ACCOUNT", None, "The sign-in account id", width(Member, "uid"))
EMAIL = TextField("INVALID_EMAIL", None, "The e-mail address", width(Member, "email"))


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
    return ZoneInfo(check_time_zone(time_zone))


def local_day(now: datetime, time_zone: str) -> date:
    """The member's calendar day at `now`: daily caps and allowances restart at local midnight."""
    return now.astimezone(zone(time_zone)).date()


@cache
def _time_zones() -> dict[str, str]:
    """The IANA zone names this Python knows, by their lower case."""
    return {name.lower(): name for name in available_timezones() - NOT_MEMBER_ZONES}


def check_time_zone(time_zone: str) -> str:
    """Return the IANA name of a zone (`europe/amsterdam` → `Europe/Amsterdam`) or refuse it."""
    found = None
    if time_zone.isascii() and len(time_zone) <= TIME_ZONE_WIDTH:
        found = _time_zones().get(time_zone.lower())
    if found is None:
        raise DomainError(
            "INVALID_TIME_ZONE",
            "The time zone must be an IANA name such as `Europe/Amsterdam`.",
            field="timeZone",
        )
    return found


def check_locale(locale: str) -> str:
    """Return the standard form of a BCP 47 language tag (`nl-nl` → `nl-NL`) or refuse it."""
    tag = _standard_tag(locale) if LOCALE_SHAPE.fullmatch(locale) else None
    if tag is None or len(tag) > LOCALE_WIDTH:
        raise DomainError(
            "INVALID_LOCALE",
            f"The locale must be a language tag such as `nl-NL`, `uk` or `ar`, "
            f"at most {LOCALE_WIDTH} characters.",
            field="locale",
        )
    return tag


def _standard_tag(locale: str) -> str | None:
    """The tag langcodes standardises `locale` to, if it names a registered language."""
    try:
        language = langcodes.Language.get(locale)
    except ValueError:  # langcodes' LanguageTagError
        return None
    finally:
        if len(langcodes.Language._PARSE_CACHE) > LANGCODES_CACHE_LIMIT:
            langcodes.Language._PARSE_CACHE.clear()
            langcodes.Language._INSTANCES.clear()
    if not language.is_valid() or not LANGUAGE.fullmatch(language.language or ""):
        return None
    return language.simplify_script().to_tag()


def clean_display_name(name: str | None) -> str | None:
    """The display name in the text policy, spaces collapsed; blank clears it."""
    if name is None:
        return None
    text = clean(name, DISPLAY_NAME)
    if text and not visible_count(text):
        raise DISPLAY_NAME.refuse("needs at least 1 visible character.")
    return text or None


def check_uid(uid: str) -> str:
    """Refuse a sign-in account id the member table could not store exactly as the token has it."""
    if not is_clean(uid, UID):
        raise UID.refuse("cannot be stored; sign in with another account.")
    return uid


def usable_email(email: str | None) -> str | None:
    """The token's e-mail address in the text policy, or None: an unusable one is dropped."""
    if email is None:
        return None
    try:
        text = clean(email, EMAIL)
    except DomainError:
        return None
    local, at, domain = text.rpartition("@")
    return text if local and at and domain and not any(c.isspace() for c in text) else None


def referral_code(code: str | None) -> str | None:
    """The code a friend typed, upper-cased; None when blank, refused when no member could have it."""
    if code is None or not code.strip():
        return None
    code = code.strip().upper()
    if not (code.isascii() and REFERRAL_CODE.fullmatch(code)):
        raise DomainError(
            "INVALID_REFERRAL_CODE", "No member has that referral code.", field="referralCode"
        )
    return code


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
    return (
        len(card) == 16 and card.isascii() and card.isdigit() and luhn_digit(card[:-1]) == card[-1]
    )


def new_referral_code() -> str:
    """A random, unambiguous 8-character referral code."""
    return "".join(secrets.choice(REFERRAL_ALPHABET) for _ in range(8))
