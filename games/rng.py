"""Seeded, documented randomness: every game outcome is drawn from here, so anyone can redraw it.

A draw is HMAC-SHA256 keyed with the server seed over `"{message}:{counter}"` (UTF-8), the
counter counting 0, 1, 2, … as more bytes are needed; the blocks are read as big-endian 64-bit
unsigned integers. `below(n)` takes the next integer and keeps it only when it is below the
largest multiple of n that fits in 64 bits (rejection sampling: no modulo bias), answering it
modulo n. `unit()` answers the top 53 bits of the next integer divided by 2**53. The seed is
committed to before play by publishing `commitment(seed)` (SHA-256, hex) and revealed after.
"""

from __future__ import annotations

import hashlib
import hmac

_SPAN = 2**64


def commitment(seed: bytes) -> str:
    """The public commitment to a server seed: its SHA-256 in lowercase hex."""
    return hashlib.sha256(seed).hexdigest()


class SeededRng:
    """A reproducible stream of uniform numbers from a seed and a message (e.g. a nonce)."""

    def __init__(self, seed: bytes, message: str) -> None:
        """Start the stream for this seed and message at counter 0."""
        self._seed = seed
        self._message = message
        self._counter = 0
        self._buffer = b""

    def _next_u64(self) -> int:
        """The next 64-bit unsigned integer of the stream."""
        if not self._buffer:
            data = f"{self._message}:{self._counter}".encode()
            self._buffer = hmac.new(self._seed, data, hashlib.sha256).digest()
            self._counter += 1
        chunk, self._buffer = self._buffer[:8], self._buffer[8:]
        return int.from_bytes(chunk, "big")

    def below(self, n: int) -> int:
        """A uniform integer in [0, n), without modulo bias."""
        if not 1 <= n <= _SPAN:
            raise ValueError("n must be between 1 and 2**64")
        limit = _SPAN - _SPAN % n
        while True:
            value = self._next_u64()
            if value < limit:
                return value % n

    def unit(self) -> float:
        """A uniform float in [0, 1) with 53 random bits."""
        return (self._next_u64() >> 11) / 2**53

    def between(self, low: int, high: int) -> int:
        """A uniform integer in [low, high]."""
        return low + self.below(high - low + 1)
