"""Helpers for segment and surprise tests: members in bulk, segments and surprises, results."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import func, insert, select

from backend.db.tables import (
    AuditLog,
    Campaign,
    CampaignRecipient,
    Device,
    IdempotencyKey,
    LedgerEntry,
    Member,
    Notification,
    Segment,
    Voucher,
)
from backend.rewards.marketing.campaigns import SurpriseInput, send_surprise
from backend.rewards.marketing.rules import Reward, RewardKind
from backend.rewards.marketing.segments import SegmentFilter
from backend.rewards.marketing.services import save_segment
from backend.rewards.notifications.outbox import token_hash
from backend.rewards.ports import Principal, Role
from backend.rewards.uow import UnitOfWorkFactory

MIA = Principal("mia-marketing", Role.MARKETING)
TABLES = (Segment, Campaign, CampaignRecipient, LedgerEntry, Voucher, Notification, AuditLog)


async def bulk_members(
    uows: UnitOfWorkFactory, count: int, *, prefix: str = "m", devices: bool = False, **fields: Any
) -> list[int]:
    """Insert `count` active members in one statement (and a device each if asked); their ids."""
    now = uows.clock.now()
    rows = [
        {
            "uid": f"{prefix}-{n:05d}",
            "card_number": f"7{abs(hash(prefix)) % 10**6:06d}{n:09d}",
            "referral_code": f"{prefix[:3].upper()}{n:05d}",
            "birth_date": date(1990, 1 + n % 12, 1),
            "locale": "en",
            "time_zone": "UTC",
            "marketing_consent": True,
            "status": "active",
            "enrolled_at": now,
            "tier_code": "member",
            "tier_reached_at": now,
            "balance": 0,
            "pending": 0,
            "debt": 0,
            **fields,
        }
        for n in range(count)
    ]
    async with uows() as uow:
        await uow.session.execute(insert(Member), rows)
        found = select(Member.id).where(Member.uid.like(f"{prefix}-%")).order_by(Member.id)  # type: ignore[union-attr,attr-defined]
        ids = [int(i) for i in (await uow.session.execute(found)).scalars()]
        if devices:
            await uow.session.execute(insert(Device), [_device(i, now) for i in ids])
        await uow.commit()
    return ids


def _device(member_id: int, now: datetime) -> dict[str, Any]:
    """An Android device row for a member."""
    token = f"ok-token-{member_id}"
    return {
        "member_id": member_id,
        "token": token,
        "token_hash": token_hash(token),
        "platform": "ANDROID",
        "app_version": "1.0",
        "created_at": now,
        "last_seen_at": now,
    }


async def a_segment(uows: UnitOfWorkFactory, spec: SegmentFilter | None = None) -> int:
    """Save a segment (everyone by default); its id."""
    row = await uows.run(
        lambda uow: save_segment(
            uow, segment_id=None, name="Everyone", spec=spec or SegmentFilter(), staff=MIA
        )
    )
    return int(row.id)  # type: ignore[arg-type]


def surprise(segment_id: int, **changes: Any) -> SurpriseInput:
    """A surprise of 50 points for a segment, now, without holdout."""
    values: dict[str, Any] = {
        "segment_id": segment_id,
        "name": "Rainy Monday",
        "reward": Reward(RewardKind.POINTS, points=50),
        "message": "A little something for a rainy day.",
        "send_at": None,
        "holdout_percent": 0,
        "idempotency_key": "surprise-1",
        **changes,
    }
    return SurpriseInput(**values)


async def send(uows: UnitOfWorkFactory, data: SurpriseInput) -> Campaign:
    """Send a surprise as marketing."""
    return await uows.run(lambda uow: send_surprise(uow, data=data, staff=MIA))


async def counts(uows: UnitOfWorkFactory) -> dict[str, int]:
    """Rows per table a refusal must leave alone."""
    found = {}
    async with uows() as uow:
        for table in (*TABLES, IdempotencyKey):
            stmt = select(func.count()).select_from(table)
            found[table.__name__] = int((await uow.session.execute(stmt)).scalar_one())
    return found


async def recipients(uows: UnitOfWorkFactory, campaign_id: int) -> list[CampaignRecipient]:
    """A campaign's recipient rows in member order."""
    async with uows() as uow:
        stmt = (
            select(CampaignRecipient)
            .where(CampaignRecipient.campaign_id == campaign_id)  # type: ignore[arg-type]
            .order_by(CampaignRecipient.member_id)  # type: ignore[arg-type]
        )
        return list((await uow.session.execute(stmt)).scalars())


async def campaign_entries(uows: UnitOfWorkFactory, campaign_id: int) -> dict[int, int]:
    """Ledger entries a campaign wrote, per member."""
    async with uows() as uow:
        stmt = (
            select(LedgerEntry.member_id, func.count())
            .where(LedgerEntry.source_ref == f"campaign:{campaign_id}")  # type: ignore[arg-type]
            .group_by(LedgerEntry.member_id)
        )
        return {int(m): int(n) for m, n in (await uow.session.execute(stmt)).all()}
