"""Club types, converted explicitly from rows; texts in the viewing member's language."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import strawberry
from strawberry import relay

from backend.api.context import Info
from backend.api.types import parse_global_id, parse_pk
from backend.rewards.clubs import rules
from backend.rewards.clubs.rules import FALLBACK, JoinSource, localize
from backend.rewards.errors import NotFound
from backend.rewards.ports import Role
from backend.rewards.queries import MemberByUid

ClubStatus = strawberry.enum(
    rules.ClubStatus,
    name="ClubStatus",
    description="Where the signed-in member stands with a club: NOT_MEMBER (never joined), "
    "INVITED (an open invitation: joining is free), MEMBER (a term runs, see `memberUntil`), "
    "EXPIRED (the last term is over).",
)
ClubJoinSource = strawberry.enum(
    JoinSource,
    name="ClubJoinSource",
    description="How a term was obtained: POINTS (bought) or INVITATION (accepted, free).",
)


@dataclass(frozen=True)
class Viewer:
    """Who reads a club: their member id (None for staff) and the language of the texts."""

    member_id: int | None
    locale: str = FALLBACK


async def viewer(info: Info) -> Viewer:
    """The calling member (id and locale), or an English-reading viewer for staff."""
    principal = info.context.principal
    if principal is None or principal.role != Role.MEMBER:
        return Viewer(None)
    row = await info.context.loaders.read(MemberByUid(principal.uid))
    return Viewer(row.id, row.locale) if row else Viewer(None)


def club_pk(global_id: str) -> int:
    """The row id of a Club global id, or UNKNOWN_CLUB (no SQL for ids this API never gave out)."""
    parsed = parse_global_id(global_id)
    if parsed is None or parsed[0] != "Club":
        raise NotFound("UNKNOWN_CLUB", "No such club.", field="clubId")
    return parsed[1]


@strawberry.type(
    description="A special-interest club: bought for points for a term, or by invitation only. "
    "Its members see selected offers `earlyAccessDays` days before everyone else."
)
class Club(relay.Node):
    id: relay.NodeID[int]
    code: str = strawberry.field(description="Stable identifier, e.g. `sneakers`.")
    name: str = strawberry.field(
        description="Name in the member's language (en, ar, uk, nl), English otherwise."
    )
    description: str | None = strawberry.field(
        description="Description in the member's language, English otherwise; null if none."
    )
    perks: list[str] = strawberry.field(
        description="What members enjoy, in the member's language, English otherwise."
    )
    points_price: int | None = strawberry.field(
        description="Points a term costs; null for an invitation-only club."
    )
    term_months: int = strawberry.field(
        description="How long a term lasts, in calendar months; a term ends at the same moment "
        "of the day that many months after it started."
    )
    invitation_only: bool = strawberry.field(description="Joining needs an invitation.")
    early_access_days: int = strawberry.field(
        description="Days before everyone else that members see and redeem the club's offers."
    )
    active: bool = strawberry.field(description="Open: listed and taking members.")
    member_id: strawberry.Private[int | None]

    @classmethod
    def of(cls, row: Any, reader: Viewer) -> Club:
        """Convert a club row for a viewer."""
        return cls(
            id=row.id,
            code=row.code,
            name=localize(row.name, reader.locale),
            description=localize(row.description, reader.locale) if row.description else None,
            perks=[localize(p, reader.locale) for p in row.perks],
            points_price=row.points_price,
            term_months=row.term_months,
            invitation_only=row.invitation_only,
            early_access_days=row.early_access_days,
            active=row.active,
            member_id=reader.member_id,
        )

    async def _standing(self, info: Info) -> rules.Standing:
        """The viewer's standing with this club (batched with every other club of the request)."""
        if self.member_id is None:
            return rules.Standing()
        return await info.context.loaders.clubs.standing.load((self.member_id, self.id))

    @strawberry.field(description="Your status with this club (NOT_MEMBER for staff).")
    async def status(self, info: Info) -> ClubStatus:  # type: ignore[valid-type]
        """Computed at read time: a term is over at its `endsAt`, no job needed."""
        standing = await self._standing(info)
        return rules.status(standing, now=info.context.loaders.now)

    @strawberry.field(
        description="While you are a member: when your membership ends (the end of the last "
        "term, renewals included); null otherwise."
    )
    async def member_until(self, info: Info) -> datetime | None:
        """The end of the last term, if it is still ahead."""
        end = (await self._standing(info)).latest_end
        return end if end is not None and end > info.context.loaders.now else None

    @strawberry.field(
        description="When your open invitation to this club expires; null without one."
    )
    async def invited_until(self, info: Info) -> datetime | None:
        """The latest expiry of the viewer's open invitations."""
        return (await self._standing(info)).invited_until

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Club | None]:
        """Clubs by id: open ones for anyone signed in, closed ones only for staff."""
        reader = await viewer(info)
        rows = await info.context.loaders.clubs.club.load_many([parse_pk(i) or 0 for i in node_ids])
        staff = info.context.principal is not None and info.context.principal.role.is_staff
        return [cls.of(r, reader) if r and (r.active or staff) else None for r in rows]


@strawberry.type(description="One term of your membership of a club.")
class ClubMembership:
    started_at: datetime = strawberry.field(
        description="When the term starts: now, or the end of the term it renews."
    )
    ends_at: datetime = strawberry.field(description="When the term ends (exclusive).")
    source: ClubJoinSource = strawberry.field(description="How the term was obtained.")  # type: ignore[valid-type]
    points: int = strawberry.field(description="Points the term cost (0 by invitation).")
    club_id: strawberry.Private[int]

    @classmethod
    def of(cls, row: Any) -> ClubMembership:
        """Convert a membership row."""
        return cls(
            started_at=row.started_at,
            ends_at=row.ends_at,
            source=JoinSource(row.source),
            points=row.points,
            club_id=row.club_id,
        )

    @strawberry.field(description="The club, with your status as it is now.")
    async def club(self, info: Info) -> Club:
        """Load the club for the member."""
        row = await info.context.loaders.clubs.club.load(self.club_id)
        return Club.of(row, await viewer(info))


@strawberry.type(description="An invitation of a member to a club; joining accepts it for free.")
class ClubInvitation:
    created_at: datetime = strawberry.field(description="When the member was first invited.")
    expires_at: datetime = strawberry.field(description="Joining is free until then.")
    accepted_at: datetime | None = strawberry.field(
        description="When the member joined with it; null while open."
    )
    club_id: strawberry.Private[int]
    member_id: strawberry.Private[int]

    @classmethod
    def of(cls, row: Any) -> ClubInvitation:
        """Convert an invitation row."""
        return cls(
            created_at=row.created_at,
            expires_at=row.expires_at,
            accepted_at=row.accepted_at,
            club_id=row.club_id,
            member_id=row.member_id,
        )

    @strawberry.field(description="The club (texts in English).")
    async def club(self, info: Info) -> Club:
        """Load the club."""
        row = await info.context.loaders.clubs.club.load(self.club_id)
        return Club.of(row, Viewer(None))

    @strawberry.field(description="Card number of the invited member.")
    async def member_reference(self, info: Info) -> str:
        """Load the member's card number."""
        row = await info.context.loaders.member.load(self.member_id)
        return str(row.card_number)
