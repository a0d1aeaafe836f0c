"""Notifications on both databases: transactional hooks, marketing rules, devices, claims."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from backend.db.tables import Device, Member, Notification, PushOutbox
from backend.rewards.errors import DomainError
from backend.rewards.jobs import settle_due
from backend.rewards.notifications.outbox import OutboxStatus, Settled, claim, settle
from backend.rewards.notifications.rules import Kind, Platform, PushStatus
from backend.rewards.notifications.sender import OutboxSender
from backend.rewards.notifications.services import (
    notify,
    register_device,
    unregister_device,
)
from backend.rewards.purchases.services import record_purchase
from backend.rewards.uow import UnitOfWork
from tests.fakes import RecordingPush
from tests.helpers import new_member, purchase
from tests.push_support import (
    device_tokens,
    member_with_devices,
    notifications_of,
    outbox_rows,
    queue,
)

SURPRISE = {"message": "Double points this weekend"}


async def marketing(uows, member_id: int) -> Notification:
    """Send one marketing notification."""

    async def use_case(uow: UnitOfWork) -> Notification:
        found = await notify(uow, member_id=member_id, kind=Kind.SURPRISE, params=SURPRISE)
        await uow.commit()
        return found

    return await uows.run(use_case)


async def test_a_purchase_notifies_points_earned_in_the_members_language(uows):
    # given a Dutch-speaking member with a phone
    member_id = await member_with_devices(uows, "noa", ["ok-noa"], locale="nl-NL")
    async with uows() as uow:
        card = (await uow.session.get_one(Member, member_id)).card_number
    # when a store records an order
    await uows.run(lambda uow: record_purchase(uow, data=purchase("A-1", card, "120"), actor="pos"))
    # then the inbox has it in Dutch, and one push is queued for the phone
    (note,) = await notifications_of(uows, member_id)
    assert (note.kind, note.language, note.push_status) == ("POINTS_EARNED", "nl", "QUEUED")
    assert note.title == "Je hebt 120 punten verdiend"
    assert note.body == "Bestelling A-1 leverde je 120 punten op."
    (row,) = await outbox_rows(uows)
    assert (row.notification_id, row.status, row.not_before) == (
        note.id,
        "PENDING",
        note.created_at,
    )


async def test_reaching_a_tier_notifies_once_and_without_a_device_only_the_inbox(uows, clock):
    # given a member without devices whose purchase will qualify for silver once released
    member = await new_member(uows, "ola")
    await uows.run(
        lambda uow: record_purchase(
            uow, data=purchase("B-1", member.card_number, "600"), actor="pos"
        )
    )
    # when the return window ends and the job releases the points
    clock.advance(days=15)
    await settle_due(uows)
    await settle_due(uows)
    # then the inbox says so (no push: NO_DEVICE), after the points-earned one
    earned, reached = await notifications_of(uows, member.id)
    assert earned.kind == "POINTS_EARNED" and reached.kind == "TIER_REACHED"
    assert reached.title == "Welcome to Silver" and reached.push_status == "NO_DEVICE"
    assert reached.push_at is None and await outbox_rows(uows) == []


async def test_marketing_needs_consent_but_the_inbox_keeps_the_message(uows):
    member_id = await member_with_devices(uows, "pia", ["ok-pia"], marketing_consent=False)
    note = await marketing(uows, member_id)
    assert note.push_status == PushStatus.NO_CONSENT and await outbox_rows(uows) == []
    assert [n.id for n in await notifications_of(uows, member_id)] == [note.id]


async def test_marketing_in_quiet_hours_is_deferred_to_the_morning_not_dropped(uows, clock):
    # given a consenting member in Kyiv (UTC+3 in June); it is 19:00 UTC = 22:00 there
    member_id = await member_with_devices(
        uows, "rui", ["ok-rui"], marketing_consent=True, time_zone="Europe/Kyiv"
    )
    clock.advance(hours=7)
    # when marketing notifies them
    note = await marketing(uows, member_id)
    # then the push waits for 09:00 Kyiv time (06:00 UTC next day)
    morning = clock.now().replace(hour=6) + timedelta(days=1)
    assert (note.push_status, note.push_at) == (PushStatus.QUEUED, morning)
    push = RecordingPush()
    sender = OutboxSender(uows, push)
    assert (await sender.send_due()).claimed == 0
    clock.advance(hours=10, minutes=59)
    assert (await sender.send_due()).claimed == 0
    clock.advance(minutes=1)
    assert (await sender.send_due()).sent == 1
    assert push.messages[0].title == "A surprise for you"


async def test_transactional_pushes_skip_quiet_hours_and_the_cap(uows, clock):
    member_id = await member_with_devices(uows, "sol", ["ok-sol"], time_zone="Europe/Kyiv")
    clock.advance(hours=7)  # 22:00 in Kyiv
    await queue(uows, member_id, count=5)
    rows = await outbox_rows(uows)
    assert len(rows) == 5 and all(r.not_before == clock.now() for r in rows)


async def test_the_weekly_cap_holds_then_frees_up(uows, clock):
    # given a consenting member with a device, in the daytime
    member_id = await member_with_devices(uows, "tom", ["ok-tom"], marketing_consent=True)
    statuses = [(await marketing(uows, member_id)).push_status for _ in range(4)]
    assert statuses == ["QUEUED"] * 3 + ["CAPPED"]
    clock.advance(days=6, hours=23)
    assert (await marketing(uows, member_id)).push_status == "CAPPED"
    clock.advance(hours=1, minutes=1)
    assert (await marketing(uows, member_id)).push_status == "QUEUED"
    assert len(await notifications_of(uows, member_id)) == 6  # the inbox has every one


async def test_the_cap_holds_under_concurrent_marketing_sends(uows):
    member_id = await member_with_devices(uows, "uma", ["ok-uma"], marketing_consent=True)
    notes = await asyncio.gather(*(marketing(uows, member_id) for _ in range(12)))
    assert sorted(n.push_status for n in notes) == ["CAPPED"] * 9 + ["QUEUED"] * 3
    assert len(await outbox_rows(uows)) == 3


async def test_a_token_moves_to_the_member_who_registers_it_last(uows):
    # given Vic's phone with a queued push, then Wes signs in on that phone
    vic = await member_with_devices(uows, "vic", ["ok-shared"])
    await queue(uows, vic)
    wes = await member_with_devices(uows, "wes", ["ok-shared"])
    # then the token is Wes's alone and Vic's queued push is dropped, never sent to Wes
    assert await device_tokens(uows, vic) == [] and await device_tokens(uows, wes) == ["ok-shared"]
    push = RecordingPush()
    report = await OutboxSender(uows, push).send_due()
    assert report.claimed == 0 and push.messages == []
    (row,) = await outbox_rows(uows)
    assert row.status == OutboxStatus.DROPPED


async def test_a_member_keeps_the_ten_devices_seen_last(uows, clock):
    member_id = await member_with_devices(uows, "xia", [])
    for i in range(12):
        clock.advance(minutes=1)
        await uows.run(
            lambda uow, i=i: register_device(
                uow, uid="xia", token=f"ok-{i}", platform=Platform.IOS, app_version=None
            )
        )
    clock.advance(minutes=1)  # seeing device 0 again keeps it
    await uows.run(
        lambda uow: register_device(
            uow, uid="xia", token="ok-0", platform=Platform.IOS, app_version="2.0"
        )
    )
    assert sorted(await device_tokens(uows, member_id)) == sorted(
        ["ok-0", *(f"ok-{i}" for i in range(3, 12))]
    )


async def test_two_members_registering_one_token_at_once_end_with_one_owner(uows):
    await new_member(uows, "yan")
    await new_member(uows, "zoe")
    await asyncio.gather(
        *(
            uows.run(
                lambda uow, uid=uid: register_device(
                    uow, uid=uid, token="ok-race", platform=Platform.WEB, app_version=None
                )
            )
            for uid in ["yan", "zoe"] * 4
        )
    )
    async with uows() as uow:
        count = (await uow.session.execute(select(func.count()).select_from(Device))).scalar()
    assert count == 1


async def test_unregistering_forgets_only_the_callers_device(uows):
    ann = await member_with_devices(uows, "ann", ["ok-ann"])
    await member_with_devices(uows, "bob", ["ok-bob"])
    assert not await uows.run(lambda uow: unregister_device(uow, uid="ann", token="ok-bob"))
    assert await uows.run(lambda uow: unregister_device(uow, uid="ann", token="ok-ann"))
    assert await device_tokens(uows, ann) == []
    assert not await uows.run(lambda uow: unregister_device(uow, uid="ann", token="ok-ann"))


async def test_a_claim_is_held_for_its_lease_and_a_late_sender_changes_nothing(uows, clock):
    # given one queued push claimed by a sender that then stalls past its lease
    member_id = await member_with_devices(uows, "cat", ["ok-cat"])
    await queue(uows, member_id)
    lease = timedelta(seconds=60)
    async with uows() as uow:
        stale, (row,) = await claim(uow.session, now=uow.now, lease=lease, limit=10)
        await uow.commit()
    async with uows() as uow:
        assert (await claim(uow.session, now=uow.now, lease=lease, limit=10))[1] == []
    # when another sender takes it over after the lease and sends it
    clock.advance(seconds=61)
    async with uows() as uow:
        fresh, (again,) = await claim(uow.session, now=uow.now, lease=lease, limit=10)
        await settle(
            uow.session,
            fresh,
            [Settled(again.id, OutboxStatus.SENT, message_id="m/2")],
            now=uow.now,
        )
        await uow.commit()
    # then the stale sender's late answer is ignored
    async with uows() as uow:
        failed = Settled(row.id, OutboxStatus.FAILED, error="late")
        await settle(uow.session, stale, [failed], now=uow.now)
        await uow.commit()
    (stored,) = await outbox_rows(uows)
    assert (stored.status, stored.fcm_message_id, stored.attempts) == ("SENT", "m/2", 1)


async def test_a_refused_purchase_writes_no_notification(uows):
    member = await new_member(uows, "dan")
    bad = purchase("C-1", member.card_number, "100", currency="XXX")
    before = await _counts(uows)
    with pytest.raises(DomainError) as refused:
        await uows.run(lambda uow: record_purchase(uow, data=bad, actor="pos"))
    assert refused.value.code == "UNKNOWN_CURRENCY"
    assert await _counts(uows) == before


async def _counts(uows) -> tuple[int, int]:
    """Notifications and outbox rows stored."""
    async with uows() as uow:
        total = (await uow.session.execute(select(func.count()).select_from(Notification))).scalar()
        pushes = (await uow.session.execute(select(func.count()).select_from(PushOutbox))).scalar()
    return int(total or 0), int(pushes or 0)


async def test_an_idle_sender_reads_but_never_opens_a_write_transaction(uows, database, clock):
    # given a push due only tomorrow morning, and a sender that peeks through the readers
    member_id = await member_with_devices(uows, "eve", ["ok-eve"], marketing_consent=True)
    clock.advance(hours=10)  # 22:00 UTC: quiet hours
    await marketing(uows, member_id)
    writes: list[str] = []
    listen = lambda *args: writes.append(args[2])  # noqa: E731 - the statement text
    event.listen(database.writer.sync_engine, "before_cursor_execute", listen)
    try:
        sender = OutboxSender(uows, RecordingPush(), reader=database.reader)
        assert (await sender.send_due()).claimed == 0
    finally:
        event.remove(database.writer.sync_engine, "before_cursor_execute", listen)
    # then nothing touched the writers (SQLite would take its write lock for a claim)
    assert writes == []
    clock.advance(hours=12)
    assert (await sender.send_due()).sent == 1
