"""Club use cases: marketing sets clubs up and invites members; members join (points or invitation).

Every change of a member's clubs runs under that member's row lock (`uow.lock_member`), so two
joins of one member, or a join and an invitation, are serialised and their terms never overlap.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import func, select
from sqlmodel import col

from backend.db.tables import AuditLog, Club, ClubInvitation, ClubMembership
from backend.db.tables import Member as MemberRow
from backend.rewards import idempotency
from backend.rewards.clubs.rules import (
    FALLBACK,
    ClubDraft,
    ClubTerms,
    Join,
    Localized,
    check_invitation_days,
    clean_draft,
    decide_join,
)
from backend.rewards.errors import DomainError, InsufficientPoints, NotFound
from backend.rewards.ledger import EntryKind, Posting, Source, debit
from backend.rewards.members.lookup import member_id_by_card
from backend.rewards.ports import Principal
from backend.rewards.text import TextField, clean, clip, width
from backend.rewards.uow import LockedMember, UnitOfWork

# 128 like every client key; with the member id in front it still fits idempotency_key.key.
KEY = TextField("INVALID_IDEMPOTENCY_KEY", "idempotencyKey", "The idempotency key", 128)
JOIN_SCOPE = "join_club"


@dataclass(frozen=True)
class ClubChanges:
    """Fields of a club to change; None leaves one as it is. Invitation-only clears the price."""

    name: Localized | None = None
    description: Localized | None = None
    perks: tuple[Localized, ...] | None = None
    points_price: int | None = None
    term_months: int | None = None
    invitation_only: bool | None = None
    early_access_days: int | None = None
    active: bool | None = None

    def merged(self, club: Club) -> ClubDraft:
        """The stored club with these changes applied (not yet checked)."""
        invitation_only = _given(self.invitation_only, club.invitation_only)
        price = self.points_price if self.points_price is not None else club.points_price
        return ClubDraft(
            code=club.code,
            name=_given(self.name, club.name),
            description=_given(self.description, club.description),
            perks=_given(self.perks, tuple(club.perks)),
            points_price=None if invitation_only and self.points_price is None else price,
            term_months=_given(self.term_months, club.term_months),
            invitation_only=invitation_only,
            early_access_days=_given(self.early_access_days, club.early_access_days),
            active=_given(self.active, club.active),
        )


def _given(value: Any, current: Any) -> Any:
    """A changed value, or the current one when the change leaves it out."""
    return current if value is None else value


def _unknown_club() -> NotFound:
    """The error for a club id that names no club."""
    return NotFound("UNKNOWN_CLUB", "No such club.", field="clubId")


async def _club(uow: UnitOfWork, club_id: int) -> Club:
    """Load a club or refuse with UNKNOWN_CLUB."""
    club = await uow.session.get(Club, club_id)
    if club is None:
        raise _unknown_club()
    return club


def _stored(club: Club, draft: ClubDraft) -> None:
    """Copy a checked draft onto the club row."""
    for name, value in asdict(draft).items():
        setattr(club, name, list(value) if name == "perks" else value)


def _audit(uow: UnitOfWork, staff: Principal, action: str, reason: str, **details: Any) -> None:
    """Add the audit row of a staff write on clubs."""
    member_id = details.pop("member_id", None)
    uow.session.add(
        AuditLog(
            actor_uid=staff.uid,
            actor_role=staff.role,
            action=action,
            member_id=member_id,
            reason=clip(reason, width(AuditLog, "reason")),
            details=details,
            created_at=uow.now,
        )
    )


async def create_club(uow: UnitOfWork, *, draft: ClubDraft, staff: Principal) -> Club:
    """Set up a new club (audited); its code must be new."""
    draft = clean_draft(draft)
    taken = select(col(Club.id)).where(col(Club.code) == draft.code)
    if (await uow.session.execute(taken)).first() is not None:
        raise DomainError("CODE_TAKEN", "Another club has that code.", field="code")
    club = Club(code=draft.code, name={}, term_months=1, created_at=uow.now, updated_at=uow.now)
    _stored(club, draft)
    uow.session.add(club)
    await uow.session.flush()
    _audit(uow, staff, "create_club", f"Club {draft.code} created", club_id=club.id)
    await uow.commit()
    return club


async def update_club(
    uow: UnitOfWork, *, club_id: int, changes: ClubChanges, staff: Principal
) -> Club:
    """Change a club (audited); existing terms keep their end, new joins pay the new price."""
    club = await _club(uow, club_id)
    draft = clean_draft(changes.merged(club))
    changed = {k: v for k, v in asdict(draft).items() if getattr(club, k) != _json(v)}
    _stored(club, draft)
    club.updated_at = uow.now
    _audit(uow, staff, "update_club", f"Club {club.code} changed", club_id=club_id, **changed)
    await uow.commit()
    return club


def _json(value: Any) -> Any:
    """A draft value in the form the row holds it (perks as a list)."""
    return list(value) if isinstance(value, tuple) else value


async def invite_to_club(
    uow: UnitOfWork, *, club_id: int, card_number: str, days: int, staff: Principal
) -> ClubInvitation:
    """Invite a member to a club (audited); a pending invitation is kept, open at least `days`."""
    days = check_invitation_days(days)
    club = await _club(uow, club_id)
    if not club.active:
        raise DomainError("CLUB_CLOSED", "This club takes no new members.", field="clubId")
    member = await uow.lock_member(await member_id_by_card(uow, card_number))
    _check_active(member, field="memberReference")
    expires_at = uow.now + timedelta(days=days)
    invitation = await _pending_invitation(uow, member_id=cast(int, member.id), club_id=club_id)
    if invitation is None:
        invitation = ClubInvitation(
            club_id=club_id,
            member_id=cast(int, member.id),
            invited_by=staff.uid,
            created_at=uow.now,
            expires_at=expires_at,
        )
        uow.session.add(invitation)
    invitation.expires_at = max(invitation.expires_at, expires_at)
    await uow.session.flush()
    _audit(
        uow,
        staff,
        "invite_to_club",
        f"Invited to club {club.code}",
        member_id=member.id,
        club_id=club_id,
        invitation_id=invitation.id,
    )
    await uow.commit()
    return invitation


def _check_active(member: LockedMember, *, field: str | None = None) -> None:
    """Refuse a suspended or erased membership."""
    if member.status != "active":
        raise DomainError("MEMBER_INACTIVE", "That membership is not active.", field=field)


async def _pending_invitation(
    uow: UnitOfWork, *, member_id: int, club_id: int
) -> ClubInvitation | None:
    """The member's open, unaccepted invitation to a club (the one open longest), if any."""
    stmt = (
        select(ClubInvitation)
        .where(
            col(ClubInvitation.member_id) == member_id,
            col(ClubInvitation.club_id) == club_id,
            col(ClubInvitation.accepted_at).is_(None),
            col(ClubInvitation.expires_at) > uow.now,
        )
        .order_by(col(ClubInvitation.expires_at).desc())
        .limit(1)
    )
    return (await uow.session.execute(stmt)).scalar()


async def _member_id(uow: UnitOfWork, uid: str) -> int:
    """The member id of a signed-in user, or NOT_ENROLLED."""
    stmt = select(col(MemberRow.id)).where(col(MemberRow.uid) == uid)
    member_id = (await uow.session.execute(stmt)).scalar()
    if member_id is None:
        raise DomainError("NOT_ENROLLED", "Enrol before joining a club.")
    return member_id


async def _latest_end(uow: UnitOfWork, *, member_id: int, club_id: int) -> datetime | None:
    """When the member's last term in the club ends (None if they never had one)."""
    stmt = select(func.max(col(ClubMembership.ends_at))).where(
        col(ClubMembership.member_id) == member_id, col(ClubMembership.club_id) == club_id
    )
    return (await uow.session.execute(stmt)).scalar()


async def join_club(
    uow: UnitOfWork, *, uid: str, club_id: int, idempotency_key: str
) -> ClubMembership:
    """Join or renew: accept a pending invitation, or pay the club's price through the ledger.

    A replay of the same key (per member) answers with the term the first request started.
    """
    key = clean(idempotency_key, KEY)
    member_id = await _member_id(uow, uid)
    scoped, payload = idempotency.pair_key(str(member_id), key), {"club": club_id}
    earlier = await idempotency.replay(
        uow, scope=JOIN_SCOPE, key=scoped, payload=payload, field="idempotencyKey"
    )
    if earlier is not None:
        return await uow.session.get_one(ClubMembership, int(earlier["membership_id"]))
    club = await _club(uow, club_id)
    member = await uow.lock_member(member_id)
    _check_active(member)
    invitation = await _pending_invitation(uow, member_id=member_id, club_id=club_id)
    join = decide_join(
        ClubTerms(club.points_price, club.term_months, club.invitation_only, club.active),
        latest_end=await _latest_end(uow, member_id=member_id, club_id=club_id),
        invited=invitation is not None,
        now=uow.now,
    )
    claimed = await idempotency.claim(uow, scope=JOIN_SCOPE, key=scoped, payload=payload)
    membership = ClubMembership(
        member_id=member_id,
        club_id=club_id,
        started_at=join.starts_at,
        ends_at=join.ends_at,
        source=join.source,
        points=join.points,
        entry_id=await _pay(uow, member, club, join),
        invitation_id=invitation.id if invitation else None,
        created_at=uow.now,
    )
    if invitation is not None:
        invitation.accepted_at = uow.now
    uow.session.add(membership)
    await uow.session.flush()
    idempotency.remember(claimed, {"membership_id": membership.id})
    await uow.commit()
    return membership


async def _pay(uow: UnitOfWork, member: LockedMember, club: Club, join: Join) -> int | None:
    """Debit the term's price (REDEEM, source club); None for a free term (invitation)."""
    if not join.points:
        return None
    reason = clip(f"Club membership: {club.name[FALLBACK]}", 200)
    posting = Posting(reason, Source.CLUB, club.code, member.uid)
    try:
        entry = await debit(
            uow, member=member, points=join.points, posting=posting, kind=EntryKind.REDEEM
        )
    except InsufficientPoints as error:
        raise DomainError(
            "NOT_ENOUGH_POINTS", f"Joining: {error.message}", field="clubId"
        ) from None
    return entry.id
