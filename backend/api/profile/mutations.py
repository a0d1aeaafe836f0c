"""StyleID mutations: a member updates their profile; the first completion earns points."""

from __future__ import annotations

from typing import Annotated

import strawberry

from backend.api.context import Info
from backend.api.errors import payload_error
from backend.api.permissions import IsMember, IsStaff, StaffRateLimit
from backend.api.profile.types import StyleOptionKind, StyleOptionRecord, StyleProfile
from backend.api.units import perform
from backend.rewards.profile.rules import StyleChanges
from backend.rewards.profile.services import (
    OptionChange,
    set_style_option,
    update_style_profile,
)

UpdateStyleProfileError = payload_error(
    "UpdateStyleProfile",
    [
        "NOT_ENROLLED",
        "MEMBER_INACTIVE",
        "UNKNOWN_OPTION",
        "TOO_MANY_CHOICES",
        "DUPLICATE_CHOICE",
        "LIKED_AND_DISLIKED",
    ],
    "the StyleID change",
)

SetStyleOptionError = payload_error(
    "SetStyleOption",
    ["INVALID_CODE", "INVALID_LOCALE", "INVALID_LABEL", "LABEL_REQUIRED", "REASON_REQUIRED"],
    "the option change",
)


@strawberry.input(
    description="StyleID answers to change, as option codes from `styleOptions`. A field left out "
    'or null stays as it is; "" clears a single answer and [] a list.'
)
class UpdateStyleProfileInput:
    hair_colour: str | None = strawberry.field(default=None, description="Hair colour code.")
    body_shape: str | None = strawberry.field(default=None, description="Body shape code.")
    top_size: str | None = strawberry.field(default=None, description="Top size code.")
    bottom_size: str | None = strawberry.field(default=None, description="Bottom size code.")
    shoe_size: str | None = strawberry.field(default=None, description="Shoe size code.")
    colours: list[str] | None = strawberry.field(
        default=None, description="Favourite colour codes (distinct, at most `maxChoices`)."
    )
    styles: list[str] | None = strawberry.field(
        default=None, description="Style codes (distinct, at most `maxChoices`)."
    )
    favourite_categories: list[str] | None = strawberry.field(
        default=None,
        description="Category codes the member likes (distinct, at most `maxChoices`).",
    )
    disliked_categories: list[str] | None = strawberry.field(
        default=None,
        description="Category codes the member wants no offers for (distinct, at most "
        "`maxChoices`, none of them a favourite).",
    )


@strawberry.type(description="Result of `updateStyleProfile`.")
class UpdateStyleProfilePayload:
    style_profile: StyleProfile | None = strawberry.field(description="The profile as saved.")
    points_awarded: int = strawberry.field(
        description="Points this update earned: the completion award the first time the profile "
        "is complete, 0 otherwise."
    )
    errors: list[UpdateStyleProfileError] = strawberry.field(
        description="Why it was refused; empty on success."
    )  # type: ignore[valid-type]


@strawberry.input(description="A label of an option in one language.")
class StyleLabelInput:
    locale: str = strawberry.field(description="Language tag, e.g. `nl`, `uk`, `ar`.")
    label: str = strawberry.field(description="The label (1 to 64 characters).")


@strawberry.input(
    description="Add an option to a StyleID list, relabel it or retire it. Options are never "
    "deleted: members who chose a retired one keep it."
)
class SetStyleOptionInput:
    kind: StyleOptionKind = strawberry.field(description="The list.")  # type: ignore[valid-type]
    code: str = strawberry.field(
        description="The option's code: 1 to 64 of a-z, 0-9, `.`, `-`, `_` (categories: the code "
        "purchases' line items and offers use)."
    )
    labels: list[StyleLabelInput] | None = strawberry.field(
        default=None,
        description="Labels to set, one per language; a new option needs `en`. Languages not "
        "named keep their labels; null changes none.",
    )
    retired: bool = strawberry.field(
        default=False, description="True retires the option; false lists it (again)."
    )
    reason: str = strawberry.field(description="Why; kept in the audit trail.")


@strawberry.type(description="Result of `setStyleOption`.")
class SetStyleOptionPayload:
    option: StyleOptionRecord | None = strawberry.field(description="The option as stored now.")
    errors: list[SetStyleOptionError] = strawberry.field(
        description="Why it was refused; empty on success."
    )  # type: ignore[valid-type]


@strawberry.type(description="StyleID changes.")
class ProfileMutation:
    @strawberry.mutation(
        description="Fill in or change your StyleID (partial updates). Completing it the first "
        "time earns points, once per member whatever is cleared and filled in again.",
        permission_classes=[IsMember],
    )
    async def update_style_profile(
        self,
        info: Info,
        input: Annotated[UpdateStyleProfileInput, strawberry.argument(description="The answers.")],
    ) -> UpdateStyleProfilePayload:
        """Update the signed-in member's StyleID in one unit of work."""
        changes = StyleChanges(**vars(input))
        saved, errors = await perform(
            info,
            lambda uow, member: update_style_profile(uow, uid=member.uid, changes=changes),
            UpdateStyleProfileError,
        )
        if saved is None:
            return UpdateStyleProfilePayload(style_profile=None, points_awarded=0, errors=errors)
        return UpdateStyleProfilePayload(
            style_profile=StyleProfile.of(saved.answers, saved.completed_at),
            points_awarded=saved.points_awarded,
            errors=[],
        )

    @strawberry.mutation(
        description="Staff (marketing, admin): add a StyleID option, relabel it or retire it "
        "(audited).",
        permission_classes=[IsStaff, StaffRateLimit],
    )
    async def set_style_option(
        self,
        info: Info,
        input: Annotated[SetStyleOptionInput, strawberry.argument(description="The change.")],
    ) -> SetStyleOptionPayload:
        """Upsert one option of a published list."""
        labels = None if input.labels is None else [(la.locale, la.label) for la in input.labels]
        change = OptionChange(input.kind, input.code, labels, input.retired, input.reason)
        row, errors = await perform(
            info,
            lambda uow, staff: set_style_option(uow, change=change, staff=staff),
            SetStyleOptionError,
        )
        return SetStyleOptionPayload(
            option=StyleOptionRecord.of(row) if row else None, errors=errors
        )
