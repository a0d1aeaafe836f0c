"""Notification types: inbox messages and registered devices, converted from rows."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import strawberry
from strawberry import relay

from backend.api.context import Info
from backend.api.types import parse_pk
from backend.rewards.notifications.rules import Kind, Platform
from backend.rewards.queries import MemberByUid

NotificationKind = strawberry.enum(
    Kind,
    name="NotificationKind",
    description="What a notification is about: POINTS_EARNED (a purchase earned points), "
    "VOUCHER_ISSUED (a redemption or a gift put a voucher in the wallet), TIER_REACHED (a "
    "higher tier), SURPRISE (a marketing surprise), DRAW_WON (a ticket won a prize draw), "
    "BIRTHDAY_POINTS and BIRTHDAY_VOUCHER (the birthday gift), POINTS_EXPIRING (points expire "
    "soon), TIER_NUDGE (close to the next tier), CLUB_RENEWAL (a club membership ends soon).",
)
DevicePlatform = strawberry.enum(
    Platform, name="DevicePlatform", description="Where a push token comes from: IOS, ANDROID, WEB."
)


@strawberry.type(
    description="A message in the member's inbox; the same text was pushed to their devices "
    "(the push's data carries this `id` as `notificationId`, so the app can show it once)."
)
class Notification(relay.Node):
    id: relay.NodeID[int]
    kind: NotificationKind = strawberry.field(description="What it is about.")  # type: ignore[valid-type]
    title: str = strawberry.field(description="Title, in the member's language when written.")
    body: str = strawberry.field(description="Text, in the member's language when written.")
    language: str = strawberry.field(description="Language of the texts (`en`, `ar`, `uk`, `nl`).")
    deep_link: str = strawberry.field(
        description="Where the app goes when it is opened, e.g. `rewards://vouchers/12`, "
        "`rewards://points`, `rewards://tier`, `rewards://inbox`."
    )
    reward: str | None = strawberry.field(
        description="What the member got (e.g. the voucher's offer), if anything."
    )
    created_at: datetime = strawberry.field(description="When it was written.")
    read_at: datetime | None = strawberry.field(description="When it was first marked read.")
    opened_at: datetime | None = strawberry.field(
        description="When the member first opened it (from the push or the inbox)."
    )
    member_id: strawberry.Private[int]

    @classmethod
    def of(cls, row: Any) -> Notification:
        """Convert a notification row."""
        return cls(
            id=row.id,
            kind=Kind(row.kind),
            title=row.title,
            body=row.body,
            language=row.language,
            deep_link=row.deep_link,
            reward=row.reward,
            created_at=row.created_at,
            read_at=row.read_at,
            opened_at=row.opened_at,
            member_id=row.member_id,
        )

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Notification | None]:
        """Notifications by id: only the signed-in member's own."""
        principal = info.context.principal
        member = await info.context.loaders.read(MemberByUid(principal.uid)) if principal else None
        rows = await info.context.loaders.notification.load_many(
            [parse_pk(i) or 0 for i in node_ids]
        )
        mine = member.id if member is not None else None
        return [cls.of(r) if r is not None and r.member_id == mine else None for r in rows]


@strawberry.type(description="A device of the member that receives pushes.")
class Device:
    platform: DevicePlatform = strawberry.field(description="iOS, Android or the web.")  # type: ignore[valid-type]
    app_version: str | None = strawberry.field(description="The app version it reported.")
    registered_at: datetime = strawberry.field(description="When it was first registered.")
    last_seen_at: datetime = strawberry.field(description="When it was last registered.")

    @classmethod
    def of(cls, row: Any) -> Device:
        """Convert a device row."""
        return cls(
            platform=Platform(row.platform),
            app_version=row.app_version,
            registered_at=row.created_at,
            last_seen_at=row.last_seen_at,
        )
