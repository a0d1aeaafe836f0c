"""The push outbox: rows written with the event, claimed by senders with a lease, then settled.

Claiming picks due, unclaimed rows and marks them with a claim token and a lease in one
transaction. On PostgreSQL the rows are picked `FOR UPDATE SKIP LOCKED`, so senders running at
once take disjoint sets without waiting on each other; on SQLite writers are serialised
(`BEGIN IMMEDIATE`), and the UPDATE repeats the conditions, so claims are disjoint there too.
Every later write names the claim token: a sender whose lease ran out (and whose rows another
sender took over) changes nothing. A sender that dies leaves its rows to be claimed again once
the lease ends: each push goes out at least once, and the app dedupes on the notification id.
"""

from __future__ import annotations

import enum
import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from backend.db.tables import Device, Notification, PushOutbox

OUTBOX = PushOutbox.__table__  # type: ignore[attr-defined]
DEVICE = Device.__table__  # type: ignore[attr-defined]
NOTIFICATION = Notification.__table__  # type: ignore[attr-defined]
ERROR_WIDTH = 500


class OutboxStatus(enum.StrEnum):
    """Where one push message stands."""

    PENDING = "PENDING"
    SENT = "SENT"
    FAILED = "FAILED"
    DROPPED = "DROPPED"  # its device was unregistered, pruned or moved before it went out


@dataclass(frozen=True)
class Claimed:
    """One claimed push, with what the message needs."""

    id: int
    attempts: int
    notification_id: int
    kind: str
    title: str
    body: str
    deep_link: str
    token: str
    device_id: int


@dataclass(frozen=True)
class Settled:
    """How a sender settles one claimed push."""

    id: int
    status: OutboxStatus
    not_before: datetime | None = None
    message_id: str | None = None
    error: str | None = None


DEVICES_OF = select(DEVICE.c.id).where(DEVICE.c.member_id == bindparam("member_id"))
_DEVICES_IN_ORDER = DEVICES_OF.order_by(DEVICE.c.id)  # built once: not keyed again per call


async def device_ids(session: AsyncSession, member_id: int) -> list[int]:
    """The member's devices."""
    return list((await session.execute(_DEVICES_IN_ORDER, {"member_id": member_id})).scalars())


HAS_DEVICES = select(DEVICE.c.id).where(DEVICE.c.member_id == bindparam("o_member_id")).exists()
"""Whether the member named by the bind parameter `o_member_id` has a device."""

_QUEUE_TO_DEVICES = insert(OUTBOX).from_select(
    ["notification_id", "device_id", "status", "not_before", "attempts", "created_at"],
    select(
        bindparam("o_notification_id", type_=OUTBOX.c.notification_id.type),
        DEVICE.c.id,
        literal(OutboxStatus.PENDING.value, OUTBOX.c.status.type),
        bindparam("o_not_before", type_=OUTBOX.c.not_before.type),
        literal(0, OUTBOX.c.attempts.type),
        bindparam("o_now", type_=OUTBOX.c.created_at.type),
    )
    .where(DEVICE.c.member_id == bindparam("o_member_id"))
    .order_by(DEVICE.c.id),
)


async def enqueue_to_devices(
    session: AsyncSession,
    notification_id: int,
    member_id: int,
    *,
    not_before: datetime,
    now: datetime,
) -> None:
    """Queue one push per device the member has now (in the current transaction, one statement,
    the devices read by the INSERT itself)."""
    params = {
        "o_notification_id": notification_id,
        "o_member_id": member_id,
        "o_not_before": not_before,
        "o_now": now,
    }
    await session.execute(_QUEUE_TO_DEVICES, params)


async def device_ids_of(session: AsyncSession, member_ids: Sequence[int]) -> dict[int, list[int]]:
    """The devices of several members (one statement)."""
    stmt = (
        select(DEVICE.c.member_id, DEVICE.c.id)
        .where(DEVICE.c.member_id.in_(member_ids))
        .order_by(DEVICE.c.id)
    )
    found: dict[int, list[int]] = {}
    for member_id, device_id in (await session.execute(stmt)).all():
        found.setdefault(int(member_id), []).append(int(device_id))
    return found


async def enqueue(
    session: AsyncSession,
    notification_id: int,
    devices: Sequence[int],
    *,
    not_before: datetime,
    now: datetime,
) -> None:
    """Queue one push per device in the current transaction."""
    await enqueue_many(session, [(notification_id, devices, not_before)], now=now)


async def enqueue_many(
    session: AsyncSession,
    pushes: Sequence[tuple[int, Sequence[int], datetime]],
    *,
    now: datetime,
) -> None:
    """Queue one push per (notification, device), each due at its time, in one statement."""
    rows = [
        {
            "notification_id": notification_id,
            "device_id": device_id,
            "status": OutboxStatus.PENDING.value,
            "not_before": not_before,
            "attempts": 0,
            "created_at": now,
        }
        for notification_id, devices, not_before in pushes
        for device_id in devices
    ]
    if rows:
        await session.execute(insert(OUTBOX), rows)


def _due(now: datetime) -> Any:
    """Pending pushes whose time has come and that no sender holds."""
    free = or_(OUTBOX.c.claimed_until.is_(None), OUTBOX.c.claimed_until <= now)
    return (OUTBOX.c.status == OutboxStatus.PENDING.value) & (OUTBOX.c.not_before <= now) & free


async def anything_due(conn: AsyncConnection, *, now: datetime) -> bool:
    """Whether a claim would find something: a cheap read, so idle senders take no write lock."""
    return (await conn.execute(select(OUTBOX.c.id).where(_due(now)).limit(1))).first() is not None


async def claim(
    session: AsyncSession, *, now: datetime, lease: timedelta, limit: int
) -> tuple[str, list[Claimed]]:
    """Take up to `limit` due pushes for `lease`; drop those whose device is gone.

    The caller commits, which makes the claim visible to other senders.
    """
    token = uuid.uuid4().hex
    due = _due(now)
    pick = (
        select(OUTBOX.c.id)
        .where(due)
        .order_by(OUTBOX.c.not_before, OUTBOX.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    # Two statements on purpose: PostgreSQL may re-run a LIMIT subquery inside `IN (…)` of an
    # UPDATE, claiming more rows than asked; the picked ids are locked until the commit.
    picked = list((await session.execute(pick)).scalars())
    if not picked:
        return token, []
    taken = await session.execute(
        update(OUTBOX)
        .where(OUTBOX.c.id.in_(picked), due)
        .values(claimed_until=now + lease, claim=token)
        .returning(OUTBOX.c.id)
    )
    ids = sorted(taken.scalars())
    stmt = (
        select(
            OUTBOX.c.id,
            OUTBOX.c.attempts,
            OUTBOX.c.device_id,
            NOTIFICATION.c.id.label("notification_id"),
            NOTIFICATION.c.kind,
            NOTIFICATION.c.title,
            NOTIFICATION.c.body,
            NOTIFICATION.c.deep_link,
            DEVICE.c.token,
        )
        .join(NOTIFICATION, NOTIFICATION.c.id == OUTBOX.c.notification_id)
        # The member check matters on SQLite, which may give a deleted device's id to the next
        # device registered, perhaps another member's.
        .outerjoin(
            DEVICE,
            (DEVICE.c.id == OUTBOX.c.device_id) & (DEVICE.c.member_id == NOTIFICATION.c.member_id),
        )
        .where(OUTBOX.c.id.in_(ids))
        .order_by(OUTBOX.c.id)
    )
    rows = (await session.execute(stmt)).all()
    gone = [
        Settled(r.id, OutboxStatus.DROPPED, error="device gone") for r in rows if r.token is None
    ]
    await settle(session, token, gone, now=now)
    return token, [Claimed(**r._mapping) for r in rows if r.token is not None]


async def settle(
    session: AsyncSession, claim_token: str, results: Sequence[Settled], *, now: datetime
) -> None:
    """Record what became of claimed pushes (only those this claim still holds)."""
    if not results:
        return
    stmt = (
        update(OUTBOX)
        .where(OUTBOX.c.id == bindparam("b_id"), OUTBOX.c.claim == claim_token)
        .values(
            status=bindparam("b_status"),
            not_before=func.coalesce(
                bindparam("b_not_before", type_=OUTBOX.c.not_before.type), OUTBOX.c.not_before
            ),
            fcm_message_id=bindparam("b_message_id"),
            last_error=bindparam("b_error"),
            sent_at=bindparam("b_sent_at"),
            attempts=OUTBOX.c.attempts + bindparam("b_tried"),
            claimed_until=None,
            claim=None,
        )
    )
    connection = await session.connection()  # a Core executemany in the session's transaction
    await connection.execute(stmt, [_row(r, now) for r in results])


def _row(result: Settled, now: datetime) -> dict[str, Any]:
    """The parameters of one settled push."""
    return {
        "b_id": result.id,
        "b_status": result.status.value,
        "b_not_before": result.not_before,
        "b_message_id": result.message_id,
        "b_error": result.error[:ERROR_WIDTH] if result.error else None,
        "b_sent_at": now if result.status is OutboxStatus.SENT else None,
        "b_tried": 0 if result.status is OutboxStatus.DROPPED else 1,
    }


async def prune_devices(session: AsyncSession, devices: Sequence[tuple[int, str]]) -> None:
    """Delete devices (id, token) whose tokens FCM no longer accepts, if they still have them."""
    for device_id, token in sorted(set(devices)):
        await session.execute(
            delete(DEVICE).where(DEVICE.c.id == device_id, DEVICE.c.token_hash == token_hash(token))
        )


def token_hash(token: str) -> str:
    """The key a device token is unique by (SHA-256, hex)."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()
