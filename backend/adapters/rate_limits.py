"""Rate limits on the `limits` library: counters in process by default, in Redis when configured."""

from __future__ import annotations

import ipaddress
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping

from limits import parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.errors import StorageError

from backend.settings import Settings

log = logging.getLogger("rewards.rate_limits")

AUTH_FAILURES = "auth_failures"
REDIS_TIMEOUT_SECONDS = 0.25  # a Redis that answers slower than this counts as down
OUTAGE_PAUSE_SECONDS = 5.0  # after a storage error, allow everything this long before asking again
MAX_BLOCKED_ADDRESSES = 10_000  # bounds the per-worker memory of refused addresses


class LimitsRateLimiter:
    """Sliding-window counters per (action, identity); fails open while the storage is down."""

    def __init__(
        self,
        storage: Storage,
        rates: Mapping[str, str],
        *,
        outage_pause: float = OUTAGE_PAUSE_SECONDS,
    ) -> None:
        self._window = SlidingWindowCounterRateLimiter(storage)
        self._rates = {action: parse_many(rate) for action, rate in rates.items()}
        self._outage_pause = outage_pause
        self._paused_until = 0.0
        self._blocked: dict[str, float] = {}  # address → monotonic end of its block, this worker

    async def hit(self, action: str, identity: str) -> int | None:
        """Count one action: None if allowed, else whole seconds until the window has room."""
        return await self._guarded(lambda: self._hit(action, identity))

    async def hit_address(self, action: str, address: str) -> int | None:
        """Count one action from a client address (an IPv6 one per /64)."""
        return await self.hit(action, address_key(address))

    async def auth_blocked(self, address: str) -> int | None:
        """Seconds this worker still refuses the address; no storage call, as every request asks."""
        if not self._blocked:  # the usual case: no need to parse the address
            return None
        key = address_key(address)
        until = self._blocked.get(key)
        if until is None:
            return None
        left = until - time.monotonic()
        if left <= 0:
            del self._blocked[key]
            return None
        return math.ceil(left)

    async def auth_failed(self, address: str) -> int | None:
        """Count a refused token (shared count); over the limit, this worker blocks the address."""
        key = address_key(address)
        wait = await self.hit(AUTH_FAILURES, key)
        if wait is not None:
            self._blocked.pop(key, None)  # re-insert at the end: the oldest block is evicted first
            self._blocked[key] = time.monotonic() + wait
            if len(self._blocked) > MAX_BLOCKED_ADDRESSES:
                del self._blocked[next(iter(self._blocked))]
        return wait

    async def _hit(self, action: str, identity: str) -> int | None:
        """Consume one unit of every rate of the action; say how long to wait at the first full one."""
        for rate in self._rates[action]:
            if not await self._window.hit(rate, action, identity):
                stats = await self._window.get_window_stats(rate, action, identity)
                return max(1, math.ceil(stats.reset_time - time.time()))
        return None

    async def _guarded(self, call: Callable[[], Awaitable[int | None]]) -> int | None:
        """Run a storage call; while the storage is down, allow and log once per pause."""
        if time.monotonic() < self._paused_until:
            return None
        try:
            return await call()
        except StorageError as error:
            self._paused_until = time.monotonic() + self._outage_pause
            log.warning(
                "rate limits not enforced for the next %g s: storage unavailable (%s)",
                self._outage_pause,
                error,
            )
            return None


def address_key(address: str) -> str:
    """What a client address is counted as: an IPv4 address, or the /64 network of an IPv6 one."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address  # not an IP (e.g. a test client's host name): count it as given
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def rates_from_settings(settings: Settings) -> dict[str, str]:
    """Every `RATE_LIMIT_<ACTION>` setting, keyed by its lower-case action name."""
    return {
        name.removeprefix("rate_limit_"): value
        for name, value in settings
        if name.startswith("rate_limit_")
    }


def limiter_from_settings(
    settings: Settings, *, outage_pause: float = OUTAGE_PAUSE_SECONDS
) -> LimitsRateLimiter:
    """In-process counters, or Redis ones that every worker shares when REDIS_URL is set."""
    rates = rates_from_settings(settings)
    if not settings.redis_url:
        return LimitsRateLimiter(MemoryStorage(), rates, outage_pause=outage_pause)
    storage = RedisStorage(
        f"async+{settings.redis_url}",
        wrap_exceptions=True,
        key_prefix=settings.redis_key_prefix,
        connect_timeout=REDIS_TIMEOUT_SECONDS,
        stream_timeout=REDIS_TIMEOUT_SECONDS,
    )
    return LimitsRateLimiter(storage, rates, outage_pause=outage_pause)
