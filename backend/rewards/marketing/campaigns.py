"""Surprises: `send_surprise` makes a campaign; the campaign job rewards and notifies its members.

Exactly once per member, whoever runs the job and however often:
- a batch is one unit of work: it locks the campaign row (PostgreSQL `FOR UPDATE SKIP LOCKED`, so
  a second worker passes to another campaign instead of waiting; SQLite serialises writers with
  `BEGIN IMMEDIATE`), picks the next members of the segment after the campaign's cursor, writes
  each one's reward, notification and `campaign_recipient` row, moves the cursor and commits;
- a worker that dies midway leaves nothing of its batch (the transaction rolls back) and the
  next run takes the same members again;
- the unique (campaign, member) row is written in the transaction of the reward, so even a
  cursor gone wrong could not reward a member twice (the unit of work would run again instead).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import insert, select
from sqlmodel import col

from backend.db.tables import AuditLog, Campaign, CampaignRecipient, Offer, Segment
from backend.rewards import idempotency
from backend.rewards.errors import DomainError, NotFound
from backend.rewards.ledger import Posting, Source, credit_each
from backend.rewards.marketing.rules import (
    CampaignStatus,
    Outcome,
    Reward,
    RewardKind,
    check_holdout,
    check_reward,
    check_send_at,
    held_out,
    points_reward,
)
from backend.rewards.marketing.segments import SegmentFilter, member_ids_after
from backend.rewards.notifications.rules import Kind
from backend.rewards.notifications.services import Message, notify_many
from backend.rewards.offers.rules import OfferKind, VoucherOrigin
from backend.rewards.offers.services import issue_gift, offer_titles
from backend.rewards.ports import Principal
from backend.rewards.text import TextField, clean, clip, width
from backend.rewards.uow import LockedMember, UnitOfWork, UnitOfWorkFactory

RECIPIENT = CampaignRecipient.__table__  # type: ignore[attr-defined]
SCOPE = "surprise"
NAME = TextField("INVALID_NAME", "name", "The name", width(Campaign, "name"), minimum=3, prose=True)
MESSAGE = TextField(
    "INVALID_MESSAGE", "message", "The message", width(Campaign, "message"), prose=True
)
KEY = TextField("INVALID_IDEMPOTENCY_KEY", "idempotencyKey", "The idempotency key", 128)


@dataclass(frozen=True)
class SurpriseInput:
    """What marketing asks for: whom (a saved segment), what, the message, when, the holdout."""

    segment_id: int
    name: str
    reward: Reward
    message: str
    send_at: datetime | None
    holdout_percent: int
    idempotency_key: str

    def payload(self) -> dict[str, Any]:
        """The canonical payload for the idempotency fingerprint."""
        return {
            "segment": self.segment_id,
            "name": self.name,
            "reward": self.reward.as_json(),
            "message": self.message,
            "send_at": self.send_at.isoformat() if self.send_at else None,
            "holdout": self.holdout_percent,
        }


async def send_surprise(uow: UnitOfWork, *, data: SurpriseInput, staff: Principal) -> Campaign:
    """Schedule a surprise for a saved segment (audited); a replay answers the first campaign."""
    key = clean(data.idempotency_key, KEY)
    earlier = await idempotency.replay(
        uow, scope=SCOPE, key=key, payload=data.payload(), field="idempotencyKey"
    )
    if earlier is not None:
        return await uow.session.get_one(Campaign, int(earlier["campaign_id"]))
    segment = await uow.session.get(Segment, data.segment_id)
    if segment is None:
        raise NotFound("UNKNOWN_SEGMENT", "No segment has that id.", field="segmentId")
    name, message = clean(data.name, NAME), clean(data.message, MESSAGE)
    reward = check_reward(data.reward)
    if reward.offer_id is not None:
        await _check_offer(uow, reward)
    campaign = Campaign(
        name=name,
        segment_id=data.segment_id,
        filter=dict(segment.filter),
        reward_kind=reward.kind.value,
        points=reward.points,
        offer_id=reward.offer_id,
        message=message,
        send_at=check_send_at(data.send_at, uow.now),
        holdout_percent=check_holdout(data.holdout_percent),
        seed=secrets.token_hex(16),
        status=CampaignStatus.SCHEDULED.value,
        created_by=staff.uid,
        created_at=uow.now,
    )
    claimed = await idempotency.claim(uow, scope=SCOPE, key=key, payload=data.payload())
    uow.session.add(campaign)
    await uow.session.flush()
    uow.session.add(
        AuditLog(
            actor_uid=staff.uid,
            actor_role=staff.role,
            action="send_surprise",
            reason=f"surprise: {name}"[: width(AuditLog, "reason")],
            details={"campaign_id": campaign.id, "segment_id": data.segment_id, **data.payload()},
            created_at=uow.now,
        )
    )
    idempotency.remember(claimed, {"campaign_id": campaign.id})
    await uow.commit()
    return campaign


async def _check_offer(uow: UnitOfWork, reward: Reward) -> None:
    """The offer exists, is a gift (0 points) and, for extra spins, is an EXTRA_SPIN offer."""
    offer = await uow.session.get(Offer, reward.offer_id)
    if offer is None:
        raise NotFound("UNKNOWN_OFFER", "No offer has that id.", field="reward.offerId")
    if offer.points_cost != 0:
        raise DomainError(
            "NOT_A_GIFT", "Surprises give offers that cost 0 points.", field="reward.offerId"
        )
    spins = offer.kind == OfferKind.EXTRA_SPIN.value
    if (reward.kind is RewardKind.EXTRA_SPINS) != spins:
        raise DomainError(
            "WRONG_OFFER_KIND",
            "Extra spins are given as an EXTRA_SPIN offer, and only by an EXTRA_SPINS reward.",
            field="reward.offerId",
        )


@dataclass
class CampaignReport:
    """What one run of the campaign job did."""

    batches: int = 0
    rewarded: int = 0
    held_out: int = 0
    unavailable: int = 0
    finished: int = 0


@dataclass(frozen=True)
class BatchDone:
    """What one committed batch did (counted only once it is committed)."""

    outcomes: tuple[Outcome, ...]
    finished: bool


async def run_due_campaigns(uows: UnitOfWorkFactory, *, batch: int = 200) -> CampaignReport:
    """Work through every due campaign a batch at a time until none is left for this worker."""
    report = CampaignReport()
    while True:
        done = await uows.run(lambda uow: next_batch(uow, batch=batch))
        if done is None:
            return report
        report.batches += 1
        report.rewarded += done.outcomes.count(Outcome.REWARDED)
        report.held_out += done.outcomes.count(Outcome.HELD_OUT)
        report.unavailable += done.outcomes.count(Outcome.UNAVAILABLE)
        report.finished += done.finished


async def _due_campaign(uow: UnitOfWork) -> Campaign | None:
    """The due campaign sent longest ago that no other worker holds, locked for this batch."""
    stmt = (
        select(Campaign)
        .where(
            col(Campaign.status).in_([CampaignStatus.SCHEDULED, CampaignStatus.SENDING]),
            col(Campaign.send_at) <= uow.now,
        )
        .order_by(col(Campaign.send_at), col(Campaign.id))
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    return (await uow.session.execute(stmt.execution_options(populate_existing=True))).scalar()


async def next_batch(uow: UnitOfWork, *, batch: int) -> BatchDone | None:
    """Reward, hold out and notify the next members of one due campaign; None if none is due."""
    campaign = await _due_campaign(uow)
    if campaign is None:
        return None
    spec = SegmentFilter.of_json(campaign.filter)
    dialect = uow.session.get_bind().dialect.name
    # The segment as of the send time, so every batch of the campaign asks the same question.
    pick = member_ids_after(
        spec, now=campaign.send_at, dialect=dialect, after=campaign.cursor_member_id, limit=batch
    )
    member_ids = list((await uow.session.execute(pick)).scalars())
    rows = [_row(uow, campaign, m, Outcome.HELD_OUT) for m in member_ids if _held(campaign, m)]
    treated = [m for m in member_ids if not _held(campaign, m)]
    rows += await _reward_all(uow, campaign, treated)
    if rows:
        await uow.session.execute(insert(RECIPIENT), rows)
    finished = len(member_ids) < batch
    campaign.cursor_member_id = member_ids[-1] if member_ids else campaign.cursor_member_id
    campaign.started_at = campaign.started_at or uow.now
    campaign.status = (CampaignStatus.DONE if finished else CampaignStatus.SENDING).value
    campaign.finished_at = uow.now if finished else None
    await uow.commit()
    return BatchDone(tuple(Outcome(row["outcome"]) for row in rows), finished)


def _held(campaign: Campaign, member_id: int) -> bool:
    """Whether the campaign holds this member out."""
    return held_out(campaign.seed, member_id, campaign.holdout_percent)


def _row(
    uow: UnitOfWork, campaign: Campaign, member_id: int, outcome: Outcome, **found: int | None
) -> dict[str, Any]:
    """The recipient row of one member."""
    return {
        "campaign_id": campaign.id,
        "member_id": member_id,
        "held_out": outcome is Outcome.HELD_OUT,
        "outcome": outcome.value,
        "entry_id": found.get("entry_id"),
        "voucher_id": found.get("voucher_id"),
        "notification_id": found.get("notification_id"),
        "created_at": uow.now,
    }


async def _reward_all(
    uow: UnitOfWork, campaign: Campaign, member_ids: list[int]
) -> list[dict[str, Any]]:
    """Lock the members, give each the reward, notify those rewarded; their recipient rows.

    Members suspended since they were picked are skipped (no row: the segment no longer has them).
    """
    members = [m for m in await uow.lock_members(member_ids) if m.status == "active"]
    given = await (_points if campaign.reward_kind == RewardKind.POINTS.value else _vouchers)(
        uow, campaign, members
    )
    rewarded = [(member, found) for member, found in given if found is not None]
    messages = [
        Message(member, {"message": campaign.message}, reward_text)
        for member, (reward_text, _) in rewarded
    ]
    notified = await notify_many(uow, kind=Kind.SURPRISE, messages=messages)
    rows = [
        _row(uow, campaign, cast(int, m.id), Outcome.REWARDED, notification_id=n, **found)
        for (m, (_, found)), n in zip(rewarded, notified, strict=True)
    ]
    return rows + [
        _row(uow, campaign, cast(int, m.id), Outcome.UNAVAILABLE) for m, f in given if f is None
    ]


Given = list[tuple[LockedMember, tuple[Mapping[str, str], dict[str, int | None]] | None]]
"""Per member: what the reward is called by language and the row it wrote; None: not given."""


async def _points(uow: UnitOfWork, campaign: Campaign, members: list[LockedMember]) -> Given:
    """Credit the campaign's points to every member through the ledger (one statement per table)."""
    points = cast(int, campaign.points)
    posting = Posting(
        clip(f"Surprise: {campaign.name}", 200),
        Source.CAMPAIGN,
        f"campaign:{campaign.id}",
        campaign.created_by,
    )
    lifetime = int((await uow.rules()).setting("lot_lifetime_months"))
    entries = await credit_each(
        uow, members=members, points=points, posting=posting, lifetime_months=lifetime
    )
    named = points_reward(points)
    return [(m, (named, {"entry_id": entries[cast(int, m.id)]})) for m in members]


async def _vouchers(uow: UnitOfWork, campaign: Campaign, members: list[LockedMember]) -> Given:
    """Give each member a voucher of the campaign's offer while it is open and in stock."""
    given: Given = []
    for member in members:
        voucher = await issue_gift(
            uow,
            member_id=cast(int, member.id),
            offer_id=cast(int, campaign.offer_id),
            origin=VoucherOrigin.SURPRISE,
            grant_key=f"campaign:{campaign.id}",
            kind=None,  # the surprise's own (marketing) notification tells the member
        )
        if voucher is None:
            given.append((member, None))
            continue
        offer = await uow.session.get_one(Offer, campaign.offer_id)
        given.append((member, (offer_titles(offer), {"voucher_id": voucher.id})))
    return given
