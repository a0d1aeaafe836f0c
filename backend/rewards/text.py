"""One text policy for every stored string, applied where input enters the domain.

A string is accepted in its NFC form when it has no control characters (Cc, so no NUL, tab or
newline), no format characters (Cf: zero-width spaces, bidi overrides, BOM, soft hyphen, tag
characters) except those a field allows, no lone surrogates, no line or paragraph separators and
no noncharacters; when it fits its column (widths are read from the tables, so they cannot drift);
and when it has at least the field's minimum of visible characters (letters, digits, punctuation,
symbols and emoji, private-use characters; spaces, joiners and combining marks alone do not count).
Prose fields (names, reasons) have their whitespace runs collapsed to one space and trimmed;
identifiers are kept verbatim, so `"A-1 "` and `"A-1"` stay two different order ids. Unassigned
code points pass: new emoji reach users before they reach this Python's Unicode tables.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from backend.rewards.errors import DomainError

ZWNJ, ZWJ = "\u200c", "\u200d"
# Emoji sequences (👩‍💻) need the joiner; Persian, Urdu and Indic names need the non-joiner.
JOINERS = frozenset({ZWJ, ZWNJ})
REFUSED = {
    "Cc": "a control character",
    "Cf": "an invisible formatting character",
    "Cs": "a lone surrogate",
    "Zl": "a line separator",
    "Zp": "a paragraph separator",
}
# Letters and symbols that render as nothing (Hangul fillers, the blank Braille pattern): a
# favourite for "blank" names. Allowed inside text, they never count as visible.
BLANKS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
# NFC shortens a string to a quarter at most (ᾏ composes from four code points): longer input
# cannot fit and is refused unread, even prose whose spaces would collapse.
RAW_FACTOR = 4


@dataclass(frozen=True)
class TextField:
    """How one input field is checked, and the typed error that refuses it."""

    code: str
    field: str | None
    label: str
    width: int
    minimum: int = 1
    prose: bool = False
    allow: frozenset[str] = frozenset()

    def refuse(self, why: str, field: str | None = None) -> DomainError:
        """The field's typed error with a message that says what is wrong."""
        return DomainError(self.code, f"{self.label} {why}", field=field or self.field)


def width(table: Any, column: str) -> int:
    """The declared width of a string column, the most characters it can store."""
    return int(table.__table__.c[column].type.length)


def clean(value: str, rule: TextField, *, field: str | None = None) -> str:
    """Return `value` in NFC, whitespace-collapsed for prose, or refuse it with the field's error."""
    if len(value) > RAW_FACTOR * rule.width:
        raise rule.refuse(f"must be at most {rule.width} characters.", field)
    _refuse_unsafe(value, rule, field)
    text = unicodedata.normalize("NFC", value)
    if rule.prose:
        text = " ".join(text.split())
    if len(text) > rule.width:
        raise rule.refuse(f"must be at most {rule.width} characters.", field)
    if visible_count(text) < rule.minimum:
        noun = "character" if rule.minimum == 1 else "characters"
        raise rule.refuse(f"needs at least {rule.minimum} visible {noun}.", field)
    return text


def _refuse_unsafe(value: str, rule: TextField, field: str | None) -> None:
    """Refuse the first character the policy never stores."""
    for position, char in enumerate(value):
        if char in rule.allow:
            continue
        kind = REFUSED.get(unicodedata.category(char))
        if kind is None and _noncharacter(char):
            kind = "a noncharacter"
        if kind is not None:
            raise rule.refuse(
                f"must not contain {kind} (U+{ord(char):04X} at position {position}).", field
            )


def _noncharacter(char: str) -> bool:
    """U+FDD0..U+FDEF and the last two code points of every plane are never for interchange."""
    code = ord(char)
    return 0xFDD0 <= code <= 0xFDEF or (code & 0xFFFE) == 0xFFFE


def visible_count(text: str) -> int:
    """How many characters show by themselves (not spaces, joiners, fillers or marks alone)."""
    return sum(1 for char in text if char not in BLANKS and _shows(unicodedata.category(char)))


def _shows(category: str) -> bool:
    """Letters, digits, punctuation, symbols (emoji) and private-use characters show by themselves."""
    return category[0] in "LNPS" or category == "Co"


def is_clean(value: str, rule: TextField) -> bool:
    """Tell whether `value` passes the policy unchanged (already NFC, nothing to collapse)."""
    try:
        return clean(value, rule) == value
    except DomainError:
        return False


def clip(text: str, limit: int) -> str:
    """Shorten a composed text (e.g. a reason that quotes ids) to fit its column, marking the cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def best_language(available: Collection[str], locale: str, fallback: str) -> str | None:
    """Which of the available texts a reader of `locale` gets: the exact tag (`nl-BE`), else its
    language (`nl`), else the fallback; None when there is none of those."""
    language = locale.split("-", 1)[0].lower()
    return next((tag for tag in (locale, language, fallback) if tag in available), None)
