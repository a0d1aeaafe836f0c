"""Club mutations: marketing sets clubs up and invites members; members join. One unit of work each."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry

from backend.api.clubs.types import Club, ClubInvitation, ClubMembership, club_pk, viewer
from backend.api.context import Info
from backend.api.errors import payload_error
from backend.api.permissions import IsMember, IsStaff, StaffRateLimit
from backend.api.units import perform
from backend.rewards.clubs.rules import ClubDraft, Localized
from backend.rewards.clubs.services import (
    ClubChanges,
    create_club,
    invite_to_club,
    join_club,
    update_club,
)
from backend.rewards.ports import Principal
from backend.rewards.uow import UnitOfWork

CLUB_FIELDS = [
    "INVALID_NAME",
    "INVALID_DESCRIPTION",
    "INVALID_PERKS",
    "INVALID_PRICE",
    "INVALID_TERM",
    "INVALID_EARLY_ACCESS",
]
CreateClubError = payload_error(
    "CreateClub", ["INVALID_CODE", "CODE_TAKEN", *CLUB_FIELDS], "the club"
)
UpdateClubError = payload_error("UpdateClub", ["UNKNOWN_CLUB", *CLUB_FIELDS], "the change")
InviteToClubError = payload_error(
    "InviteToClub",
    [
        "UNKNOWN_CLUB",
        "CLUB_CLOSED",
        "INVALID_MEMBER_REFERENCE",
        "MEMBER_NOT_FOUND",
        "MEMBER_INACTIVE",
        "INVALID_EXPIRY",
    ],
    "the invitation",
)
JoinClubError = payload_error(
    "JoinClub",
    [
        "NOT_ENROLLED",
        "MEMBER_INACTIVE",
        "UNKNOWN_CLUB",
        "CLUB_CLOSED",
        "INVITATION_REQUIRED",
        "ALREADY_MEMBER",
        "NOT_ENOUGH_POINTS",
        "INVALID_IDEMPOTENCY_KEY",
        "IDEMPOTENCY_CONFLICT",
    ],
    "joining",
)


@strawberry.input(
    description="A text in several languages; English is required and shown where a member's "
    "language has none. Arabic is stored and shown as given."
)
class LocalizedTextInput:
    en: str = strawberry.field(description="English (the fallback).")
    ar: str | None = strawberry.field(default=None, description="Arabic.")
    uk: str | None = strawberry.field(default=None, description="Ukrainian.")
    nl: str | None = strawberry.field(default=None, description="Dutch.")

    def texts(self) -> Localized:
        """The translations given, by language code."""
        return {lang: text for lang, text in vars(self).items() if text is not None}


def _texts(value: LocalizedTextInput | None) -> Localized | None:
    """The translations of an optional localized input."""
    return None if value is None else value.texts()


@strawberry.input(
    description="A new club: a points price for a term, or invitation-only (no price). Texts "
    "up to 80 (name), 1000 (description) and 120 (each of at most 10 perks) characters."
)
class CreateClubInput:
    code: str = strawberry.field(
        description="Stable identifier: 1 to 32 lower-case letters, digits or dashes."
    )
    name: LocalizedTextInput = strawberry.field(description="The club's name.")
    description: LocalizedTextInput | None = strawberry.field(
        default=None, description="What the club is about."
    )
    perks: list[LocalizedTextInput] = strawberry.field(
        default_factory=list, description="What members enjoy, short texts."
    )
    points_price: int | None = strawberry.field(
        default=None,
        description="Points a term costs (1 to 1,000,000); leave out for an invitation-only club.",
    )
    term_months: int = strawberry.field(description="Term length in months (1 to 60).")
    invitation_only: bool = strawberry.field(
        default=False, description="Joining needs an invitation."
    )
    early_access_days: int = strawberry.field(
        default=3, description="Days of early access to the club's offers (0 to 30)."
    )
    active: bool = strawberry.field(
        default=True, description="Open at once (false: prepare it, open it later)."
    )


@strawberry.input(
    description="Changes to a club; left-out fields stay. Setting `invitationOnly` clears the "
    "price; making a club open to buy needs a `pointsPrice`. Running terms keep their end."
)
class UpdateClubInput:
    club_id: strawberry.ID = strawberry.field(description="The club.")
    name: LocalizedTextInput | None = strawberry.field(default=None, description="New name.")
    description: LocalizedTextInput | None = strawberry.field(
        default=None, description="New description."
    )
    perks: list[LocalizedTextInput] | None = strawberry.field(
        default=None, description="New list of perks (replaces the old one)."
    )
    points_price: int | None = strawberry.field(default=None, description="New price.")
    term_months: int | None = strawberry.field(default=None, description="New term length.")
    invitation_only: bool | None = strawberry.field(
        default=None, description="By invitation only or not."
    )
    early_access_days: int | None = strawberry.field(
        default=None, description="New days of early access."
    )
    active: bool | None = strawberry.field(
        default=None, description="Open (true) or closed to new members and early access (false)."
    )

    def changes(self) -> ClubChanges:
        """The domain's changes."""
        return ClubChanges(
            name=_texts(self.name),
            description=_texts(self.description),
            perks=None if self.perks is None else tuple(p.texts() for p in self.perks),
            points_price=self.points_price,
            term_months=self.term_months,
            invitation_only=self.invitation_only,
            early_access_days=self.early_access_days,
            active=self.active,
        )


@strawberry.input(description="Invite a member to a club; joining is then free for them.")
class InviteToClubInput:
    club_id: strawberry.ID = strawberry.field(description="The club.")
    member_reference: str = strawberry.field(
        description="The member's card number (spaces allowed)."
    )
    expires_in_days: int = strawberry.field(
        default=30, description="Days the invitation stays open (1 to 365)."
    )


@strawberry.type(description="Result of `createClub`.")
class CreateClubPayload:
    club: Club | None = strawberry.field(description="The new club (texts in English).")
    errors: list[CreateClubError] = strawberry.field(  # type: ignore[valid-type]
        description="Why it was refused; empty on success."
    )


@strawberry.type(description="Result of `updateClub`.")
class UpdateClubPayload:
    club: Club | None = strawberry.field(description="The club as changed (texts in English).")
    errors: list[UpdateClubError] = strawberry.field(  # type: ignore[valid-type]
        description="Why it was refused; empty on success."
    )


@strawberry.type(description="Result of `inviteToClub`.")
class InviteToClubPayload:
    invitation: ClubInvitation | None = strawberry.field(
        description="The open invitation (an earlier open one is kept, its expiry extended)."
    )
    errors: list[InviteToClubError] = strawberry.field(  # type: ignore[valid-type]
        description="Why it was refused; empty on success."
    )


@strawberry.type(description="Result of `joinClub`.")
class JoinClubPayload:
    membership: ClubMembership | None = strawberry.field(
        description="The term this join started; a replay gets this same first answer."
    )
    errors: list[JoinClubError] = strawberry.field(  # type: ignore[valid-type]
        description="Why it was refused (nothing spent); empty on success."
    )


def _draft(input: CreateClubInput) -> ClubDraft:
    """Convert the GraphQL club to the domain's."""
    return ClubDraft(
        code=input.code,
        name=input.name.texts(),
        description=_texts(input.description) or {},
        perks=tuple(p.texts() for p in input.perks),
        points_price=input.points_price,
        term_months=input.term_months,
        invitation_only=input.invitation_only,
        early_access_days=input.early_access_days,
        active=input.active,
    )


async def _club_answer(info: Info, row: Any) -> Club | None:
    """A club row for a staff payload."""
    return Club.of(row, await viewer(info)) if row is not None else None


@strawberry.type(description="Club mutations.")
class ClubsMutation:
    @strawberry.mutation(
        description="Marketing: set up a club (audited).",
        permission_classes=[IsStaff, StaffRateLimit],
    )
    async def create_club(
        self,
        info: Info,
        input: Annotated[CreateClubInput, strawberry.argument(description="The club.")],
    ) -> CreateClubPayload:
        """Create a club."""
        draft = _draft(input)
        row, errors = await perform(
            info, lambda uow, staff: create_club(uow, draft=draft, staff=staff), CreateClubError
        )
        return CreateClubPayload(club=await _club_answer(info, row), errors=errors)

    @strawberry.mutation(
        description="Marketing: change a club (audited).",
        permission_classes=[IsStaff, StaffRateLimit],
    )
    async def update_club(
        self,
        info: Info,
        input: Annotated[UpdateClubInput, strawberry.argument(description="The changes.")],
    ) -> UpdateClubPayload:
        """Change a club."""
        changes = input.changes()

        async def use_case(uow: UnitOfWork, staff: Principal) -> Any:
            """Parse the id inside the attempt, so a bad one is a typed error too."""
            club_id = club_pk(str(input.club_id))
            return await update_club(uow, club_id=club_id, changes=changes, staff=staff)

        row, errors = await perform(info, use_case, UpdateClubError)
        return UpdateClubPayload(club=await _club_answer(info, row), errors=errors)

    @strawberry.mutation(
        description="Marketing: invite a member to a club (audited); joining is then free.",
        permission_classes=[IsStaff, StaffRateLimit],
    )
    async def invite_to_club(
        self,
        info: Info,
        input: Annotated[InviteToClubInput, strawberry.argument(description="The invitation.")],
    ) -> InviteToClubPayload:
        """Invite a member by card number."""

        async def use_case(uow: UnitOfWork, staff: Principal) -> Any:
            """Parse the id inside the attempt, so a bad one is a typed error too."""
            return await invite_to_club(
                uow,
                club_id=club_pk(str(input.club_id)),
                card_number=input.member_reference,
                days=input.expires_in_days,
                staff=staff,
            )

        row, errors = await perform(info, use_case, InviteToClubError)
        invitation = ClubInvitation.of(row) if row is not None else None
        return InviteToClubPayload(invitation=invitation, errors=errors)

    @strawberry.mutation(
        description="Join a club, or renew from the end of the running term: accepts your open "
        "invitation (free), otherwise spends the club's price in points. At most one term ahead.",
        permission_classes=[IsMember],
    )
    async def join_club(
        self,
        info: Info,
        club_id: Annotated[strawberry.ID, strawberry.argument(description="The club.")],
        idempotency_key: Annotated[
            str,
            strawberry.argument(
                description="Your key for this join (up to 128 characters): a retry with the "
                "same key answers the first result and spends nothing more."
            ),
        ],
    ) -> JoinClubPayload:
        """Join a club as the signed-in member."""

        async def use_case(uow: UnitOfWork, member: Principal) -> Any:
            """Parse the id inside the attempt, so a bad one is a typed error too."""
            pk = club_pk(str(club_id))
            return await join_club(uow, uid=member.uid, club_id=pk, idempotency_key=idempotency_key)

        row, errors = await perform(info, use_case, JoinClubError)
        membership = ClubMembership.of(row) if row is not None else None
        return JoinClubPayload(membership=membership, errors=errors)
