"""StyleID queries: the published option lists."""

from __future__ import annotations

from typing import Annotated

import strawberry

from backend.api.context import Info
from backend.api.errors import PublicError
from backend.api.permissions import IsSignedIn
from backend.api.profile.types import StyleOptions
from backend.rewards.errors import DomainError
from backend.rewards.members.rules import check_locale
from backend.rewards.ports import Role
from backend.rewards.profile.queries import published_options
from backend.rewards.profile.rules import DEFAULT_LOCALE
from backend.rewards.queries import MemberByUid


async def _locale(info: Info, asked: str | None) -> str:
    """The language asked for, else the calling member's, else English."""
    if asked is not None:
        try:
            return check_locale(asked)
        except DomainError as error:
            raise PublicError("BAD_USER_INPUT", error.message, field=error.field) from None
    principal = info.context.principal
    if principal is None or principal.role != Role.MEMBER:
        return DEFAULT_LOCALE
    member = await info.context.loaders.read(MemberByUid(principal.uid))
    return str(member.locale) if member is not None else DEFAULT_LOCALE


@strawberry.type(description="StyleID reads.")
class ProfileQuery:
    @strawberry.field(
        description="The StyleID option lists members choose from, labelled in `locale`, else "
        "the calling member's language, else English.",
        permission_classes=[IsSignedIn],
    )
    async def style_options(
        self,
        info: Info,
        locale: Annotated[
            str | None,
            strawberry.argument(description="Language tag for the labels, e.g. `nl`, `uk`, `ar`."),
        ] = None,
    ) -> StyleOptions:
        """List the options not retired, labelled for the caller."""
        chosen = await _locale(info, locale)
        async with info.context.loaders.connection() as conn:
            published = await published_options(conn)
        return StyleOptions.of(published, chosen)
