"""Notification mutations: devices register for pushes; members mark their notifications read or opened."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry

from backend.api.context import Info
from backend.api.errors import payload_error
from backend.api.notifications.types import Device, DevicePlatform, Notification
from backend.api.permissions import IsMember, RegisterDeviceRateLimit
from backend.api.types import parse_global_id
from backend.api.units import perform
from backend.rewards.errors import NotFound
from backend.rewards.notifications.rules import Platform
from backend.rewards.notifications.services import (
    mark_notification,
    register_device,
    unregister_device,
)
from backend.rewards.ports import Principal
from backend.rewards.uow import UnitOfWork

RegisterDeviceError = payload_error(
    "RegisterDevice",
    ["NOT_ENROLLED", "MEMBER_INACTIVE", "INVALID_TOKEN", "INVALID_APP_VERSION"],
    "the registration",
)
UnregisterDeviceError = payload_error(
    "UnregisterDevice", ["NOT_ENROLLED", "INVALID_TOKEN"], "the unregistration"
)
MarkNotificationError = payload_error(
    "MarkNotification", ["NOT_ENROLLED", "UNKNOWN_NOTIFICATION"], "marking the notification"
)
TOKEN = strawberry.argument(
    description="The FCM registration token (1 to 4096 printable ASCII characters)."
)
NOTIFICATION_ID = strawberry.argument(description="The notification's id.")


@strawberry.input(description="A device that should receive your pushes.")
class RegisterDeviceInput:
    token: str = strawberry.field(
        description="The FCM registration token from the Firebase SDK (1 to 4096 printable "
        "ASCII characters). Registering it again refreshes it; one registered by another "
        "member moves to you."
    )
    platform: DevicePlatform = strawberry.field(description="iOS, Android or the web.")  # type: ignore[valid-type]
    app_version: str | None = strawberry.field(
        default=None, description="The app's version, up to 32 characters, e.g. `3.2.1`."
    )


@strawberry.type(description="Result of `registerDevice`.")
class RegisterDevicePayload:
    device: Device | None = strawberry.field(description="The registered device.")
    errors: list[RegisterDeviceError] = strawberry.field(  # type: ignore[valid-type]
        description="Why it was refused; empty on success."
    )


@strawberry.type(description="Result of `unregisterDevice`.")
class UnregisterDevicePayload:
    removed: bool = strawberry.field(
        description="Whether one of your devices had the token (false: nothing to remove)."
    )
    errors: list[UnregisterDeviceError] = strawberry.field(  # type: ignore[valid-type]
        description="Why it was refused; empty on success."
    )


@strawberry.type(description="Result of `markNotificationRead` and `markNotificationOpened`.")
class MarkNotificationPayload:
    notification: Notification | None = strawberry.field(
        description="The notification with its read and opened times."
    )
    errors: list[MarkNotificationError] = strawberry.field(  # type: ignore[valid-type]
        description="Why it was refused; empty on success."
    )


def notification_pk(node_id: str) -> int:
    """The row id of a notification's global id, or UNKNOWN_NOTIFICATION."""
    parsed = parse_global_id(node_id)
    if parsed is None or parsed[0] != "Notification":
        raise NotFound("UNKNOWN_NOTIFICATION", "You have no notification with that id.", field="id")
    return parsed[1]


async def _mark(info: Info, node_id: strawberry.ID, *, opened: bool) -> MarkNotificationPayload:
    """Mark a notification read (and opened)."""

    async def use_case(uow: UnitOfWork, member: Principal) -> Any:
        """Parse the id inside the attempt, so a bad one is a typed error too."""
        pk = notification_pk(str(node_id))
        return await mark_notification(uow, uid=member.uid, notification_id=pk, opened=opened)

    row, errors = await perform(info, use_case, MarkNotificationError)
    return MarkNotificationPayload(
        notification=Notification.of(row) if row is not None else None, errors=errors
    )


@strawberry.type(description="Notification mutations.")
class NotificationsMutation:
    @strawberry.mutation(
        description="Register this device for pushes (call it whenever the app gets a token). "
        "A member keeps up to 10 devices; one more drops the one seen longest ago.",
        permission_classes=[IsMember, RegisterDeviceRateLimit],
    )
    async def register_device(
        self,
        info: Info,
        input: Annotated[RegisterDeviceInput, strawberry.argument(description="The device.")],
    ) -> RegisterDevicePayload:
        """Register the signed-in member's device."""
        platform, version = Platform(input.platform), input.app_version
        row, errors = await perform(
            info,
            lambda uow, p: register_device(
                uow, uid=p.uid, token=input.token, platform=platform, app_version=version
            ),
            RegisterDeviceError,
        )
        return RegisterDevicePayload(device=Device.of(row) if row else None, errors=errors)

    @strawberry.mutation(
        description="Stop pushes to a device of yours (e.g. on sign-out).",
        permission_classes=[IsMember, RegisterDeviceRateLimit],
    )
    async def unregister_device(
        self, info: Info, token: Annotated[str, TOKEN]
    ) -> UnregisterDevicePayload:
        """Forget one of the signed-in member's devices."""
        removed, errors = await perform(
            info,
            lambda uow, p: unregister_device(uow, uid=p.uid, token=token),
            UnregisterDeviceError,
        )
        return UnregisterDevicePayload(removed=bool(removed), errors=errors)

    @strawberry.mutation(
        description="Mark one of your notifications read (the first time is kept).",
        permission_classes=[IsMember],
    )
    async def mark_notification_read(
        self, info: Info, id: Annotated[strawberry.ID, NOTIFICATION_ID]
    ) -> MarkNotificationPayload:
        """Mark a notification read."""
        return await _mark(info, id, opened=False)

    @strawberry.mutation(
        description="Record that you opened one of your notifications (from the push or the "
        "inbox); it counts as read too. The first time is kept.",
        permission_classes=[IsMember],
    )
    async def mark_notification_opened(
        self, info: Info, id: Annotated[strawberry.ID, NOTIFICATION_ID]
    ) -> MarkNotificationPayload:
        """Mark a notification opened."""
        return await _mark(info, id, opened=True)
