"""Club rules, pure: what a club may look like, a member's status in it, and whether a join goes.

A membership runs from its start until the same moment `term_months` calendar months later
(exclusive): at `ends_at` it is over, computed when read, so no job has to end it. Joining while a
term runs renews it: the new term starts where the running one ends. At most one term may be paid
ahead: a member whose membership already runs more than one term from now gets ALREADY_MEMBER.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from backend.rewards.clock import add_months
from backend.rewards.errors import DomainError
from backend.rewards.text import JOINERS, TextField, best_language, clean

LANGUAGES = ("en", "ar", "uk", "nl")
FALLBACK = "en"  # every localized text has it; other languages fall back to it
NAME_WIDTH = 80
DESCRIPTION_WIDTH = 1000
PERK_WIDTH = 120
MAX_PERKS = 10
CODE = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")  # the width of club.code
MAX_PRICE = 1_000_000
MAX_TERM_MONTHS = 60
MAX_EARLY_ACCESS_DAYS = 30
MAX_INVITATION_DAYS = 365

NAME = TextField("INVALID_NAME", "name", "The name", NAME_WIDTH, prose=True, allow=JOINERS)
DESCRIPTION = TextField(
    "INVALID_DESCRIPTION",
    "description",
    "The description",
    DESCRIPTION_WIDTH,
    prose=True,
    allow=JOINERS,
)
PERK = TextField("INVALID_PERKS", "perks", "A perk", PERK_WIDTH, prose=True, allow=JOINERS)

Localized = Mapping[str, str]
"""A text per language code (`en`, `ar`, `uk`, `nl`); English is always there."""


class ClubStatus(enum.StrEnum):
    """Where a member stands with a club."""

    NOT_MEMBER = "NOT_MEMBER"
    INVITED = "INVITED"
    MEMBER = "MEMBER"
    EXPIRED = "EXPIRED"


class JoinSource(enum.StrEnum):
    """How a term was obtained."""

    POINTS = "points"
    INVITATION = "invitation"


@dataclass(frozen=True)
class ClubDraft:
    """A club as marketing describes it (create, or an update merged into the stored club)."""

    code: str
    name: Localized
    description: Localized
    perks: tuple[Localized, ...]
    points_price: int | None
    term_months: int
    invitation_only: bool
    early_access_days: int = 3
    active: bool = True


@dataclass(frozen=True)
class ClubTerms:
    """What joining a club costs and gives."""

    points_price: int | None
    term_months: int
    invitation_only: bool
    active: bool


@dataclass(frozen=True)
class Standing:
    """A member's record with one club: the end of their last term and a pending invitation."""

    latest_end: datetime | None = None
    invited_until: datetime | None = None


@dataclass(frozen=True)
class Join:
    """A decided join: the term it starts and ends, how it is paid, and the points it costs."""

    source: JoinSource
    starts_at: datetime
    ends_at: datetime
    points: int


def localize(texts: Localized, locale: str) -> str:
    """The text in the locale's language, else in English."""
    return texts[best_language(texts, locale, FALLBACK) or FALLBACK]


def term_end(start: datetime, months: int) -> datetime:
    """When a term starting at `start` ends (calendar months, the day clamped at month end)."""
    return add_months(start, months)


def status(standing: Standing, *, now: datetime) -> ClubStatus:
    """MEMBER while a term runs, else INVITED with a pending invitation, else EXPIRED or NOT_MEMBER."""
    if standing.latest_end is not None and standing.latest_end > now:
        return ClubStatus.MEMBER
    if standing.invited_until is not None and standing.invited_until > now:
        return ClubStatus.INVITED
    return ClubStatus.NOT_MEMBER if standing.latest_end is None else ClubStatus.EXPIRED


def decide_join(
    club: ClubTerms, *, latest_end: datetime | None, invited: bool, now: datetime
) -> Join:
    """Decide a join: an invitation is accepted for free, otherwise the club's price is paid."""
    if not club.active:
        raise DomainError("CLUB_CLOSED", "This club takes no new members.", field="clubId")
    running = latest_end if latest_end is not None and latest_end > now else None
    if running is not None and running > term_end(now, club.term_months):
        raise DomainError(
            "ALREADY_MEMBER",
            "Your membership already runs more than one term ahead.",
            field="clubId",
        )
    if not invited and club.invitation_only:
        raise DomainError("INVITATION_REQUIRED", "This club is by invitation only.", field="clubId")
    start = running or now
    end = term_end(start, club.term_months)
    if invited:
        return Join(JoinSource.INVITATION, start, end, 0)
    return Join(JoinSource.POINTS, start, end, club.points_price or 0)


def check_code(code: str) -> str:
    """A club code: lower-case letters, digits and dashes, 1 to 32, starting with a letter or digit."""
    if not CODE.fullmatch(code):
        raise DomainError(
            "INVALID_CODE",
            "The code is 1 to 32 lower-case letters, digits or dashes (e.g. `sneakers`).",
            field="code",
        )
    return code


def clean_localized(texts: Localized, rule: TextField, *, field: str) -> dict[str, str]:
    """Every translation through the text policy; English is required, unknown languages refused."""
    unknown = sorted(set(texts) - set(LANGUAGES))
    if unknown:
        raise rule.refuse(f"has no language {unknown[0]!r}.", field)
    if FALLBACK not in texts:
        raise rule.refuse("needs an English text.", f"{field}.{FALLBACK}")
    return {
        lang: clean(texts[lang], rule, field=f"{field}.{lang}")
        for lang in LANGUAGES
        if lang in texts
    }


def clean_perks(perks: Sequence[Localized]) -> tuple[dict[str, str], ...]:
    """At most MAX_PERKS short localized texts."""
    if len(perks) > MAX_PERKS:
        raise PERK.refuse(f"list has at most {MAX_PERKS} entries.", "perks")
    return tuple(clean_localized(p, PERK, field=f"perks.{i}") for i, p in enumerate(perks))


def _check_range(value: int, low: int, high: int, code: str, field: str, what: str) -> int:
    """Refuse a number outside its range."""
    if not low <= value <= high:
        raise DomainError(code, f"{what} must be between {low} and {high}.", field=field)
    return value


def _check_price(draft: ClubDraft) -> int | None:
    """A points club has a price of 1 to MAX_PRICE; an invitation-only club has none."""
    if draft.invitation_only:
        if draft.points_price is not None:
            raise DomainError(
                "INVALID_PRICE", "An invitation-only club has no price.", field="pointsPrice"
            )
        return None
    if draft.points_price is None:
        raise DomainError(
            "INVALID_PRICE",
            "A club that is not invitation-only needs a price.",
            field="pointsPrice",
        )
    return _check_range(
        draft.points_price, 1, MAX_PRICE, "INVALID_PRICE", "pointsPrice", "The price in points"
    )


def clean_draft(draft: ClubDraft) -> ClubDraft:
    """The club in its stored form, or the first typed error of its fields."""
    return ClubDraft(
        code=check_code(draft.code),
        name=clean_localized(draft.name, NAME, field="name"),
        description=clean_localized(draft.description, DESCRIPTION, field="description")
        if draft.description
        else {},
        perks=clean_perks(draft.perks),
        points_price=_check_price(draft),
        term_months=_check_range(
            draft.term_months, 1, MAX_TERM_MONTHS, "INVALID_TERM", "termMonths", "The term"
        ),
        invitation_only=draft.invitation_only,
        early_access_days=_check_range(
            draft.early_access_days,
            0,
            MAX_EARLY_ACCESS_DAYS,
            "INVALID_EARLY_ACCESS",
            "earlyAccessDays",
            "Early access",
        ),
        active=draft.active,
    )


def check_invitation_days(days: int) -> int:
    """How long an invitation stays open: 1 to MAX_INVITATION_DAYS days."""
    return _check_range(
        days, 1, MAX_INVITATION_DAYS, "INVALID_EXPIRY", "expiresInDays", "The invitation's days"
    )
