"""The shared program-rules cache: one read at a time, stale rules served while a re-read runs."""

from __future__ import annotations

import asyncio
import logging

from backend.rewards.program import ProgramRules, RulesCache


def rules(version: int) -> ProgramRules:
    """A recognisable set of rules."""
    return ProgramRules(tiers=(), rates={}, settings={"version": version}, version=version)


async def settle() -> None:
    """Let the tasks that are ready run (a few loop turns; no clock involved)."""
    for _ in range(5):
        await asyncio.sleep(0)


class Source:
    """A rules store whose reads can be held open, counted and made to fail."""

    def __init__(self) -> None:
        self.version = 1
        self.reads = 0
        self.fail = False
        self.cancelled = 0
        self.gate = asyncio.Event()
        self.gate.set()

    async def read(self) -> ProgramRules:
        """Return the current rules once the gate is open."""
        self.reads += 1
        try:
            await self.gate.wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        if self.fail:
            raise ConnectionError("database is down")
        return rules(self.version)


async def test_callers_before_the_first_load_share_one_read():
    source = Source()
    source.gate.clear()
    cache = RulesCache(source.read, ttl_seconds=3600)
    waiting = [asyncio.create_task(cache.get()) for _ in range(50)]
    await settle()
    source.gate.set()
    assert {(await task).setting("version") for task in waiting} == {1}
    assert source.reads == 1


async def test_stale_rules_are_served_at_once_while_one_re_read_runs():
    source = Source()
    cache = RulesCache(source.read, ttl_seconds=0)
    await cache.load()
    source.version, source.gate = 2, asyncio.Event()  # the re-read now hangs until released
    answers = [await cache.get() for _ in range(20)]
    assert {a.setting("version") for a in answers} == {1}
    await settle()
    assert source.reads == 2  # the start-up read and exactly one re-read
    source.gate.set()
    await settle()
    assert (await cache.get()).setting("version") == 2


async def test_fresh_rules_are_not_read_again():
    source = Source()
    cache = RulesCache(source.read, ttl_seconds=3600)
    await cache.load()
    source.version = 2
    assert [(await cache.get()).setting("version") for _ in range(5)] == [1] * 5
    assert source.reads == 1


async def test_a_failed_re_read_keeps_the_last_rules_and_is_logged(caplog):
    source = Source()
    cache = RulesCache(source.read, ttl_seconds=0)
    await cache.load()
    source.fail = True
    with caplog.at_level(logging.ERROR):
        assert (await cache.get()).setting("version") == 1
        await settle()
    assert "re-reading the program rules failed" in caplog.text
    source.fail, source.version = False, 3
    await cache.get()  # the age counts from the failure: with a TTL of 0 it tries again now
    await settle()
    assert (await cache.get()).setting("version") == 3
    assert source.reads == 3


async def test_a_failed_first_read_fails_its_waiters_once_and_the_next_call_reads_again():
    source = Source()
    source.fail = True
    source.gate.clear()
    cache = RulesCache(source.read, ttl_seconds=3600)
    waiting = [asyncio.create_task(cache.get()) for _ in range(10)]
    await settle()
    source.gate.set()
    results = await asyncio.gather(*waiting, return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results) and source.reads == 1
    source.fail = False
    assert (await cache.get()).setting("version") == 1
    assert source.reads == 2


async def test_close_stops_a_read_in_flight():
    source = Source()
    cache = RulesCache(source.read, ttl_seconds=0)
    await cache.load()
    source.gate = asyncio.Event()
    await cache.get()
    await settle()
    await cache.close()
    assert (source.reads, source.cancelled) == (2, 1)


async def test_newer_rules_offered_by_a_unit_of_work_replace_older_ones_only():
    source = Source()
    cache = RulesCache(source.read, ttl_seconds=3600)
    await cache.load()
    assert cache.offer(rules(3)).version == 3
    assert cache.offer(rules(2)).version == 3  # an older read never replaces a newer one
    assert (await cache.get()).version == 3 and source.reads == 1  # offered rules count as fresh


async def test_a_re_read_that_ends_after_newer_rules_were_offered_keeps_the_newer():
    source = Source()
    cache = RulesCache(source.read, ttl_seconds=0)
    await cache.load()
    source.gate = asyncio.Event()  # the re-read of version 1 hangs until released
    await cache.get()
    await settle()
    cache.offer(rules(5))
    source.gate.set()
    await settle()
    assert cache.latest is not None and cache.latest.version == 5
