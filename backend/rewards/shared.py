"""Values every request shares (the program rules, the StyleID option labels): served from
memory at once, re-read in the background once they are older than a TTL."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


class SharedValue(Generic[T]):
    """A value shared by all requests: served from memory at once, re-read in the background.

    Callers must ask before they borrow a connection: only the very first `get` waits (when
    start-up did not `load`), and it waits on one shared read. Once the value is older than the
    TTL, the next `get` starts one re-read on its own short connection and answers with the
    value it has, so no request ever waits for the pool on the value's behalf.
    """

    def __init__(
        self, read: Callable[[], Awaitable[T]], *, ttl_seconds: float, what: str = "a shared value"
    ) -> None:
        self._read = read
        self._ttl = ttl_seconds
        self._what = what
        self._value: T | None = None
        self._read_at = 0.0
        self._reading: asyncio.Task[T] | None = None

    async def load(self) -> T:
        """Read the value now and keep it (at start-up)."""
        return await self._start_reading()

    @property
    def latest(self) -> T | None:
        """The newest value this process has read, without reading (None before the first)."""
        return self._value

    def keep(self, value: T) -> T:
        """Keep a value just read; return the value kept."""
        self._value, self._read_at = value, time.monotonic()
        return value

    async def get(self) -> T:
        """The last value read; a stale one is re-read in the background."""
        if self._value is None:
            # Shielded: a caller that goes away must not cancel the read the others wait for.
            return await asyncio.shield(self._start_reading())
        stale = time.monotonic() - self._read_at >= self._ttl
        if stale and self._reading is None:
            self._start_reading().add_done_callback(self._log_failure)
        return self._value

    def _start_reading(self) -> asyncio.Task[T]:
        """The read in flight, or a new one: callers at the same moment share one read."""
        if self._reading is None:
            self._reading = asyncio.create_task(self._read_and_keep())
        return self._reading

    async def _read_and_keep(self) -> T:
        """Read the value; after a failure, keep the old one and try again one TTL later."""
        try:
            value = await self._read()
        except Exception:
            self._read_at = time.monotonic()
            raise
        finally:
            self._reading = None
        self._read_at = time.monotonic()
        return self.keep(value)  # a newer one may have been kept meanwhile (`RulesCache`)

    def _log_failure(self, task: asyncio.Task[T]) -> None:
        """Log a background re-read that failed (requests go on with the last value read)."""
        if not task.cancelled() and task.exception() is not None:
            log.error("re-reading %s failed", self._what, exc_info=task.exception())

    async def close(self) -> None:
        """Stop a read in flight (at shutdown)."""
        if self._reading is not None:
            self._reading.cancel()
            await asyncio.wait({self._reading})
