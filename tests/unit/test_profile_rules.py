"""StyleID rules: partial updates checked against the options, completion, tags and labels."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from backend.rewards.errors import DomainError
from backend.rewards.profile.rules import (
    MAX_CHOICES,
    StyleAnswers,
    StyleChanges,
    StyleFacts,
    StyleKind,
    apply_changes,
    completion,
    earns_award,
    facts,
    is_complete,
    label,
    style_tags,
    tag,
)

OPTIONS = {
    StyleKind.HAIR_COLOUR: frozenset({"blonde", "brown"}),
    StyleKind.BODY_SHAPE: frozenset({"pear"}),
    StyleKind.TOP_SIZE: frozenset({"m"}),
    StyleKind.BOTTOM_SIZE: frozenset({"38"}),
    StyleKind.SHOE_SIZE: frozenset({"38.5"}),
    StyleKind.COLOUR: frozenset(f"c{i}" for i in range(MAX_CHOICES + 1)),
    StyleKind.STYLE: frozenset({"casual", "sporty"}),
    StyleKind.CATEGORY: frozenset({"tea", "coffee", "jeans"}),
}
COMPLETE = StyleChanges(
    hair_colour="blonde",
    body_shape="pear",
    top_size="m",
    bottom_size="38",
    shoe_size="38.5",
    colours=["c1", "c2"],
    styles=["sporty"],
    favourite_categories=["tea"],
)


def refused(current: StyleAnswers, changes: StyleChanges) -> tuple[str, str | None]:
    """The code and field of the error an update gets."""
    with pytest.raises(DomainError) as error:
        apply_changes(current, changes, OPTIONS)
    return error.value.code, error.value.field


def test_a_partial_update_changes_only_what_it_names_and_empty_values_clear():
    answers = apply_changes(StyleAnswers(), COMPLETE, OPTIONS)
    assert answers.colours == ("c1", "c2") and answers.hair_colour == "blonde"
    changed = apply_changes(answers, StyleChanges(hair_colour="brown", colours=[]), OPTIONS)
    assert (changed.hair_colour, changed.colours, changed.styles) == ("brown", (), ("sporty",))
    cleared = apply_changes(changed, StyleChanges(hair_colour=""), OPTIONS)
    assert cleared.hair_colour is None and cleared.body_shape == "pear"
    assert apply_changes(cleared, StyleChanges(), OPTIONS) == cleared


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        (StyleChanges(hair_colour="purple"), ("UNKNOWN_OPTION", "hairColour")),
        (StyleChanges(shoe_size="38,5"), ("UNKNOWN_OPTION", "shoeSize")),
        (StyleChanges(top_size="M"), ("UNKNOWN_OPTION", "topSize")),  # codes are exact
        (StyleChanges(body_shape="pear\x00"), ("UNKNOWN_OPTION", "bodyShape")),
        (StyleChanges(bottom_size=" "), ("UNKNOWN_OPTION", "bottomSize")),
        (StyleChanges(styles=["casual", "x" * 10_000]), ("UNKNOWN_OPTION", "styles.1")),
        (StyleChanges(colours=["c1", "c1"]), ("DUPLICATE_CHOICE", "colours.1")),
        (StyleChanges(colours=[""]), ("UNKNOWN_OPTION", "colours.0")),
        (StyleChanges(styles=["tea"]), ("UNKNOWN_OPTION", "styles.0")),  # another list's code
        (
            StyleChanges(colours=[f"c{i}" for i in range(MAX_CHOICES + 1)]),
            ("TOO_MANY_CHOICES", "colours"),
        ),
        (
            StyleChanges(disliked_categories=["jeans", "tea"]),
            ("LIKED_AND_DISLIKED", "dislikedCategories.1"),
        ),
        (StyleChanges(hair_colour="red", colours=["c1", "c1"]), ("UNKNOWN_OPTION", "hairColour")),
    ],
)
def test_bad_values_are_refused_naming_the_field(changes, error):
    current = apply_changes(StyleAnswers(), COMPLETE, OPTIONS)
    assert refused(current, changes) == error


def test_the_longest_list_is_accepted():
    codes = [f"c{i}" for i in range(MAX_CHOICES)]
    assert apply_changes(StyleAnswers(), StyleChanges(colours=codes), OPTIONS).colours == tuple(
        codes
    )


def test_liking_a_disliked_category_points_at_the_favourites_being_changed():
    current = apply_changes(StyleAnswers(), StyleChanges(disliked_categories=["coffee"]), OPTIONS)
    changes = StyleChanges(favourite_categories=["tea", "coffee"])
    assert refused(current, changes) == ("LIKED_AND_DISLIKED", "favouriteCategories.1")
    swapped = StyleChanges(favourite_categories=["coffee"], disliked_categories=["tea"])
    assert apply_changes(current, swapped, OPTIONS).disliked_categories == ("tea",)


def test_completion_counts_eight_sections_and_dislikes_are_optional():
    assert completion(StyleAnswers()) == 0
    half = apply_changes(
        StyleAnswers(),
        StyleChanges(hair_colour="blonde", body_shape="pear", top_size="m", colours=["c1"]),
        OPTIONS,
    )
    assert completion(half) == 50 and not is_complete(half)
    answers = apply_changes(StyleAnswers(), COMPLETE, OPTIONS)
    assert completion(answers) == 100 and is_complete(answers)
    seven = apply_changes(answers, StyleChanges(favourite_categories=[]), OPTIONS)
    assert completion(seven) == 87 and not is_complete(seven)  # rounded down: 100 means complete
    only_dislikes = StyleAnswers(disliked_categories=("coffee",))
    assert completion(only_dislikes) == 0


def test_the_award_is_earned_by_the_first_completion_only():
    answers = apply_changes(StyleAnswers(), COMPLETE, OPTIONS)
    assert earns_award(answers, completed_at=None)
    assert not earns_award(answers, completed_at=datetime(2026, 6, 1, tzinfo=UTC))
    assert not earns_award(StyleAnswers(hair_colour="blonde"), completed_at=None)


def test_style_tags_name_every_answer_but_categories():
    answers = apply_changes(
        StyleAnswers(),
        StyleChanges(**{**vars(COMPLETE), "disliked_categories": ["coffee"]}),
        OPTIONS,
    )
    assert style_tags(answers) == {
        "hair_colour:blonde",
        "body_shape:pear",
        "top_size:m",
        "bottom_size:38",
        "shoe_size:38.5",
        "colour:c1",
        "colour:c2",
        "style:sporty",
    }
    assert facts(answers) == StyleFacts(
        style_tags=style_tags(answers),
        favourite_categories=frozenset({"tea"}),
        disliked_categories=frozenset({"coffee"}),
    )
    assert facts(StyleAnswers()) == StyleFacts()
    assert tag(StyleKind.CATEGORY, "tea") is None and tag(StyleKind.STYLE, "boho") == "style:boho"


def test_labels_fall_back_from_the_locale_to_its_language_to_english_to_the_code():
    labels = {"en": "Tea", "nl": "Thee", "ar": "شاي", "uk": "Чай", "nl-BE": "Thee (BE)"}
    assert label(labels, "nl-BE", "tea") == "Thee (BE)"
    assert label(labels, "nl-NL", "tea") == "Thee"
    assert label(labels, "ar", "tea") == "شاي"
    assert label(labels, "uk", "tea") == "Чай"
    assert label(labels, "fr-FR", "tea") == "Tea"
    assert label({}, "nl", "tea") == "tea"
