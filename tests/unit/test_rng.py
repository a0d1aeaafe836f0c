"""The games' seeded randomness: reproducible, documented, uniform."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from games.rng import SeededRng, commitment


def test_commitment_is_the_seeds_sha256() -> None:
    """Given a seed, the published commitment is its SHA-256 hex."""
    assert commitment(b"seed") == hashlib.sha256(b"seed").hexdigest()


def test_draws_follow_the_documented_function() -> None:
    """The first integers are the HMAC-SHA256 blocks of "{message}:{counter}", 8 bytes at a time."""
    block0 = hmac.new(b"k", b"spin:7:0", hashlib.sha256).digest()
    block1 = hmac.new(b"k", b"spin:7:1", hashlib.sha256).digest()
    words = [int.from_bytes(b[i : i + 8], "big") for b in (block0, block1) for i in (0, 8, 16, 24)]
    rng = SeededRng(b"k", "spin:7")
    assert [rng.below(2**64) for _ in range(8)] == words


@given(st.binary(min_size=1, max_size=32), st.text(max_size=20), st.integers(1, 10**12))
def test_same_seed_and_message_draw_the_same(seed: bytes, message: str, n: int) -> None:
    """Given the same seed and message, two streams agree and stay in range."""
    first, second = SeededRng(seed, message), SeededRng(seed, message)
    drawn = [first.below(n) for _ in range(5)]
    assert drawn == [second.below(n) for _ in range(5)]
    assert all(0 <= value < n for value in drawn)


def test_different_messages_draw_differently() -> None:
    """A new nonce gives a new stream."""
    assert SeededRng(b"k", "a").below(2**64) != SeededRng(b"k", "b").below(2**64)


def test_below_is_uniform_and_between_inclusive() -> None:
    """Over many draws every face of a die appears about equally; between includes both ends."""
    rng = SeededRng(b"uniform", "test")
    counts = [0] * 6
    for _ in range(60_000):
        counts[rng.below(6)] += 1
    assert all(9_500 < c < 10_500 for c in counts)
    assert {rng.between(3, 4) for _ in range(100)} == {3, 4}
    assert 0 <= rng.unit() < 1


def test_below_refuses_an_empty_range() -> None:
    """Zero choices is a programming error, said at once."""
    with pytest.raises(ValueError):
        SeededRng(b"k", "m").below(0)
