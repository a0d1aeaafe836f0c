"""Live events leave a unit of work only when it commits, and reach only their member."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import pytest

from backend.adapters.live_events import LocalEvents, RedisEvents
from backend.rewards.errors import DomainError
from backend.rewards.events import MemberEvent, PointsChanged
from backend.rewards.ledger import Posting, Source, credit
from backend.rewards.uow import UnitOfWork, UnitOfWorkFactory
from tests.helpers import give, new_member


class Recorder:
    """A publisher that records what it was given, one list per commit."""

    def __init__(self) -> None:
        self.published: list[list[MemberEvent]] = []

    async def publish(self, events: Sequence[MemberEvent]) -> None:
        """Record one commit's events."""
        self.published.append(list(events))


async def test_only_a_committed_transaction_publishes_its_events(database, clock):
    recorder = Recorder()
    uows = UnitOfWorkFactory(database.session_factory(), clock, publisher=recorder)
    member = await new_member(uows)
    member_id = member.id or 0
    recorder.published.clear()

    async def credit_then_refuse(uow: UnitOfWork) -> None:
        locked = await uow.lock_member(member_id)
        await credit(uow, member=locked, points=10, posting=Posting("test", Source.STAFF))
        raise DomainError("REFUSED", "Changed my mind.")

    # When a use case credits points and then fails, it rolls back: nothing is published
    with pytest.raises(DomainError):
        await uows.run(credit_then_refuse)
    assert recorder.published == []

    # When two credits commit in one transaction, the member's final balances are published once
    async def credit_twice(uow: UnitOfWork) -> None:
        locked = await uow.lock_member(member_id)
        for points in (10, 5):
            await credit(uow, member=locked, points=points, posting=Posting("t", Source.STAFF))
        await uow.commit()

    await uows.run(credit_twice)
    ((event,),) = recorder.published
    assert isinstance(event, PointsChanged) and (event.balance, event.pending) == (15, 0)
    assert (await give(uows, member_id, 1)).balance_after == 16


async def test_events_reach_only_their_members_subscriptions():
    events = LocalEvents()
    async with events.subscribe(1) as mine, events.subscribe(2) as theirs:
        await events.publish([PointsChanged(2, 1, 5, 0), PointsChanged(1, 2, 7, 0)])
        assert await anext(mine) == PointsChanged(1, 2, 7, 0)
        assert await anext(theirs) == PointsChanged(2, 1, 5, 0)
        assert events.subscribers.count(1) == 1
    assert events.subscribers.count(1) == 0


async def test_without_redis_a_worker_still_tells_its_own_subscribers(caplog):
    events = RedisEvents("redis://127.0.0.1:1/0", "rewards-test")  # nothing listens there
    try:
        async with events.subscribe(1) as mine:
            with caplog.at_level(logging.WARNING, logger="rewards.live"):
                await events.publish([PointsChanged(1, 1, 5, 0)])
                await events.publish([PointsChanged(1, 2, 6, 0)])
            async with asyncio.timeout(5):
                assert [await anext(mine), await anext(mine)] == [
                    PointsChanged(1, 1, 5, 0),
                    PointsChanged(1, 2, 6, 0),
                ]
    finally:
        await events.close()
    published = [r for r in caplog.records if "reach only this worker" in r.getMessage()]
    assert len(published) == 1  # one warning per outage pause, not one per commit
