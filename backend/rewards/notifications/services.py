"""Notification use cases: `notify` inside another capability's unit of work, devices, the inbox."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import bindparam, case, delete, func, insert, null, select, update
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
    Rendered,
    after_quiet_hours,
    check_token,
    parse_clock_time,
    render,
    within_cap,
)
from backend.rewards.program import ProgramRules
from backend.rewards.text import clean
from backend.rewards.uow import LockedMember, UnitOfWork

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
    if TEMPLATES[kind].category is not Category.MARKETING:
        notification = await _transactional(uow, member_id, kind, rendered)
    else:
        devices = await outbox.device_ids(uow.session, member_id)
        status, push_at = await _marketing_schedule(uow, member_id, has_devices=bool(devices))
        notification = Notification(**_columns(member_id, kind, rendered, status, push_at, uow.now))
        await uow.insert(notification)  # one Core INSERT, not a flush of the session
        if status is PushStatus.QUEUED:
            await outbox.enqueue(
                uow.session, cast(int, notification.id), devices, not_before=push_at, now=uow.now
            )
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
    return notification


async def _transactional(
    uow: UnitOfWork, member_id: int, kind: Kind, rendered: Rendered
) -> Notification:
    """Insert a transactional notification, queued now to every device the member has (or
    NO_DEVICE): the INSERTs read the devices themselves, so there is no statement to list them."""
    columns = _columns(member_id, kind, rendered, PushStatus.QUEUED, uow.now, uow.now)
    params = {f"n_{key}": value for key, value in columns.items() if key not in _BY_DEVICES}
    params["o_member_id"] = member_id
    row = (await uow.session.execute(_INSERT_TRANSACTIONAL, params)).one()
    columns["push_status"] = row.push_status
    if row.push_status == PushStatus.QUEUED.value:
        await outbox.enqueue_to_devices(
            uow.session, row.id, member_id, not_before=uow.now, now=uow.now
        )
    else:
        columns["push_at"] = None
    return Notification(id=row.id, **columns)


_BY_DEVICES = frozenset({"push_status", "push_at"})
"""The columns a transactional notification's INSERT derives from the member's devices."""

_INSERT_TRANSACTIONAL = (
    insert(NOTIFICATION)
    .values(
        {
            **{
                column.key: bindparam(f"n_{column.key}", type_=column.type)
                for column in NOTIFICATION.columns
                if column.key not in _BY_DEVICES | {"id", "read_at", "opened_at"}
            },
            "push_status": case(
                (outbox.HAS_DEVICES, PushStatus.QUEUED.value), else_=PushStatus.NO_DEVICE.value
            ),
            "push_at": case(
                (outbox.HAS_DEVICES, bindparam("n_created_at", type_=NOTIFICATION.c.push_at.type)),
                else_=null(),
            ),
        }
    )
    .returning(NOTIFICATION.c.id, NOTIFICATION.c.push_status)
)


def _columns(
    member_id: int,
    kind: Kind,
    rendered: Rendered,
    status: PushStatus,
    push_at: datetime,
    now: datetime,
) -> dict[str, Any]:
    """The columns of one notification row."""
    return {
        "member_id": member_id,
        "kind": kind.value,
        "category": TEMPLATES[kind].category.value,
        "language": rendered.language,
        "title": rendered.title,
        "body": rendered.body,
        "deep_link": rendered.deep_link,
        "reward": rendered.reward,
        "push_status": status.value,
        "push_at": push_at if status is PushStatus.QUEUED else None,
        "created_at": now,
    }


@dataclass(frozen=True)
class Message:
    """One member's notification of a batch: its parameters and the reward by language."""

    member: LockedMember
    params: Mapping[str, object]
    reward: Mapping[str, str] | None = None


async def notify_many(uow: UnitOfWork, *, kind: Kind, messages: Sequence[Message]) -> list[int]:
    """`notify` for many members at once (a campaign's batch): the same rules, a few statements.

    One message per member; the members must be locked by this unit of work (which serialises
    their marketing pushes, as `notify` does). Returns the notification ids in the order of
    `messages`.
    """
    if not messages:
        return []
    ids = [cast(int, m.member.id) for m in messages]
    devices = await outbox.device_ids_of(uow.session, ids)
    marketing = TEMPLATES[kind].category is Category.MARKETING
    queued = await _marketing_pushes_of(uow, ids) if marketing else {}
    program = await uow.rules() if marketing else None
    rows = []
    for message in messages:
        member, member_id = message.member, cast(int, message.member.id)
        uow.check_locked(member)
        rendered = render(kind, message.params, locale=member.locale, reward=message.reward)
        status, push_at = PushStatus.QUEUED, uow.now
        if program is not None:
            status, push_at = _schedule(
                uow.now, member, program, bool(devices.get(member_id)), queued.get(member_id, [])
            )
        elif not devices.get(member_id):
            status = PushStatus.NO_DEVICE
        rows.append(_columns(member_id, kind, rendered, status, push_at, uow.now))
    # Not sorted by parameter order (SQLite would then insert row by row): one notification per
    # member, so the member id tells which id is whose.
    stmt = insert(NOTIFICATION).returning(NOTIFICATION.c.id, NOTIFICATION.c.member_id)
    by_member = {int(m): int(i) for i, m in (await uow.session.execute(stmt, rows)).all()}
    assert len(by_member) == len(rows), "one notification per member"
    created = [by_member[row["member_id"]] for row in rows]
    pushes = [
        (notification_id, devices[row["member_id"]], row["push_at"])
        for notification_id, row in zip(created, rows, strict=True)
        if row["push_status"] == PushStatus.QUEUED.value
    ]
    await outbox.enqueue_many(uow.session, pushes, now=uow.now)
    return created


def _schedule(
    now: datetime,
    member: Member,
    program: ProgramRules,
    has_devices: bool,
    queued: Sequence[datetime],
) -> tuple[PushStatus, datetime]:
    """`_marketing_schedule` for a member whose queued marketing pushes are already read."""
    if not member.marketing_consent:
        return PushStatus.NO_CONSENT, now
    if not has_devices:
        return PushStatus.NO_DEVICE, now
    push_at = after_quiet_hours(
        now,
        zone(member.time_zone),
        parse_clock_time(str(program.setting("quiet_hours_start"))),
        parse_clock_time(str(program.setting("quiet_hours_end"))),
    )
    pushed = sum(1 for moment in queued if moment >= push_at - CAP_WINDOW)
    if not within_cap(pushed, int(program.setting("marketing_push_weekly_cap"))):
        return PushStatus.CAPPED, now
    return PushStatus.QUEUED, push_at


async def _marketing_pushes_of(
    uow: UnitOfWork, member_ids: Sequence[int]
) -> dict[int, list[datetime]]:
    """When the members' queued marketing pushes go, from a cap window ago on (one statement)."""
    stmt = select(NOTIFICATION.c.member_id, NOTIFICATION.c.push_at).where(
        NOTIFICATION.c.member_id.in_(member_ids),
        NOTIFICATION.c.category == Category.MARKETING.value,
        NOTIFICATION.c.push_status == PushStatus.QUEUED.value,
        NOTIFICATION.c.push_at >= uow.now - CAP_WINDOW,  # no push goes before now
    )
    found: dict[int, list[datetime]] = {}
    for member_id, push_at in (await uow.session.execute(stmt)).all():
        found.setdefault(int(member_id), []).append(push_at)
    return found


async def _marketing_schedule(
    uow: UnitOfWork, member_id: int, *, has_devices: bool
) -> tuple[PushStatus, datetime]:
    """When a marketing push may go: not without consent or a device, after quiet hours, capped.

    The member's row lock serialises their marketing pushes, so two at once cannot both take
    the last place under the cap.
    """
    member = await uow.lock_member(member_id)
    queued = await _marketing_pushes_of(uow, [member_id]) if member.marketing_consent else {}
    program = await uow.rules()
    return _schedule(uow.now, member, program, has_devices, queued.get(member_id, []))


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
