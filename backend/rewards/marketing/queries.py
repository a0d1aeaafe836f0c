"""Read side of marketing: pages of segments and campaigns, and campaign results.

Results are grouped queries over a page of campaigns (three statements however many campaigns
and members), never a loop over members.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Row, and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.db.tables import (
    Campaign,
    CampaignRecipient,
    Notification,
    Purchase,
    PushOutbox,
    Segment,
    Voucher,
)
from backend.rewards.marketing.rules import Outcome
from backend.rewards.notifications.outbox import OutboxStatus
from backend.rewards.notifications.rules import PushStatus

CAMPAIGN = Campaign.__table__  # type: ignore[attr-defined]
RECIPIENT = CampaignRecipient.__table__  # type: ignore[attr-defined]
NOTIFICATION = Notification.__table__  # type: ignore[attr-defined]
OUTBOX = PushOutbox.__table__  # type: ignore[attr-defined]
VOUCHER = Voucher.__table__  # type: ignore[attr-defined]
PURCHASE = Purchase.__table__  # type: ignore[attr-defined]
SEGMENT = Segment.__table__  # type: ignore[attr-defined]


async def newest_first(
    conn: AsyncConnection, table: Any, *, first: int, before_id: int | None
) -> tuple[list[Row[Any]], bool]:
    """A page of segments or campaigns, newest first, older than `before_id`; more?"""
    stmt = select(table)
    if before_id is not None:
        stmt = stmt.where(table.c.id < before_id)
    rows = (await conn.execute(stmt.order_by(table.c.id.desc()).limit(first + 1))).all()
    return list(rows[:first]), len(rows) > first


async def by_id(conn: AsyncConnection, table: Any, row_id: int) -> Row[Any] | None:
    """One segment or campaign."""
    return (await conn.execute(select(table).where(table.c.id == row_id))).first()


@dataclass
class Group:
    """Purchases after the send by the members of one group (treated or held out)."""

    members: int = 0
    purchases: int = 0

    @property
    def rate(self) -> float:
        """Purchases per member of the group (0 for an empty group)."""
        return self.purchases / self.members if self.members else 0.0


@dataclass
class Results:
    """A campaign's results so far."""

    targeted: int = 0
    rewarded: int = 0
    held_out: int = 0
    unavailable: int = 0
    pushed: int = 0
    delivered: int = 0
    failed: int = 0
    opened: int = 0
    redeemed: int = 0
    treated: Group = field(default_factory=Group)
    holdout: Group = field(default_factory=Group)


def _count(condition: Any) -> Any:
    """Count the rows meeting a condition (portable: a CASE, not FILTER)."""
    return func.sum(case((condition, 1), else_=0))


async def results(conn: AsyncConnection, campaign_ids: Sequence[int]) -> dict[int, Results]:
    """The results of several campaigns in three grouped statements."""
    found = {campaign_id: Results() for campaign_id in campaign_ids}
    if not campaign_ids:
        return found
    mine = RECIPIENT.c.campaign_id.in_(campaign_ids)
    for row in await conn.execute(_reached(mine)):
        _fill(found[row.campaign_id], row)
    for row in await conn.execute(_delivery(mine)):
        found[row.campaign_id].delivered = int(row.delivered or 0)
        found[row.campaign_id].failed = int(row.failed or 0)
    for row in await conn.execute(_purchases(mine)):
        group = found[row.campaign_id].holdout if row.held_out else found[row.campaign_id].treated
        group.purchases = int(row.purchases)
    return found


def _reached(mine: Any) -> Any:
    """Per campaign: members reached, rewarded, held out, pushed, opened, vouchers used."""
    outcome = RECIPIENT.c.outcome
    return (
        select(
            RECIPIENT.c.campaign_id,
            func.count().label("targeted"),
            _count(outcome == Outcome.REWARDED.value).label("rewarded"),
            _count(outcome == Outcome.HELD_OUT.value).label("held_out"),
            _count(outcome == Outcome.UNAVAILABLE.value).label("unavailable"),
            _count(NOTIFICATION.c.push_status == PushStatus.QUEUED.value).label("pushed"),
            func.count(NOTIFICATION.c.opened_at).label("opened"),
            func.count(VOUCHER.c.used_at).label("redeemed"),
        )
        .select_from(RECIPIENT)
        .outerjoin(NOTIFICATION, NOTIFICATION.c.id == RECIPIENT.c.notification_id)
        .outerjoin(VOUCHER, VOUCHER.c.id == RECIPIENT.c.voucher_id)
        .where(mine)
        .group_by(RECIPIENT.c.campaign_id)
    )


def _fill(found: Results, row: Any) -> None:
    """Copy one campaign's counts."""
    found.targeted, found.rewarded = int(row.targeted), int(row.rewarded or 0)
    found.held_out, found.unavailable = int(row.held_out or 0), int(row.unavailable or 0)
    found.pushed, found.opened = int(row.pushed or 0), int(row.opened)
    found.redeemed = int(row.redeemed)
    found.holdout.members = found.held_out
    found.treated.members = found.rewarded


def _delivery(mine: Any) -> Any:
    """Per campaign: notifications that reached a device, and those whose every push failed."""
    status = OUTBOX.c.status
    per_notification = (
        select(
            RECIPIENT.c.campaign_id,
            func.max(case((status == OutboxStatus.SENT.value, 1), else_=0)).label("sent"),
            func.max(case((status == OutboxStatus.PENDING.value, 1), else_=0)).label("waiting"),
        )
        .select_from(RECIPIENT)
        .join(OUTBOX, OUTBOX.c.notification_id == RECIPIENT.c.notification_id)
        .where(mine)
        .group_by(RECIPIENT.c.campaign_id, RECIPIENT.c.notification_id)
        .subquery()
    )
    settled_unsent = and_(per_notification.c.sent == 0, per_notification.c.waiting == 0)
    return select(
        per_notification.c.campaign_id,
        func.sum(per_notification.c.sent).label("delivered"),
        _count(settled_unsent).label("failed"),
    ).group_by(per_notification.c.campaign_id)


def _purchases(mine: Any) -> Any:
    """Per campaign and group (treated, held out): purchases made from the send time on."""
    return (
        select(RECIPIENT.c.campaign_id, RECIPIENT.c.held_out, func.count().label("purchases"))
        .select_from(RECIPIENT)
        .join(CAMPAIGN, CAMPAIGN.c.id == RECIPIENT.c.campaign_id)
        .join(
            PURCHASE,
            and_(
                PURCHASE.c.member_id == RECIPIENT.c.member_id,
                PURCHASE.c.occurred_at >= CAMPAIGN.c.send_at,
            ),
        )
        .where(mine, RECIPIENT.c.outcome != Outcome.UNAVAILABLE.value)
        .group_by(RECIPIENT.c.campaign_id, RECIPIENT.c.held_out)
    )
