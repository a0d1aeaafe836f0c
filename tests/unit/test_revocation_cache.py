"""The verifier's short cache of revocation checks: reads may reuse a recent answer, writes never."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from backend.adapters.firebase_auth import (
    EMULATOR_HOST_ENV,
    FirebaseTokenVerifier,
    refuse,
)
from backend.rewards.ports import AuthenticationError, Principal, Role

SAM = Principal(uid="sam", role=Role.SUPPORT)


class FakeTime:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FirebaseStub:
    """Stands in for firebase-admin's revocation-checking decode: counts calls, can refuse."""

    def __init__(self) -> None:
        self.calls = 0
        self.revoked = False
        self.gate = threading.Event()
        self.gate.set()

    def __call__(self, token: str, check_revoked: bool) -> dict[str, Any]:
        assert check_revoked
        self.calls += 1
        self.gate.wait(timeout=10)
        if self.revoked:
            raise refuse("TOKEN_REVOKED")
        return {"uid": token.partition(":")[2]}


@pytest.fixture
def time_now() -> FakeTime:
    return FakeTime()


@pytest.fixture
def firebase() -> FirebaseStub:
    return FirebaseStub()


@pytest.fixture
def verifier(monkeypatch, time_now, firebase) -> Iterator[FirebaseTokenVerifier]:
    """A verifier that checks revocation, with a 30 s cache, over the stub."""
    monkeypatch.setenv(EMULATOR_HOST_ENV, "127.0.0.1:9")  # restored after the test
    verifier = FirebaseTokenVerifier(
        "demo-test",
        "local",
        emulator_host="127.0.0.1:9",
        revocation_cache_seconds=30,
        monotonic=time_now,
    )
    monkeypatch.setattr(verifier, "_decode", firebase)
    yield verifier
    verifier.close()


async def code_of(call: Any) -> str:
    """Await a check that must be refused and return its code."""
    with pytest.raises(AuthenticationError) as caught:
        await call
    return caught.value.code


async def test_a_read_reuses_a_recent_answer_until_it_is_30_seconds_old(
    verifier, firebase, time_now
):
    await verifier.ensure_active(SAM, "t:sam", allow_cached=True)
    firebase.revoked = True
    time_now.now += 29.9
    await verifier.ensure_active(SAM, "t:sam", allow_cached=True)  # within the window: no call
    assert firebase.calls == 1
    time_now.now += 0.2
    assert await code_of(verifier.ensure_active(SAM, "t:sam", allow_cached=True)) == "TOKEN_REVOKED"
    assert firebase.calls == 2


async def test_a_write_always_asks_and_a_refusal_ends_the_cached_answer(verifier, firebase):
    await verifier.ensure_active(SAM, "t:sam", allow_cached=True)
    firebase.revoked = True
    assert await code_of(verifier.ensure_active(SAM, "t:sam")) == "TOKEN_REVOKED"
    assert await code_of(verifier.ensure_active(SAM, "t:sam", allow_cached=True)) == "TOKEN_REVOKED"
    assert firebase.calls == 3


async def test_each_token_has_its_own_answer(verifier, firebase):
    await verifier.ensure_active(SAM, "t:sam", allow_cached=True)
    other = Principal(uid="ada", role=Role.ADMIN)
    await verifier.ensure_active(other, "t:ada", allow_cached=True)
    assert (
        await code_of(verifier.ensure_active(other, "t:sam", allow_cached=True)) == "INVALID_TOKEN"
    )
    assert firebase.calls == 3


async def test_a_burst_of_reads_with_one_token_asks_firebase_once(verifier, firebase):
    firebase.gate.clear()
    burst = [
        asyncio.create_task(verifier.ensure_active(SAM, "t:sam", allow_cached=True))
        for _ in range(50)
    ]
    for _ in range(3):
        await asyncio.sleep(0)
    firebase.gate.set()
    await asyncio.gather(*burst)
    assert firebase.calls == 1


async def test_a_burst_shares_a_refusal_too(verifier, firebase):
    firebase.revoked = True
    firebase.gate.clear()
    burst = [
        asyncio.create_task(verifier.ensure_active(SAM, "t:sam", allow_cached=True))
        for _ in range(20)
    ]
    for _ in range(3):
        await asyncio.sleep(0)
    firebase.gate.set()
    results = await asyncio.gather(*burst, return_exceptions=True)
    assert {r.code for r in results if isinstance(r, AuthenticationError)} == {"TOKEN_REVOKED"}
    assert len(results) == 20 and firebase.calls == 1


async def test_zero_seconds_turns_the_cache_off(verifier, firebase):
    verifier.revocation_cache_seconds = 0
    await verifier.ensure_active(SAM, "t:sam", allow_cached=True)
    await verifier.ensure_active(SAM, "t:sam", allow_cached=True)
    assert firebase.calls == 2


async def test_the_cache_is_bounded(verifier, firebase, monkeypatch):
    import backend.adapters.firebase_auth as firebase_auth

    monkeypatch.setattr(firebase_auth, "MAX_REMEMBERED_CHECKS", 3)
    for uid in ["a", "b", "c", "d"]:
        await verifier.ensure_active(Principal(uid, Role.SUPPORT), f"t:{uid}", allow_cached=True)
    assert firebase.calls == 4
    await verifier.ensure_active(Principal("d", Role.SUPPORT), "t:d", allow_cached=True)
    assert firebase.calls == 4  # the newest is still remembered
    await verifier.ensure_active(Principal("a", Role.SUPPORT), "t:a", allow_cached=True)
    assert firebase.calls == 5  # the oldest was forgotten
