"""Read side of referrals: a member's referral counts, one read of the `me` batch."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, case, exists, func, select

from backend.db import prepared
from backend.db.tables import Purchase, Referral
from backend.rewards.referrals.rules import ReferralStatus

REFERRAL = Referral.__table__  # type: ignore[attr-defined]
PURCHASE = Purchase.__table__  # type: ignore[attr-defined]

BOUGHT = exists().where(PURCHASE.c.member_id == REFERRAL.c.friend_id)
COUNTS = select(
    func.count(),
    func.coalesce(func.sum(case((BOUGHT, 1), else_=0)), 0),
    func.coalesce(
        func.sum(case((REFERRAL.c.status == ReferralStatus.REWARDED.value, 1), else_=0)), 0
    ),
).where(REFERRAL.c.referrer_id == bindparam("member_id"))


@dataclass(frozen=True)
class ReferralCounts:
    """A member's friends who enrolled with their code, who bought, who earned the bonuses."""

    member_id: int

    def run(self, conn: Connection) -> tuple[int, int, int]:
        """One aggregate over the member's referrals (the referrer index)."""
        invited, joined, rewarded = prepared.one(conn, COUNTS, {"member_id": self.member_id})
        return int(invited), int(joined), int(rewarded)
