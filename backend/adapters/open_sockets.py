"""Open WebSocket connections per member and per client address, held to caps.

In process (the default) each worker counts its own. With `REDIS_URL` every worker counts in one
sorted set per member or address: each open connection is a member whose score is when its lease
ends. The worker that holds it renews its leases on a heartbeat, so the slots of a worker that
dies without closing them are free again within `LEASE_SECONDS`. While Redis is down, caps fail
open like the rate limits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import Counter
from typing import Literal

import coredis

from backend.adapters.rate_limits import address_key

log = logging.getLogger("rewards.rate_limits")

Kind = Literal["member", "address"]
LEASE_SECONDS = 60.0  # a slot not renewed for this long is free (its worker died)
REDIS_TIMEOUT_SECONDS = 0.25  # a Redis that answers slower than this counts as down
OUTAGE_PAUSE_SECONDS = 5.0  # after a storage error, allow everything this long before asking again
RENEW_CHUNK = 500  # slots renewed per Redis call

# Drop lapsed leases, then hold a slot if fewer than the cap are held. Atomic, as a script.
ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
"""
# Extend the lease of each slot (KEYS[i] holds ARGV[i + 2]); one lost in an outage is held again.
RENEW = """
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, ARGV[1], ARGV[i + 2])
  redis.call('PEXPIRE', key, ARGV[2])
end
return #KEYS
"""


def _identity(kind: Kind, identity: str) -> str:
    """What a connection counts against: the member's uid, or its address (an IPv6 one per /64)."""
    return f"{kind}:{address_key(identity) if kind == 'address' else identity}"


class LocalSlots:
    """This worker's open connections."""

    def __init__(self) -> None:
        self._open: Counter[str] = Counter()
        self._held: dict[str, str] = {}  # slot → what it counts against

    async def acquire(self, kind: Kind, identity: str, limit: int) -> str | None:
        """Hold a slot if fewer than `limit` are held."""
        key = _identity(kind, identity)
        if self._open[key] >= limit:
            return None
        slot = uuid.uuid4().hex
        self._open[key] += 1
        self._held[slot] = key
        return slot

    async def release(self, slot: str) -> None:
        """Give the slot back."""
        key = self._held.pop(slot, None)
        if key is not None:
            self._open[key] -= 1
            if not self._open[key]:
                del self._open[key]

    async def close(self) -> None:
        """Nothing to stop."""


class RedisSlots:
    """Open connections of every worker, as leases in Redis sorted sets."""

    def __init__(self, url: str, key_prefix: str, *, lease_seconds: float = LEASE_SECONDS) -> None:
        self._prefix = f"{key_prefix}:open-sockets"
        self._lease = lease_seconds
        self._client: coredis.Redis[bytes] = coredis.Redis.from_url(
            url, connect_timeout=REDIS_TIMEOUT_SECONDS, stream_timeout=REDIS_TIMEOUT_SECONDS
        )
        self._acquire = self._client.register_script(ACQUIRE)
        self._renew = self._client.register_script(RENEW)
        self._held: dict[str, str] = {}  # slot → its Redis key
        self._heartbeat: asyncio.Task[None] | None = None
        self._paused_until = 0.0

    async def acquire(self, kind: Kind, identity: str, limit: int) -> str | None:
        """Hold a slot shared by every worker if fewer than `limit` are held (open while Redis is down)."""
        key, slot = f"{self._prefix}:{_identity(kind, identity)}", uuid.uuid4().hex
        if time.monotonic() >= self._paused_until:
            now = time.time()
            args = (now, limit, now + self._lease, slot, int(self._lease * 1000))
            try:
                async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
                    if not await self._acquire(keys=[key], args=args):
                        return None
            except (coredis.exceptions.RedisError, OSError, TimeoutError) as error:
                self._outage(error)
        self._held[slot] = key  # renewed by the heartbeat (held again once Redis is back)
        if self._heartbeat is None:
            self._heartbeat = asyncio.create_task(self._beat())
        return slot

    async def release(self, slot: str) -> None:
        """Give the slot back; if Redis does not answer, its lease runs out instead."""
        key = self._held.pop(slot, None)
        if key is None:
            return
        with contextlib.suppress(coredis.exceptions.RedisError, OSError, TimeoutError):
            async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
                await self._client.zrem(key, [slot])

    async def renew(self) -> None:
        """Extend the lease of every slot this worker holds."""
        expiry, lease_ms = time.time() + self._lease, int(self._lease * 1000)
        held = list(self._held.items())
        for start in range(0, len(held), RENEW_CHUNK):
            chunk = held[start : start + RENEW_CHUNK]
            await self._renew(
                keys=[key for _, key in chunk], args=(expiry, lease_ms, *(s for s, _ in chunk))
            )

    async def _beat(self) -> None:
        """Renew the leases three times per lease, so one missed beat loses nothing."""
        while True:
            await asyncio.sleep(self._lease / 3)
            try:
                await self.renew()
            except (coredis.exceptions.RedisError, OSError, TimeoutError) as error:
                log.warning("open WebSocket connections not renewed in Redis (%s)", error)

    def _outage(self, error: BaseException) -> None:
        """Allow connections for a while without asking Redis; say so once."""
        self._paused_until = time.monotonic() + OUTAGE_PAUSE_SECONDS
        log.warning(
            "WebSocket connection caps not enforced for the next %g s: Redis unavailable (%s)",
            OUTAGE_PAUSE_SECONDS,
            error or type(error).__name__,
        )

    async def close(self) -> None:
        """Stop renewing, give back what this worker holds, close the connections to Redis."""
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
            self._heartbeat = None
        for slot in list(self._held):
            await self.release(slot)
        self._client.connection_pool.disconnect()


def slots_from_settings(redis_url: str | None, key_prefix: str) -> LocalSlots | RedisSlots:
    """In-process counts, or Redis leases shared by every worker when REDIS_URL is set."""
    return RedisSlots(redis_url, key_prefix) if redis_url else LocalSlots()
