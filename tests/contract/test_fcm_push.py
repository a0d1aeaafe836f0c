"""The sender through the real firebase-admin messaging code, against a fake FCM server.

Each test queues pushes in the database (both databases), runs `OutboxSender` with
`FcmPushSender` (firebase-admin's `send_each` posting to the fake) and checks the outbox,
the devices and what the fake received.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Iterator
from datetime import timedelta

import firebase_admin
import pytest
from firebase_admin import messaging
from google.auth.credentials import AnonymousCredentials

from backend.adapters.fcm_push import FcmPushSender
from backend.ids import global_id
from backend.rewards.notifications.outbox import OutboxStatus
from backend.rewards.notifications.sender import OutboxSender, SenderConfig
from tests.fake_fcm import FakeFcm
from tests.push_support import device_tokens, member_with_devices, outbox_rows, queue


@pytest.fixture
def fake() -> Iterator[FakeFcm]:
    """A fake FCM server for one test."""
    server = FakeFcm().start()
    yield server
    server.stop()


@pytest.fixture
def fcm(fake: FakeFcm) -> FcmPushSender:
    """The FCM adapter on a firebase-admin app with an offline credential, posting to the fake."""
    app = firebase_admin.initialize_app(
        AnonymousCredentials(),  # type: ignore[no-untyped-call]
        options={"projectId": "demo-rewards"},
        name=f"push-test-{uuid.uuid4().hex}",
    )
    return FcmPushSender(app, endpoint=fake.endpoint)


@pytest.fixture
def batches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of every `messaging.send_each` call (the real one still runs)."""
    sizes: list[int] = []
    real = messaging.send_each

    def spy(messages, dry_run=False, app=None):  # type: ignore[no-untyped-def]
        sizes.append(len(messages))
        return real(messages, dry_run=dry_run, app=app)

    monkeypatch.setattr(messaging, "send_each", spy)
    return sizes


def sender(uows, fcm, **config) -> OutboxSender:  # type: ignore[no-untyped-def]
    """A sender with a fixed jitter."""
    return OutboxSender(uows, fcm, SenderConfig(**config), rng=random.Random(7))


async def drain(the_sender: OutboxSender) -> int:
    """Run rounds until one claims nothing; return the rounds that did."""
    rounds = 0
    while (await the_sender.send_due()).claimed:
        rounds += 1
    return rounds


async def test_a_push_is_sent_with_its_notification_id_and_recorded(uows, fcm, fake, clock):
    # given a member with one device and a notification
    member_id = await member_with_devices(uows, "ana", ["ok-ana"])
    (notification_id,) = await queue(uows, member_id)
    # when the sender runs
    report = await sender(uows, fcm).send_due()
    # then FCM got it once, with the id the app dedupes on, at the v1 endpoint
    assert report.sent == 1 and report.calls == 1
    assert fake.delivered == {(global_id("Notification", notification_id), "ok-ana"): 1}
    assert fake.paths == {"/v1/projects/demo-rewards/messages:send"}
    (row,) = await outbox_rows(uows)
    assert row.status == OutboxStatus.SENT and row.attempts == 1
    assert row.fcm_message_id == "projects/demo-rewards/messages/1"
    assert row.sent_at == clock.now() and row.claim is None


async def test_an_unregistered_token_is_pruned_and_later_pushes_to_it_dropped(uows, fcm, fake):
    # given a member whose app was uninstalled on one of two devices, and two notifications
    member_id = await member_with_devices(uows, "ben", ["gone-ben", "ok-ben"])
    await queue(uows, member_id)
    # when the first is sent
    report = await sender(uows, fcm).send_due()
    # then the dead token is gone, its push FAILED with FCM's reason, the other device got it
    assert (report.sent, report.failed, report.pruned) == (1, 1, 1)
    assert await device_tokens(uows, member_id) == ["ok-ben"]
    gone, ok = await outbox_rows(uows)
    assert gone.status == OutboxStatus.FAILED and "UNREGISTERED" in (gone.last_error or "").upper()
    assert ok.status == OutboxStatus.SENT
    # and a new notification goes to the remaining device only
    await queue(uows, member_id)
    assert (await sender(uows, fcm).send_due()).sent == 1
    assert len(await outbox_rows(uows)) == 3


async def test_pushes_queued_before_the_token_was_pruned_are_dropped(uows, fcm, fake):
    # given two notifications queued for a dead token
    member_id = await member_with_devices(uows, "bo", ["gone-bo"])
    await queue(uows, member_id, count=2)
    # when the sender runs with batches of one
    await drain(sender(uows, fcm, batch_size=1))
    # then FCM was asked once; the second push was dropped as its device is gone
    assert fake.requests == 1
    first, second = await outbox_rows(uows)
    assert first.status == OutboxStatus.FAILED
    assert second.status == OutboxStatus.DROPPED and second.attempts == 0


async def test_an_invalid_token_is_pruned_but_a_refused_message_keeps_its_device(uows, fcm, fake):
    # given a token FCM says is not a token, and one whose message FCM refuses
    member_id = await member_with_devices(uows, "cy", ["bad-cy", "refused-cy"])
    await queue(uows, member_id)
    # when sent
    report = await sender(uows, fcm).send_due()
    # then both failed for good; only the invalid token is pruned
    assert (report.failed, report.pruned, report.retried) == (2, 1, 0)
    assert await device_tokens(uows, member_id) == ["refused-cy"]
    bad, refused = await outbox_rows(uows)
    assert "registration token" in (bad.last_error or "")
    assert refused.status == OutboxStatus.FAILED and "INVALID_ARGUMENT" in (
        refused.last_error or ""
    )


async def test_a_429_is_retried_after_its_retry_after_then_sent(uows, fcm, fake, clock):
    # given a push FCM answers with 429 and Retry-After: 30 the first time
    member_id = await member_with_devices(uows, "di", ["busy-di"])
    (notification_id,) = await queue(uows, member_id)
    the_sender = sender(uows, fcm, retry_base_seconds=1)
    # when the sender runs
    first = await the_sender.send_due()
    # then it waits at least the 30 s FCM asked for, not its own 1 s backoff
    assert first.retried == 1
    (row,) = await outbox_rows(uows)
    assert row.status == OutboxStatus.PENDING and row.attempts == 1
    assert row.not_before >= clock.now() + timedelta(seconds=30)
    assert "RESOURCE_EXHAUSTED" in (row.last_error or "")
    clock.advance(seconds=29)
    assert (await the_sender.send_due()).claimed == 0
    # and once the wait is over it is sent
    clock.advance(seconds=2)
    assert (await the_sender.send_due()).sent == 1
    (row,) = await outbox_rows(uows)
    assert row.status == OutboxStatus.SENT and row.attempts == 2
    assert fake.delivered == {(global_id("Notification", notification_id), "busy-di"): 1}


async def test_a_500_is_retried_with_growing_waits_then_given_up_with_the_reason(
    uows, fcm, fake, clock
):
    # given a push FCM always fails with 500, and at most 4 attempts
    member_id = await member_with_devices(uows, "ed", ["down-ed"])
    await queue(uows, member_id)
    the_sender = sender(uows, fcm, max_attempts=4, retry_base_seconds=10, retry_max_seconds=25)
    waits = []
    # when the sender tries again whenever the push is due
    for _ in range(3):
        assert (await the_sender.send_due()).retried == 1
        (row,) = await outbox_rows(uows)
        waits.append((row.not_before - clock.now()).total_seconds())
        clock.advance(seconds=waits[-1] + 0.001)
    report = await the_sender.send_due()
    # then the waits grew (10, 20, then capped at 25, each with jitter) and the 4th try gave up
    assert 5 <= waits[0] <= 10 and 10 <= waits[1] <= 20 and 12.5 <= waits[2] <= 25
    assert report.failed == 1
    (row,) = await outbox_rows(uows)
    assert row.status == OutboxStatus.FAILED and row.attempts == 4
    assert row.last_error == "gave up after 4 attempts; last transient: INTERNAL: Internal error."
    assert fake.requests == 4


async def test_1200_messages_go_in_three_send_each_calls_of_at_most_500(uows, fcm, fake, batches):
    # given 1,200 pushes: 120 notifications to each of 10 devices
    member_id = await member_with_devices(uows, "fay", [f"ok-fay-{i}" for i in range(10)])
    await queue(uows, member_id, count=120)
    # when one sender claims them all at once
    the_sender = sender(uows, fcm, batch_size=1200)
    report = await the_sender.send_due()
    # then firebase-admin was called three times, never with more than 500
    assert batches == [500, 500, 200] and report.sent == 1200
    assert len(fake.delivered) == 1200 and set(fake.delivered.values()) == {1}


async def test_a_sender_stopped_mid_batch_loses_nothing(uows, fcm, fake, clock):
    # given 600 pushes and an FCM that answers slowly
    member_id = await member_with_devices(uows, "gus", [f"ok-gus-{i}" for i in range(6)])
    ids = await queue(uows, member_id, count=100)
    fake.delay = 0.05
    first = sender(uows, fcm, batch_size=300)
    # when the sender is killed while its first batch is in flight (claims committed, no results)
    task = asyncio.create_task(first.run_forever())
    while fake.requests == 0:
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    fake.delay = 0
    claimed = [row for row in await outbox_rows(uows) if row.claim is not None]
    assert claimed and all(row.status == OutboxStatus.PENDING for row in claimed)
    # and a new sender starts once the dead one's lease is over
    clock.advance(seconds=121)
    await drain(sender(uows, fcm, batch_size=300))
    # then every message was delivered at least once and every row is SENT
    expected = {(global_id("Notification", n), f"ok-gus-{i}") for n in ids for i in range(6)}
    await asyncio.sleep(0.5)  # the killed batch's threads finish their requests
    assert set(fake.delivered) == expected
    assert all(row.status == OutboxStatus.SENT for row in await outbox_rows(uows))


async def test_two_senders_at_once_never_send_a_message_twice(uows, fcm, fake):
    # given 1,000 pushes
    member_id = await member_with_devices(uows, "hal", [f"ok-hal-{i}" for i in range(10)])
    await queue(uows, member_id, count=100)
    one, two = sender(uows, fcm, batch_size=50), sender(uows, fcm, batch_size=50)
    # when two senders drain the outbox at the same time
    rounds = await asyncio.gather(drain(one), drain(two))
    # then both worked, every message went out exactly once
    assert all(rounds)
    assert len(fake.delivered) == 1000 and set(fake.delivered.values()) == {1}
    assert {row.status for row in await outbox_rows(uows)} == {OutboxStatus.SENT}
