"""Live member events: fan-out to this worker's subscriptions, and through Redis to every worker's.

In process (the default) a committed transaction's events go straight to the subscriptions of
the worker that committed it. With `REDIS_URL`, every worker publishes to one Redis channel and
listens to it, so a member connected to any worker hears a change made through any other; the
publishing worker hears its own message back like the others (delivery is never doubled).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

import coredis

from backend.rewards.events import MemberEvent, NotificationReceived, PointsChanged, TierChanged

log = logging.getLogger("rewards.live")

QUEUE_SIZE = 100  # events waiting for one slow subscription; beyond it the oldest are dropped
REDIS_TIMEOUT_SECONDS = 0.25  # a publish slower than this counts as Redis being down
OUTAGE_PAUSE_SECONDS = 5.0  # after a failed publish, deliver locally this long before asking again
READY_WAIT_SECONDS = 2.0  # how long the first subscription waits for the listener's first try
RECONNECT_SECONDS = 1.0
EVENT_TYPES: dict[str, type[MemberEvent]] = {
    t.__name__: t for t in (PointsChanged, TierChanged, NotificationReceived)
}


class Subscribers:
    """This worker's open subscriptions by member: each member's events reach only their queues."""

    def __init__(self, queue_size: int = QUEUE_SIZE) -> None:
        self._queue_size = queue_size
        self._queues: dict[int, set[asyncio.Queue[MemberEvent]]] = {}

    def deliver(self, events: Sequence[MemberEvent]) -> None:
        """Put each event in the queues of its member's subscriptions (none: it is dropped)."""
        for event in events:
            for queue in self._queues.get(event.member_id, ()):
                if queue.full():  # a subscriber that stopped reading loses its oldest news
                    queue.get_nowait()
                    log.warning("a live subscription of member %s fell behind", event.member_id)
                queue.put_nowait(event)

    @contextlib.asynccontextmanager
    async def subscribe(self, member_id: int) -> AsyncIterator[AsyncIterator[MemberEvent]]:
        """Register a queue for the member while the block runs; iterate it for their events."""
        queue: asyncio.Queue[MemberEvent] = asyncio.Queue(self._queue_size)
        self._queues.setdefault(member_id, set()).add(queue)
        try:
            yield _drain(queue)
        finally:
            queues = self._queues[member_id]
            queues.discard(queue)
            if not queues:
                del self._queues[member_id]

    def count(self, member_id: int) -> int:
        """Open subscriptions of one member on this worker."""
        return len(self._queues.get(member_id, ()))


async def _drain(queue: asyncio.Queue[MemberEvent]) -> AsyncIterator[MemberEvent]:
    """The queue's events, as they come."""
    while True:
        yield await queue.get()


class LocalEvents:
    """In-process fan-out: one worker, or several whose members need only their own worker's news."""

    def __init__(self) -> None:
        self.subscribers = Subscribers()

    async def publish(self, events: Sequence[MemberEvent]) -> None:
        """Deliver to this worker's subscriptions."""
        self.subscribers.deliver(events)

    def subscribe(
        self, member_id: int
    ) -> contextlib.AbstractAsyncContextManager[AsyncIterator[MemberEvent]]:
        """The member's events on this worker."""
        return self.subscribers.subscribe(member_id)

    async def close(self) -> None:
        """Nothing to stop."""


def encode(events: Sequence[MemberEvent]) -> bytes:
    """One Redis message for one committed transaction's events."""
    return json.dumps(
        [{"type": type(e).__name__, **dataclasses.asdict(e)} for e in events]
    ).encode()


def decode(message: bytes | str) -> list[MemberEvent]:
    """The events of one Redis message (anything malformed raises ValueError, TypeError, KeyError)."""
    events = []
    for item in json.loads(message):
        fields = dict(item)
        events.append(EVENT_TYPES[fields.pop("type")](**fields))
    return events


class RedisEvents:
    """Fan-out through one Redis pub/sub channel that every worker publishes to and listens on.

    The listener starts with the worker's first subscription and reconnects after an outage.
    While Redis is down, events are delivered to this worker's subscriptions only (a member
    connected elsewhere misses them: the app reads the truth when it reconnects).
    """

    def __init__(self, url: str, key_prefix: str) -> None:
        self.subscribers = Subscribers()
        self.channel = f"{key_prefix}:member-events"
        self._client: coredis.Redis[bytes] = coredis.Redis.from_url(
            url, connect_timeout=REDIS_TIMEOUT_SECONDS, stream_timeout=REDIS_TIMEOUT_SECONDS
        )
        self._listener: asyncio.Task[None] | None = None
        self._settled = asyncio.Event()  # the listener's first try ended: subscribed, or failed
        self._paused_until = 0.0

    async def publish(self, events: Sequence[MemberEvent]) -> None:
        """Publish to every worker; while Redis is down, deliver to this worker's subscriptions."""
        if time.monotonic() >= self._paused_until:
            try:
                async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
                    await self._client.publish(self.channel, encode(events))
                return
            except (coredis.exceptions.RedisError, OSError, TimeoutError) as error:
                self._paused_until = time.monotonic() + OUTAGE_PAUSE_SECONDS
                log.warning(
                    "live updates reach only this worker for the next %g s: Redis unavailable (%s)",
                    OUTAGE_PAUSE_SECONDS,
                    error or type(error).__name__,
                )
        self.subscribers.deliver(events)

    @contextlib.asynccontextmanager
    async def subscribe(self, member_id: int) -> AsyncIterator[AsyncIterator[MemberEvent]]:
        """The member's events from every worker; the first one waits until the listener listens.

        So a change committed after the subscription is registered is heard, wherever it is made.
        """
        if self._listener is None:
            self._listener = asyncio.create_task(self._listen())
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(READY_WAIT_SECONDS):
                await self._settled.wait()
        async with self.subscribers.subscribe(member_id) as events:
            yield events

    async def _listen(self) -> None:
        """Deliver every message of the channel to this worker's subscriptions, reconnecting."""
        while True:
            try:
                async with self._client.pubsub(channels=[self.channel]) as pubsub:
                    async for message in pubsub:
                        if message["type"] == "subscribe":
                            self._settled.set()
                        elif message["type"] == "message":
                            self._deliver(message["data"])
            except asyncio.CancelledError:
                raise
            except Exception as error:  # any outage: log, wait, listen again
                log.warning("live updates: Redis listener stopped (%s); reconnecting", error)
            self._settled.set()  # subscriptions do not wait for an outage to end
            await asyncio.sleep(RECONNECT_SECONDS)

    def _deliver(self, data: Any) -> None:
        """Decode one message and deliver it; a malformed one is logged and skipped."""
        try:
            events = decode(data)
        except (ValueError, TypeError, KeyError) as error:
            log.warning("live updates: skipped a malformed message (%s)", error)
            return
        self.subscribers.deliver(events)

    async def close(self) -> None:
        """Stop listening and close the connections to Redis."""
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        self._client.connection_pool.disconnect()


def live_events_from_settings(redis_url: str | None, key_prefix: str) -> LocalEvents | RedisEvents:
    """In-process fan-out, or Redis pub/sub shared by every worker when REDIS_URL is set."""
    return RedisEvents(redis_url, key_prefix) if redis_url else LocalEvents()
