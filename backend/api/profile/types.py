"""StyleID types: the option lists in one language and a member's profile."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

from backend.api.context import Info
from backend.rewards.actions.rules import ActionKind
from backend.rewards.profile.queries import PublishedOption
from backend.rewards.profile.rules import (
    MAX_CHOICES,
    StyleAnswers,
    StyleKind,
    answers_of,
    completion,
    label,
    tag,
)

StyleOptionKind = strawberry.enum(
    StyleKind, name="StyleOptionKind", description="Which StyleID list an option belongs to."
)


@strawberry.type(description="A label of an option in one language.")
class StyleLabel:
    locale: str = strawberry.field(description="Language tag, e.g. `nl` or `nl-BE`.")
    label: str = strawberry.field(description="The label in that language.")


@strawberry.type(description="An option as stored, with every label: what staff manage.")
class StyleOptionRecord:
    kind: StyleOptionKind = strawberry.field(description="The list it belongs to.")  # type: ignore[valid-type]
    code: str = strawberry.field(description="Stable code members send.")
    labels: list[StyleLabel] = strawberry.field(description="Labels by language.")
    retired: bool = strawberry.field(
        description="Retired options are no longer listed or accepted; members keep them."
    )

    @classmethod
    def of(cls, row: Any) -> StyleOptionRecord:
        """Convert an option row."""
        return cls(
            kind=StyleKind(row.kind),
            code=row.code,
            labels=[StyleLabel(locale=k, label=v) for k, v in sorted(row.labels.items())],
            retired=row.retired,
        )


@strawberry.type(description="One answer members can choose in a StyleID list.")
class StyleOption:
    code: str = strawberry.field(description="Stable code: send it in `updateStyleProfile`.")
    label: str = strawberry.field(
        description="Name in the requested language; English (or the code) where there is no "
        "translation. Arabic labels are right-to-left text, shown as given."
    )
    tag: str | None = strawberry.field(
        description="The audience tag offers use for members who chose this option, e.g. "
        "`style:sporty` or `shoe_size:38.5`; null for categories, which offers name by code."
    )


@strawberry.type(
    description="The published StyleID option lists, in display order, labelled in one language."
)
class StyleOptions:
    locale: str = strawberry.field(description="The language tag the labels were chosen for.")
    max_choices: int = strawberry.field(
        description="At most this many entries in each list answer (colours, styles, favourite "
        "and disliked categories)."
    )
    hair_colours: list[StyleOption] = strawberry.field(description="Hair colours.")
    body_shapes: list[StyleOption] = strawberry.field(description="Body shapes.")
    top_sizes: list[StyleOption] = strawberry.field(description="Top sizes (XXS to 3XL).")
    bottom_sizes: list[StyleOption] = strawberry.field(description="Bottom sizes (EU).")
    shoe_sizes: list[StyleOption] = strawberry.field(description="Shoe sizes (EU, with halves).")
    colours: list[StyleOption] = strawberry.field(description="Colours to choose favourites from.")
    styles: list[StyleOption] = strawberry.field(
        description="Styles, e.g. casual, classic, sporty."
    )
    categories: list[StyleOption] = strawberry.field(
        description="Product categories: the vocabulary purchases' line items and offers use; "
        "members pick favourites and dislikes from it."
    )

    @classmethod
    def of(cls, published: list[PublishedOption], locale: str) -> StyleOptions:
        """Group the published options into their lists, labelled for `locale`."""
        lists: dict[StyleKind, list[StyleOption]] = {kind: [] for kind in StyleKind}
        for option in published:
            lists[option.kind].append(
                StyleOption(
                    code=option.code,
                    label=label(option.labels, locale, option.code),
                    tag=tag(option.kind, option.code),
                )
            )
        return cls(
            locale=locale,
            max_choices=MAX_CHOICES,
            hair_colours=lists[StyleKind.HAIR_COLOUR],
            body_shapes=lists[StyleKind.BODY_SHAPE],
            top_sizes=lists[StyleKind.TOP_SIZE],
            bottom_sizes=lists[StyleKind.BOTTOM_SIZE],
            shoe_sizes=lists[StyleKind.SHOE_SIZE],
            colours=lists[StyleKind.COLOUR],
            styles=lists[StyleKind.STYLE],
            categories=lists[StyleKind.CATEGORY],
        )


@strawberry.type(
    description="The member's StyleID: answers are option codes from `styleOptions`. Filling "
    "every section but the (optional) dislikes completes it."
)
class StyleProfile:
    hair_colour: str | None = strawberry.field(description="Hair colour code, null if not given.")
    body_shape: str | None = strawberry.field(description="Body shape code, null if not given.")
    top_size: str | None = strawberry.field(description="Top size code, null if not given.")
    bottom_size: str | None = strawberry.field(description="Bottom size code, null if not given.")
    shoe_size: str | None = strawberry.field(description="Shoe size code, null if not given.")
    colours: list[str] = strawberry.field(description="Favourite colour codes.")
    styles: list[str] = strawberry.field(description="Style codes.")
    favourite_categories: list[str] = strawberry.field(
        description="Product categories the member likes."
    )
    disliked_categories: list[str] = strawberry.field(
        description="Product categories the member does not want offers for (optional)."
    )
    completion: int = strawberry.field(
        description="Share of the eight counted sections answered, 0-100 (rounded down)."
    )
    completed_at: datetime | None = strawberry.field(
        description="When the profile was first complete and earned its points; kept when "
        "answers are cleared later (the points are earned once only)."
    )

    @strawberry.field(
        description="Points completing the profile earns now: the program's award until it was "
        "earned, then 0."
    )
    async def completion_points(self, info: Info) -> int:
        """The StyleID earning rule's points, or 0 once the award was earned."""
        if self.completed_at is not None:
            return 0
        rule = (await info.context.loaders.rules()).earning.get(ActionKind.STYLE_ID_COMPLETED)
        return rule.points if rule else 0

    @classmethod
    def of(cls, answers: StyleAnswers, completed_at: datetime | None) -> StyleProfile:
        """Convert a profile's answers."""
        return cls(
            hair_colour=answers.hair_colour,
            body_shape=answers.body_shape,
            top_size=answers.top_size,
            bottom_size=answers.bottom_size,
            shoe_size=answers.shoe_size,
            colours=list(answers.colours),
            styles=list(answers.styles),
            favourite_categories=list(answers.favourite_categories),
            disliked_categories=list(answers.disliked_categories),
            completion=completion(answers),
            completed_at=completed_at,
        )


def style_profile_of(root: Any, info: Info) -> StyleProfile:
    """A member's StyleID (empty until they start it), read ahead by `me` or through the batch."""
    return root.answer(info, lambda reads: reads.style_profile(root), _profile)  # type: ignore[no-any-return]


def _profile(rows: list[Any], _reads: Any) -> StyleProfile:
    """The field's value from the stored profile row, if any."""
    (row,) = rows
    if row is None:
        return StyleProfile.of(StyleAnswers(), None)
    return StyleProfile.of(answers_of(row), row.completed_at)
