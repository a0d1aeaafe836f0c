"""Helpers for push tests: members with devices, notifications queued, outbox rows read back."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from backend.db.tables import Device, Notification, PushOutbox
from backend.rewards.notifications.rules import Kind, Platform
from backend.rewards.notifications.services import notify, register_device
from backend.rewards.uow import UnitOfWork, UnitOfWorkFactory
from tests.helpers import new_member


async def member_with_devices(
    uows: UnitOfWorkFactory, uid: str, tokens: list[str], **fields: Any
) -> int:
    """Enrol a member and register their devices; return the member id."""
    member = await new_member(uows, uid, **fields)
    for token in tokens:
        await uows.run(
            lambda uow, t=token: register_device(  # type: ignore[misc]
                uow, uid=uid, token=t, platform=Platform.ANDROID, app_version="1.0"
            )
        )
    return int(member.id)  # type: ignore[arg-type]


async def queue(
    uows: UnitOfWorkFactory, member_id: int, count: int = 1, kind: Kind = Kind.TIER_REACHED
) -> list[int]:
    """Notify a member `count` times in one unit of work; return the notification ids."""
    params: dict[str, object] = {"tier": "Gold"} if kind is Kind.TIER_REACHED else {"message": "Hi"}

    async def use_case(uow: UnitOfWork) -> list[int]:
        ids = [int((await notify(uow, member_id=member_id, kind=kind, params=params)).id or 0) for _ in range(count)]  # fmt: skip
        await uow.commit()
        return ids

    return await uows.run(use_case)


async def outbox_rows(uows: UnitOfWorkFactory) -> list[PushOutbox]:
    """Every outbox row, oldest first."""
    async with uows() as uow:
        return list(
            (await uow.session.execute(select(PushOutbox).order_by(PushOutbox.id))).scalars()
        )  # type: ignore[arg-type]


async def notifications_of(
    uows: UnitOfWorkFactory, member_id: int, *, vouchers: bool = False
) -> list[Notification]:
    """A member's notifications, oldest first; without VOUCHER_ISSUED ones (the welcome gift's)
    unless asked."""
    async with uows() as uow:
        stmt = select(Notification).where(Notification.member_id == member_id)  # type: ignore[arg-type]
        if not vouchers:
            stmt = stmt.where(Notification.kind != Kind.VOUCHER_ISSUED.value)  # type: ignore[arg-type]
        return list((await uow.session.execute(stmt.order_by(Notification.id))).scalars())  # type: ignore[arg-type]


async def device_tokens(uows: UnitOfWorkFactory, member_id: int) -> list[str]:
    """A member's registered tokens."""
    async with uows() as uow:
        stmt = select(Device.token).where(Device.member_id == member_id).order_by(Device.id)  # type: ignore[arg-type]
        return list((await uow.session.execute(stmt)).scalars())
