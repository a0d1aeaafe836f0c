"""Notification use cases: `notify` inside another capability's unit of work, devices, the inbox."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import cast

from sqlalchemy import delete, func, select, update
from sqlmodel import col

from backend.db.tables import Device, Member, Notification
from backend.rewards.errors import DomainError, NotFound
from backend.rewards.events import NotificationReceived
from backend.rewards.members.rules import zone
from backend.rewards.notifications import outbox
from backend.rewards.notifications.outbox import token_hash
from backend.rewards.notifications.rules import (
    APP_VERSION,
    CAP_WINDOW,
    MAX_DEVICES,
    TEMPLATES,
    Category,
    Kind,
    Platform,
    PushStatus,
    after_quiet_hours,
    check_token,
    parse_clock_time,
    render,
    within_cap,
)
from backend.rewards.text import clean
from backend.rewards.uow import UnitOfWork

NOTIFICATION = Notification.__table__  # type: ignore[attr-defined]


async def notify(
    uow: UnitOfWork,
    *,
    member_id: int,
    kind: Kind,
    params: Mapping[str, object],
    reward: Mapping[str, str] | None = None,
) -> Notification:
    """Put a notification in the member's inbox and queue its pushes, in the caller's transaction.

    Transactional kinds go to every device now; marketing ones need consent, wait for the end of
    the member's quiet hours and count against the weekly cap. `reward` is a short description
    of what the member got, by language.
    """
    member = await uow.session.get(Member, member_id)  # usually already in the unit of work
    if member is None:
        raise NotFound("MEMBER_NOT_FOUND", "No such member.")
    rendered = render(kind, params, locale=member.locale, reward=reward)
    devices = await outbox.device_ids(uow.session, member_id)
    status, push_at = PushStatus.QUEUED, uow.now
    if TEMPLATES[kind].category is Category.MARKETING:
        status, push_at = await _marketing_schedule(uow, member_id, has_devices=bool(devices))
    elif not devices:
        status = PushStatus.NO_DEVICE
    notification = Notification(
        member_id=member_id,
        kind=kind.value,
        category=TEMPLATES[kind].category.value,
        language=rendered.language,
        title=rendered.title,
        body=rendered.body,
        deep_link=rendered.deep_link,
        reward=rendered.reward,
        push_status=status.value,
        push_at=push_at if status is PushStatus.QUEUED else None,
        created_at=uow.now,
    )
    uow.session.add(notification)
    await uow.session.flush()
    uow.emit(
        NotificationReceived(
            member_id=member_id,
            notification_id=cast(int, notification.id),
            kind=kind.value,
            title=notification.title,
            body=notification.body,
            deep_link=notification.deep_link,
        )
    )
    if status is PushStatus.QUEUED:
        await outbox.enqueue(
            uow.session, cast(int, notification.id), devices, not_before=push_at, now=uow.now
        )
    return notification


async def _marketing_schedule(
    uow: UnitOfWork, member_id: int, *, has_devices: bool
) -> tuple[PushStatus, datetime]:
    """When a marketing push may go: not without consent or a device, after quiet hours, capped.

    The member's row lock serialises their marketing pushes, so two at once cannot both take
    the last place under the cap.
    """
    member = await uow.lock_member(member_id)
    if not member.marketing_consent:
        return PushStatus.NO_CONSENT, uow.now
    if not has_devices:
        return PushStatus.NO_DEVICE, uow.now
    program = await uow.rules()
    push_at = after_quiet_hours(
        uow.now,
        zone(member.time_zone),
        parse_clock_time(str(program.setting("quiet_hours_start"))),
        parse_clock_time(str(program.setting("quiet_hours_end"))),
    )
    pushed = await _marketing_pushes_since(uow, member_id, push_at - CAP_WINDOW)
    if not within_cap(pushed, int(program.setting("marketing_push_weekly_cap"))):
        return PushStatus.CAPPED, uow.now
    return PushStatus.QUEUED, push_at


async def _marketing_pushes_since(uow: UnitOfWork, member_id: int, since: datetime) -> int:
    """Marketing pushes queued for the member from `since` on (later deferred ones included)."""
    stmt = select(func.count()).where(
        NOTIFICATION.c.member_id == member_id,
        NOTIFICATION.c.category == Category.MARKETING.value,
        NOTIFICATION.c.push_status == PushStatus.QUEUED.value,
        NOTIFICATION.c.push_at >= since,
    )
    return int((await uow.session.execute(stmt)).scalar_one())


async def _member_id(uow: UnitOfWork, uid: str) -> int:
    """The id of a signed-in user's membership, or NOT_ENROLLED."""
    found = (
        await uow.session.execute(select(col(Member.id)).where(col(Member.uid) == uid))
    ).scalar()
    if found is None:
        raise NotFound("NOT_ENROLLED", "Enrol before using notifications.")
    return int(found)


async def register_device(
    uow: UnitOfWork, *, uid: str, token: str, platform: Platform, app_version: str | None
) -> Device:
    """Register (or refresh) a device of the signed-in member; a token of another member moves here.

    A member keeps at most MAX_DEVICES devices: registering one more drops the one seen longest ago.
    """
    token = check_token(token)
    version = clean(app_version, APP_VERSION) if app_version is not None else None
    member = await uow.lock_member(await _member_id(uow, uid))  # one member's devices at a time
    if member.status != "active":
        raise DomainError("MEMBER_INACTIVE", "That membership is not active.")
    key = token_hash(token)
    device = (
        await uow.session.execute(select(Device).where(col(Device.token_hash) == key))
    ).scalar()
    if device is not None and device.member_id != member.id:
        await uow.session.delete(device)  # a new row: the old member's queued pushes are dropped
        await uow.session.flush()
        device = None
    if device is None:
        device = Device(
            member_id=cast(int, member.id),
            token=token,
            token_hash=key,
            platform=platform.value,
            created_at=uow.now,
            last_seen_at=uow.now,
        )
        uow.session.add(device)
    device.platform, device.app_version, device.last_seen_at = platform.value, version, uow.now
    await uow.session.flush()
    await _drop_oldest_devices(uow, cast(int, member.id))
    await uow.commit()
    return device


async def _drop_oldest_devices(uow: UnitOfWork, member_id: int) -> None:
    """Keep the MAX_DEVICES devices of a member seen most recently."""
    keep = (
        select(col(Device.id))
        .where(col(Device.member_id) == member_id)
        .order_by(col(Device.last_seen_at).desc(), col(Device.id).desc())
        .limit(MAX_DEVICES)
    )
    await uow.session.execute(
        delete(Device).where(
            col(Device.member_id) == member_id, col(Device.id).not_in(keep.scalar_subquery())
        )
    )


async def unregister_device(uow: UnitOfWork, *, uid: str, token: str) -> bool:
    """Forget one of the member's devices (sign-out); tell whether there was one."""
    token = check_token(token)
    member_id = await _member_id(uow, uid)
    result = await uow.session.execute(
        delete(Device).where(
            col(Device.token_hash) == token_hash(token), col(Device.member_id) == member_id
        )
    )
    await uow.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def mark_notification(
    uow: UnitOfWork, *, uid: str, notification_id: int, opened: bool
) -> Notification:
    """Mark one of the member's notifications read (or opened, which reads it too); first time kept."""
    member_id = await _member_id(uow, uid)
    stamps = {"read_at": func.coalesce(NOTIFICATION.c.read_at, uow.now)}
    if opened:
        stamps["opened_at"] = func.coalesce(NOTIFICATION.c.opened_at, uow.now)
    await uow.session.execute(
        update(NOTIFICATION)
        .where(NOTIFICATION.c.id == notification_id, NOTIFICATION.c.member_id == member_id)
        .values(**stamps)
    )
    stmt = select(Notification).where(
        col(Notification.id) == notification_id, col(Notification.member_id) == member_id
    )
    found = (await uow.session.execute(stmt.execution_options(populate_existing=True))).scalar()
    if found is None:
        raise NotFound("UNKNOWN_NOTIFICATION", "You have no notification with that id.", field="id")
    await uow.commit()
    return found
