"""Periodic jobs: release pending points, expire old lots, re-evaluate tiers after their grace,
reward referrals whose qualifying purchase was released.

Each member is settled in its own unit of work under the member lock, so several workers running
the same job never write an entry twice: the second finds nothing due.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import literal_column, not_, select
from sqlmodel import col

from backend.db.tables import Lot, Member
from backend.rewards.clock import add_months
from backend.rewards.ledger import settle
from backend.rewards.referrals.services import ReferralReport, reward_due
from backend.rewards.tiers.services import reevaluate
from backend.rewards.uow import UnitOfWork, UnitOfWorkFactory


@dataclass
class SettleReport:
    """What one run of the settle job did."""

    members: int = 0
    entries: int = 0
    tier_changes: int = 0
    referrals: ReferralReport = field(default_factory=ReferralReport)


async def _due_member_ids(uow: UnitOfWork, limit: int) -> list[int]:
    """Members with pending lots to release, lots to expire, or a tier whose grace has ended.

    Each part reads an index of its own (the lots' partial indexes, whose conditions the
    statements repeat with literal constants so that both databases can use them, and the
    members' tier index), never the whole of `lot` or `member`.
    """
    program = await uow.rules()
    grace_start = add_months(uow.now, -int(program.setting("tier_grace_months")))
    releases = select(col(Lot.member_id)).where(
        not_(col(Lot.released)), col(Lot.available_at) <= uow.now
    )
    expiries = select(col(Lot.member_id)).where(
        col(Lot.released), col(Lot.remaining) > literal_column("0"), col(Lot.expires_at) <= uow.now
    )
    tiers = select(col(Member.id)).where(
        col(Member.tier_code).in_([tier.code for tier in program.tiers[1:]]),
        col(Member.tier_reached_at) <= grace_start,
    )
    stmt = releases.union(expiries, tiers).limit(limit)
    return sorted({int(row[0]) for row in (await uow.session.execute(stmt)).all()})


async def _settle_member(uow: UnitOfWork, member_id: int, report: SettleReport) -> None:
    """Settle one member's lots and tier in one transaction."""
    program = await uow.rules()
    member = await uow.lock_member(member_id)
    report.entries += len(await settle(uow, member=member))
    report.tier_changes += await reevaluate(uow, member=member, rules=program)
    await uow.commit()


async def settle_due(uows: UnitOfWorkFactory, *, batch: int = 500) -> SettleReport:
    """Settle every member with something due, a batch at a time, until none is left; then
    reward the referrals whose friend's first purchase was released."""
    report = SettleReport()
    while True:
        async with uows() as uow:
            member_ids = await _due_member_ids(uow, batch)
        before = report.entries + report.tier_changes
        for member_id in member_ids:
            await uows.run(lambda uow, m=member_id: _settle_member(uow, m, report))  # type: ignore[misc]
        report.members += len(member_ids)
        if len(member_ids) < batch or report.entries + report.tier_changes == before:
            report.referrals = await reward_due(uows, batch=batch)
            return report
