"""Referral use cases: record a friend at enrolment, reward qualified referrals (from the settle
job), reverse the bonuses when the qualifying purchase is refunded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlmodel import col

from backend.db.tables import LedgerEntry, Lot, Member, Purchase, Referral
from backend.rewards import idempotency
from backend.rewards.clock import add_months
from backend.rewards.ledger import Posting, Source, credit, reverse_credit
from backend.rewards.referrals.rules import (
    ALREADY_MEMBER,
    SELF,
    USED,
    ReferralStatus,
    refuse,
    reward_allowed,
    same_email,
)
from backend.rewards.uow import LockedMember, UnitOfWork, UnitOfWorkFactory

REWARD_SCOPE = "referral_reward"


def check_existing_member(*, member: Member, referrer: Member) -> None:
    """An enrolled user gives a code: their own, another (refused), or the one they joined with."""
    if member.id == referrer.id:
        raise refuse(*SELF)
    if member.referred_by_id != referrer.id:
        raise refuse(*ALREADY_MEMBER)


async def check_new_friend(uow: UnitOfWork, *, email: str | None, referrer: Member) -> None:
    """A new account with a code: not the referrer again, not someone already a member."""
    if same_email(email, referrer.email):
        raise refuse(*SELF)
    if email is None:
        return
    stmt = select(col(Member.referred_by_id)).where(func.lower(col(Member.email)) == email.lower())
    known = (await uow.session.execute(stmt.limit(5))).scalars().all()
    if referrer.id in known:
        raise refuse(*USED)
    if known:
        raise refuse(*ALREADY_MEMBER)


def record(uow: UnitOfWork, *, referrer_id: int, friend_id: int) -> None:
    """Record a friend who enrolled with a code (the friend's row is unique)."""
    uow.session.add(
        Referral(
            referrer_id=referrer_id,
            friend_id=friend_id,
            status=ReferralStatus.JOINED,
            joined_at=uow.now,
        )
    )


def _qualifying() -> Any:
    """Referrals still waiting, with the friend's first kept purchase whose points are released."""
    return (
        select(col(Referral.id), func.min(col(Purchase.id)).label("purchase_id"))
        .join(Purchase, col(Purchase.member_id) == col(Referral.friend_id))
        .join(Lot, col(Lot.entry_id) == col(Purchase.earn_entry_id))
        .where(
            col(Referral.status) == ReferralStatus.JOINED,
            col(Lot.released).is_(True),
            col(Purchase.refunded_amount) == 0,
        )
        .group_by(col(Referral.id))
        .order_by(col(Referral.id))  # the limit rewards the friends who enrolled first
    )


@dataclass
class ReferralReport:
    """What one run of the referral job did."""

    rewarded: int = 0
    limited: int = 0


async def reward_due(uows: UnitOfWorkFactory, *, batch: int = 500) -> ReferralReport:
    """Decide every referral whose friend's first purchase is past its return window."""
    report = ReferralReport()
    while True:
        async with uows() as uow:
            due = (await uow.session.execute(_qualifying().limit(batch))).all()
        for referral_id, purchase_id in due:
            await uows.run(
                lambda uow, r=referral_id, p=purchase_id: _decide(uow, r, p, report)  # type: ignore[misc]
            )
        if len(due) < batch:
            return report


async def _decide(
    uow: UnitOfWork, referral_id: int, purchase_id: int, report: ReferralReport
) -> None:
    """Reward a referral once (both members locked, in id order), or close it at the limit."""
    referral = await uow.session.get_one(Referral, referral_id)
    first, second = sorted((referral.referrer_id, referral.friend_id))
    locked = {first: await uow.lock_member(first), second: await uow.lock_member(second)}
    await uow.session.refresh(referral)
    if referral.status != ReferralStatus.JOINED:
        return  # another worker decided it
    program = await uow.rules()
    referral.purchase_id, referral.decided_at = purchase_id, uow.now
    if any(member.status != "active" for member in locked.values()):
        referral.status = ReferralStatus.CLOSED
        await uow.commit()
        return
    if not reward_allowed(
        rewarded_this_year=await _rewarded_since(
            uow, referral.referrer_id, add_months(uow.now, -12)
        ),
        limit=int(program.setting("referral_yearly_limit")),
    ):
        referral.status = ReferralStatus.LIMIT_REACHED
        report.limited += 1
        await uow.commit()
        return
    ref = f"referral:{referral_id}"
    referrer, friend = locked[referral.referrer_id], locked[referral.friend_id]
    given = await _bonus(
        uow, referrer, "referral_referrer_points", "a friend joined and bought", ref
    )
    welcomed = await _bonus(uow, friend, "referral_friend_points", "welcome bonus", ref)
    referral.referrer_entry_id = given.id if given else None
    referral.friend_entry_id = welcomed.id if welcomed else None
    referral.status = ReferralStatus.REWARDED
    await idempotency.store(
        uow,
        scope=REWARD_SCOPE,
        key=str(referral_id),
        payload={"referral": referral_id},
        answer={
            "referrer_entry_id": referral.referrer_entry_id,
            "friend_entry_id": referral.friend_entry_id,
        },
    )
    report.rewarded += 1
    await uow.commit()


async def _bonus(
    uow: UnitOfWork, member: LockedMember, setting: str, why: str, ref: str
) -> LedgerEntry | None:
    """Credit one side's bonus (the program setting's points; none when it is 0)."""
    program = await uow.rules()
    points = int(program.setting(setting))
    if points <= 0:
        return None
    months = int(program.setting("lot_lifetime_months"))
    posting = Posting(f"Referral: {why}", Source.REFERRAL, ref)
    return await credit(uow, member=member, points=points, posting=posting, lifetime_months=months)


async def _rewarded_since(uow: UnitOfWork, referrer_id: int, since: datetime) -> int:
    """The referrer's rewarded referrals decided since a moment."""
    stmt = select(func.count()).where(
        col(Referral.referrer_id) == referrer_id,
        col(Referral.status) == ReferralStatus.REWARDED,
        col(Referral.decided_at) > since,
    )
    return int((await uow.session.execute(stmt)).scalar_one())


async def purchase_refunded(
    uow: UnitOfWork, *, purchase_id: int, friend: LockedMember, actor: str
) -> None:
    """Reverse both bonuses of the referral a refunded purchase qualified (once)."""
    stmt = select(Referral).where(
        col(Referral.purchase_id) == purchase_id, col(Referral.status) == ReferralStatus.REWARDED
    )
    referral = (await uow.session.execute(stmt)).scalar()
    if referral is None:
        return
    referrer = await uow.lock_member(referral.referrer_id)
    ref = f"referral:{referral.id}"
    for member, entry_id in (
        (referrer, referral.referrer_entry_id),
        (friend, referral.friend_entry_id),
    ):
        if entry_id is None:
            continue
        points = (
            await uow.session.execute(
                select(col(LedgerEntry.amount)).where(col(LedgerEntry.id) == entry_id)
            )
        ).scalar_one()
        await reverse_credit(
            uow,
            member=member,
            earn_entry_id=entry_id,
            points=int(points),
            posting=Posting(
                "Referral reversed: the purchase was refunded", Source.REFERRAL, ref, actor
            ),
        )
    referral.status = ReferralStatus.REVERSED
