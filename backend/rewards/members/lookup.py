"""Audited staff reads: finding a member by card number or e-mail leaves a row in the audit log."""

from __future__ import annotations

import enum
import unicodedata
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import Select, func, select
from sqlmodel import col

from backend.db.tables import AuditLog, Member
from backend.rewards.errors import DomainError, NotFound
from backend.rewards.members.rules import valid_card_number
from backend.rewards.ports import Principal
from backend.rewards.program import ProgramRules
from backend.rewards.tiers.services import lock_counting
from backend.rewards.uow import LockedMember, UnitOfWork

T = TypeVar("T")

MAX_EMAIL = 254  # the column width, and RFC 5321's limit for a forward path
MAX_REFERENCE = 64  # a card number with spaces or dashes fits easily; anything longer is junk


class LookupBy(enum.StrEnum):
    """Which reference staff looked a member up by."""

    CARD_NUMBER = "cardNumber"
    EMAIL = "email"
    GLOBAL_ID = "id"
    FLAGGED_HUNT = "flaggedMascotHunt"


@dataclass(frozen=True)
class Lookup:
    """A staff search for a member: by card number or e-mail, what they typed, and why."""

    by: LookupBy
    reference: str
    reason: str


def check_reason(reason: str) -> str:
    """Refuse a lookup without a real reason: the audit trail has to say why someone looked."""
    text = unicodedata.normalize("NFC", " ".join(reason.split()))
    printable = all(c.isprintable() for c in text)  # no NUL, control, format or lone surrogates
    if not printable or not 3 <= len(text) <= 500 or not any(c.isalnum() for c in text):
        raise DomainError(
            "REASON_REQUIRED",
            "Say why you look this member up, in 3 to 500 characters.",
            field="reason",
        )
    return text


def card_reference(text: str) -> str | None:
    """A card number as printed or scanned (spaces and dashes allowed), or None if malformed."""
    if len(text) > MAX_REFERENCE:
        return None
    digits = "".join(text.split()).replace("-", "")
    return digits if digits.isascii() and valid_card_number(digits) else None


def email_reference(text: str) -> str | None:
    """An e-mail address in lower case for a case-insensitive match, or None if malformed."""
    email = text.strip()
    local, at, domain = email.rpartition("@")
    if not at or not local or "." not in domain or len(email) > MAX_EMAIL:
        return None
    if any(c.isspace() or not c.isprintable() for c in email):
        return None
    return email.lower()


async def find_member(uow: UnitOfWork, *, lookup: Lookup, staff: Principal) -> Member | None:
    """The member a staff reference names (None if malformed or unknown); every search is audited."""
    reason = check_reason(lookup.reason)
    reference = _normalised(lookup)
    if reference is None:
        return None  # nothing was read, so there is nothing to audit
    member = (await uow.session.execute(_query(lookup.by, reference))).scalar()
    _audit(uow, staff, member.id if member else None, lookup.by, reference, reason)
    await uow.commit()
    return member


async def member_id_by_card(uow: UnitOfWork, card_number: str) -> int:
    """The id of the member with a card number, for staff writes that name them by card."""
    stmt = select(col(Member.id)).where(col(Member.card_number) == _card_or_refuse(card_number))
    return _found((await uow.session.execute(stmt)).scalar())


async def lock_member_by_card(
    uow: UnitOfWork, card_number: str, *, tier_rules: ProgramRules | None = None
) -> LockedMember:
    """Find and lock the member with a card number in one statement, for writes that name them by
    card; with `tier_rules`, for writes that re-evaluate the tier, it reads the member's
    tier-qualifying points too (`tiers.services.lock_counting`)."""
    reference = _card_or_refuse(card_number)
    if tier_rules is None:
        return _found(await uow.lock_member_by("card_number", reference))
    return _found(await lock_counting(uow, "card_number", reference, rules=tier_rules))


def _card_or_refuse(card_number: str) -> str:
    """The stored form of a card number given by a write; a malformed one is refused."""
    reference = card_reference(card_number)
    if reference is None:
        raise DomainError(
            "INVALID_MEMBER_REFERENCE",
            "That is not a membership card number.",
            field="memberReference",
        )
    return reference


def _found(member: T | None) -> T:
    """What a card number found; nothing found is refused."""
    if member is None:
        raise NotFound(
            "MEMBER_NOT_FOUND", "No member has that card number.", field="memberReference"
        )
    return member


async def record_read_by_id(uow: UnitOfWork, *, staff: Principal, member_id: int) -> None:
    """Audit a staff read of a member fetched by global id (the API already loaded it)."""
    _audit(uow, staff, member_id, LookupBy.GLOBAL_ID, str(member_id), "Read by global id")
    await uow.commit()


async def record_flagged_hunt_reads(
    uow: UnitOfWork, *, staff: Principal, hunts: list[tuple[int, int]]
) -> None:
    """Audit a staff page of flagged hunts: one row per (hunt id, member id) shown with a card number."""
    for hunt_id, member_id in hunts:
        _audit(uow, staff, member_id, LookupBy.FLAGGED_HUNT, str(hunt_id), "Flagged mascot hunts")
    await uow.commit()


def _audit(
    uow: UnitOfWork,
    staff: Principal,
    member_id: int | None,
    by: LookupBy,
    reference: str,
    reason: str,
) -> None:
    """Add the audit row of one staff read of member data (or of a search that found nobody)."""
    uow.session.add(
        AuditLog(
            actor_uid=staff.uid,
            actor_role=staff.role,
            action="read_member",
            member_id=member_id,
            reason=reason,
            details={"by": str(by), "reference": reference, "found": member_id is not None},
            created_at=uow.now,
        )
    )


def _normalised(lookup: Lookup) -> str | None:
    """The reference in the form it is stored in, or None when it cannot name anyone."""
    if lookup.by == LookupBy.CARD_NUMBER:
        return card_reference(lookup.reference)
    return email_reference(lookup.reference)


def _query(by: LookupBy, reference: str) -> Select[Member]:
    """Select the member a reference names (the oldest membership if several share an e-mail)."""
    if by == LookupBy.CARD_NUMBER:
        return select(Member).where(col(Member.card_number) == reference)
    stmt = select(Member).where(func.lower(col(Member.email)) == reference)
    return stmt.order_by(col(Member.id)).limit(1)
