"""Membership use cases."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import cast

from sqlalchemy import select
from sqlmodel import col

from backend.db.tables import Member
from backend.rewards.errors import DomainError
from backend.rewards.members import rules
from backend.rewards.offers.services import welcome
from backend.rewards.referrals.services import check_existing_member, check_new_friend, record
from backend.rewards.text import is_clean
from backend.rewards.uow import UnitOfWork


@dataclass(frozen=True)
class EnrollInput:
    """What the app sends on first sign-in."""

    birth_date: date | None
    display_name: str | None = None
    locale: str = "en"
    time_zone: str = "UTC"
    marketing_consent: bool = False
    referral_code: str | None = None


@dataclass(frozen=True)
class ProfileChanges:
    """Profile fields to change; None leaves a field as it is."""

    display_name: str | None = None
    locale: str | None = None
    time_zone: str | None = None
    marketing_consent: bool | None = None
    leaderboard_opt_in: bool | None = None


async def member_by_uid(uow: UnitOfWork, uid: str) -> Member | None:
    """The active or suspended member of a Firebase user, if enrolled."""
    return (await uow.session.execute(select(Member).where(col(Member.uid) == uid))).scalar()


async def enroll(uow: UnitOfWork, *, uid: str, email: str | None, data: EnrollInput) -> Member:
    """Make a Firebase user a member; an already enrolled user gets their membership back."""
    existing = await member_by_uid(uow, rules.check_uid(uid))
    if existing is not None:
        if data.referral_code is not None:
            referrer = await _referrer(uow, rules.referral_code(data.referral_code))
            check_existing_member(member=existing, referrer=cast(Member, referrer))
        return existing
    if data.birth_date is None:
        raise DomainError(
            "BIRTH_DATE_REQUIRED", "A birth date is needed to enrol.", field="birthDate"
        )
    time_zone = rules.check_time_zone(data.time_zone)
    locale = rules.check_locale(data.locale)
    display_name = rules.clean_display_name(data.display_name)
    referral_code = rules.referral_code(data.referral_code)
    program = await uow.rules()
    rules.check_birth_date(
        data.birth_date,
        now=uow.now,
        time_zone=time_zone,
        minimum_age=int(program.setting("minimum_age")),
    )
    referrer = await _referrer(uow, referral_code)
    if referrer is not None:
        await check_new_friend(uow, email=rules.usable_email(email), referrer=referrer)
    member = Member(
        uid=uid,
        email=rules.usable_email(email),
        card_number=rules.new_card_number(),
        referral_code=rules.new_referral_code(),
        referred_by_id=referrer.id if referrer else None,
        display_name=display_name,
        birth_date=data.birth_date,
        locale=locale,
        time_zone=time_zone,
        marketing_consent=data.marketing_consent,
        enrolled_at=uow.now,
        tier_code=program.tiers[0].code,
        tier_reached_at=uow.now,
    )
    uow.session.add(member)
    await uow.session.flush()
    if referrer is not None:
        record(uow, referrer_id=cast(int, referrer.id), friend_id=cast(int, member.id))
    await welcome(uow, member_id=cast(int, member.id), program=program)
    await uow.commit()
    return member


async def _referrer(uow: UnitOfWork, code: str | None) -> Member | None:
    """The member whose (normalised) referral code was given, or a typed error for an unknown code."""
    if code is None:
        return None
    stmt = select(Member).where(col(Member.referral_code) == code, col(Member.status) == "active")
    referrer = (await uow.session.execute(stmt)).scalar()
    if referrer is None:
        raise DomainError(
            "INVALID_REFERRAL_CODE", "No member has that referral code.", field="referralCode"
        )
    return referrer


async def update_profile(uow: UnitOfWork, *, uid: str, changes: ProfileChanges) -> Member:
    """Change the caller's own profile fields after validating all of them."""
    changes = _clean_changes(changes)
    member = await member_by_uid(uow, uid) if is_clean(uid, rules.UID) else None
    if member is None:
        raise DomainError("NOT_ENROLLED", "Enrol before changing your profile.")
    if changes.display_name is not None:
        member.display_name = changes.display_name or None
    if changes.locale is not None:
        member.locale = changes.locale
    if changes.time_zone is not None:
        member.time_zone = changes.time_zone
    if changes.marketing_consent is not None:
        member.marketing_consent = changes.marketing_consent
    if changes.leaderboard_opt_in is not None:
        member.leaderboard_opt_in = changes.leaderboard_opt_in
    await uow.commit()
    return member


def _clean_changes(changes: ProfileChanges) -> ProfileChanges:
    """The changes in their stored form (a blank display name becomes "", which clears it)."""
    name = changes.display_name
    return replace(
        changes,
        display_name=None if name is None else rules.clean_display_name(name) or "",
        locale=None if changes.locale is None else rules.check_locale(changes.locale),
        time_zone=None if changes.time_zone is None else rules.check_time_zone(changes.time_zone),
    )
