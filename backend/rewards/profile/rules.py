"""Pure StyleID rules: answers checked against the published options, completion, audience tags.

A profile has eight sections that count towards completion (hair colour, body shape, top, bottom
and shoe size, favourite colours, styles and categories); disliked categories are optional, since
"nothing" is a fair answer. Every answer is an option code from the published lists, so offers
and purchases can be matched against them by code.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from backend.rewards.errors import DomainError
from backend.rewards.members.rules import check_locale
from backend.rewards.text import TextField, best_language, clean

MAX_CHOICES = 10
"""At most this many entries in each list (colours, styles, favourite and disliked categories)."""
DEFAULT_LOCALE = "en"
MAX_LABELS = 20
"""Languages one option may carry labels in."""
# Codes travel in URLs, tags (`style:boho`) and purchase line items: plain lower-case ASCII.
CODE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
LABEL = TextField("INVALID_LABEL", None, "The label", 64, prose=True)


class StyleKind(enum.StrEnum):
    """Which published list an option belongs to."""

    HAIR_COLOUR = "hair_colour"
    BODY_SHAPE = "body_shape"
    TOP_SIZE = "top_size"
    BOTTOM_SIZE = "bottom_size"
    SHOE_SIZE = "shoe_size"
    COLOUR = "colour"
    STYLE = "style"
    CATEGORY = "category"


@dataclass(frozen=True)
class Section:
    """One question of the profile: its attribute, its input field, its list and its shape."""

    name: str
    field: str
    kind: StyleKind
    many: bool
    counts: bool = True


SECTIONS = (
    Section("hair_colour", "hairColour", StyleKind.HAIR_COLOUR, many=False),
    Section("body_shape", "bodyShape", StyleKind.BODY_SHAPE, many=False),
    Section("top_size", "topSize", StyleKind.TOP_SIZE, many=False),
    Section("bottom_size", "bottomSize", StyleKind.BOTTOM_SIZE, many=False),
    Section("shoe_size", "shoeSize", StyleKind.SHOE_SIZE, many=False),
    Section("colours", "colours", StyleKind.COLOUR, many=True),
    Section("styles", "styles", StyleKind.STYLE, many=True),
    Section("favourite_categories", "favouriteCategories", StyleKind.CATEGORY, many=True),
    Section(
        "disliked_categories", "dislikedCategories", StyleKind.CATEGORY, many=True, counts=False
    ),
)
COUNTED = tuple(s for s in SECTIONS if s.counts)


@dataclass(frozen=True)
class StyleAnswers:
    """A member's answers: option codes, None or empty where not answered."""

    hair_colour: str | None = None
    body_shape: str | None = None
    top_size: str | None = None
    bottom_size: str | None = None
    shoe_size: str | None = None
    colours: tuple[str, ...] = ()
    styles: tuple[str, ...] = ()
    favourite_categories: tuple[str, ...] = ()
    disliked_categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class StyleChanges:
    """A partial update: None leaves a section as it is; "" or an empty list clears it."""

    hair_colour: str | None = None
    body_shape: str | None = None
    top_size: str | None = None
    bottom_size: str | None = None
    shoe_size: str | None = None
    colours: Sequence[str] | None = None
    styles: Sequence[str] | None = None
    favourite_categories: Sequence[str] | None = None
    disliked_categories: Sequence[str] | None = None


@dataclass(frozen=True)
class StyleFacts:
    """What personalization needs of a member: audience tags, liked and disliked categories."""

    style_tags: frozenset[str] = frozenset()
    favourite_categories: frozenset[str] = frozenset()
    disliked_categories: frozenset[str] = frozenset()


Options = Mapping[StyleKind, frozenset[str]]
"""The codes a member may choose now, per list (retired options left out)."""


def apply_changes(
    current: StyleAnswers,
    changes: StyleChanges,
    options: Options,
    *,
    max_choices: int = MAX_CHOICES,
) -> StyleAnswers:
    """The answers after a partial update, every changed value checked; refused whole or not at all."""
    updated: dict[str, str | tuple[str, ...] | None] = {}
    for section in SECTIONS:
        value = getattr(changes, section.name)
        if value is None:
            continue
        allowed = options.get(section.kind, frozenset())
        if section.many:
            updated[section.name] = _many(value, section, allowed, max_choices)
        else:
            updated[section.name] = _one(value, section, allowed)
    answers = replace(current, **updated)  # type: ignore[arg-type]
    _refuse_liked_and_disliked(answers, changes)
    return answers


def _unknown(section: Section, field: str) -> DomainError:
    """The error for a code that is not a current option (the value is not echoed: it may be junk)."""
    return DomainError(
        "UNKNOWN_OPTION",
        f"`{field}` must be a code from `styleOptions` ({section.kind.value} options).",
        field=field,
    )


def _one(value: str, section: Section, allowed: frozenset[str]) -> str | None:
    """A single answer: an option code, or "" to clear it."""
    if value == "":
        return None
    if value not in allowed:
        raise _unknown(section, section.field)
    return value


def _many(
    values: Sequence[str], section: Section, allowed: frozenset[str], max_choices: int
) -> tuple[str, ...]:
    """A list answer: distinct option codes, at most `max_choices` of them; empty clears it."""
    if len(values) > max_choices:
        raise DomainError(
            "TOO_MANY_CHOICES",
            f"Choose at most {max_choices} entries for `{section.field}`.",
            field=section.field,
        )
    seen: set[str] = set()
    for index, value in enumerate(values):
        if value not in allowed:
            raise _unknown(section, f"{section.field}.{index}")
        if value in seen:
            raise DomainError(
                "DUPLICATE_CHOICE",
                f"`{section.field}` lists the same option twice.",
                field=f"{section.field}.{index}",
            )
        seen.add(value)
    return tuple(values)


def _refuse_liked_and_disliked(answers: StyleAnswers, changes: StyleChanges) -> None:
    """No category may be a favourite and disliked; the error points at the list being changed."""
    both = set(answers.favourite_categories) & set(answers.disliked_categories)
    if not both:
        return
    name = (
        "disliked_categories" if changes.disliked_categories is not None else "favourite_categories"
    )
    section = next(s for s in SECTIONS if s.name == name)
    index = next(i for i, code in enumerate(getattr(answers, name)) if code in both)
    raise DomainError(
        "LIKED_AND_DISLIKED",
        "A category cannot be both a favourite and disliked.",
        field=f"{section.field}.{index}",
    )


def filled(answers: StyleAnswers, section: Section) -> bool:
    """Tell whether a section has an answer."""
    return bool(getattr(answers, section.name))


def completion(answers: StyleAnswers) -> int:
    """Percentage (0-100, rounded down) of the counted sections answered; 100 only when complete."""
    return sum(filled(answers, s) for s in COUNTED) * 100 // len(COUNTED)


def is_complete(answers: StyleAnswers) -> bool:
    """Tell whether every counted section is answered."""
    return all(filled(answers, s) for s in COUNTED)


def earns_award(answers: StyleAnswers, *, completed_at: datetime | None) -> bool:
    """Completing the profile earns points the first time only, however often it is cleared."""
    return completed_at is None and is_complete(answers)


def tag(kind: StyleKind, code: str) -> str | None:
    """The audience tag offers use for members who chose this option, e.g. `style:sporty`.

    Categories have none: offers name them by code and members' categories are matched as such.
    """
    return None if kind == StyleKind.CATEGORY else f"{kind.value}:{code}"


def style_tags(answers: StyleAnswers) -> frozenset[str]:
    """The member's audience tags: one per chosen hair colour, body shape, size, colour and style."""
    tags = set()
    for section in SECTIONS:
        value = getattr(answers, section.name)
        for code in value if section.many else [value] if value else []:
            found = tag(section.kind, code)
            if found is not None:
                tags.add(found)
    return frozenset(tags)


def facts(answers: StyleAnswers) -> StyleFacts:
    """The personalization facts of a profile."""
    return StyleFacts(
        style_tags=style_tags(answers),
        favourite_categories=frozenset(answers.favourite_categories),
        disliked_categories=frozenset(answers.disliked_categories),
    )


def answers_of(row: Any) -> StyleAnswers:
    """The answers held by a stored profile (a row or a table object)."""
    return StyleAnswers(
        hair_colour=row.hair_colour,
        body_shape=row.body_shape,
        top_size=row.top_size,
        bottom_size=row.bottom_size,
        shoe_size=row.shoe_size,
        colours=tuple(row.colours),
        styles=tuple(row.styles),
        favourite_categories=tuple(row.favourite_categories),
        disliked_categories=tuple(row.disliked_categories),
    )


def label(labels: Mapping[str, str], locale: str, code: str) -> str:
    """An option's label in `locale` (`nl-NL`), else its language (`nl`), else English, else the code."""
    found = best_language(labels, locale, DEFAULT_LOCALE)
    return labels[found] if found is not None else code


def check_code(code: str) -> str:
    """Refuse an option code that is not 1-64 lower-case ASCII letters, digits, `.`, `-` or `_`."""
    if not (code.isascii() and CODE.fullmatch(code)):
        raise DomainError(
            "INVALID_CODE",
            "A code is 1 to 64 of a-z, 0-9, `.`, `-` and `_`, starting with a letter or digit.",
            field="code",
        )
    return code


def clean_labels(labels: Sequence[tuple[str, str]]) -> dict[str, str]:
    """Labels by standard language tag, each in the text policy; one label per language."""
    if len(labels) > MAX_LABELS:
        raise DomainError("INVALID_LABEL", f"Give at most {MAX_LABELS} labels.", field="labels")
    cleaned: dict[str, str] = {}
    for index, (locale, text) in enumerate(labels):
        try:
            tag = check_locale(locale)
        except DomainError as error:
            raise DomainError(error.code, error.message, field=f"labels.{index}.locale") from None
        if tag in cleaned:
            raise DomainError(
                "INVALID_LOCALE", "One label per language.", field=f"labels.{index}.locale"
            )
        cleaned[tag] = clean(text, LABEL, field=f"labels.{index}.label")
    return cleaned
