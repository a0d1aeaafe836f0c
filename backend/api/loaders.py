"""Per-request DataLoaders: every object edge is batched; each batch borrows a read connection briefly.

How a field reads (and how a new field joins the pattern): describe what it needs as a read, a
small frozen dataclass with a synchronous `run(conn)` (`backend.rewards.queries.Read`, e.g.
`PointsAsOf`, `EntriesPage`, `QualifyingNow`), and `await loaders.read(it)`. Sibling fields
resolve concurrently, so every read asked for in the same turn of the event loop lands in one
batch: one pooled connection, and on SQLite one thread hand-off, for all of them. Loaders keyed
by id (`member`, `entry`, `purchase`) feed the same batch. Equal reads run once
per request.

A member's fields resolve only after the member is read, so `me` reads them ahead: it names the
reads its selected fields will ask for (`types.MemberReads.ahead`; a new `Member` field adds its
read there), runs them with the member row in one batch (`queries.MemberWith`) and primes this
loader with the answers. The dashboard costs one batch. A field whose read may have been read
ahead returns `loaders.answer(read, then)`: the answer at once (a plain function, no coroutine,
task or loader round) when it was, else an awaitable of it.

No loader refers back to its `Loaders` or to itself: they hold the request's `RequestReads` (the
answers read ahead and the shared batch), and load functions are partials of module functions,
never lambdas or bound methods of the object that keeps the loader. A request's loaders, caches
and rows then form no reference cycle, so they are freed as the request ends instead of waiting
for the collector (full collections were the dashboard's slowest answers).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from functools import cached_property, partial
from typing import Any, TypeVar

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection
from strawberry.dataloader import DataLoader

from backend.api.clubs.loaders import ClubLoaders
from backend.api.offers.loaders import OfferLoaders
from backend.db.engine import Database
from backend.rewards import queries
from backend.rewards.notifications.queries import NOTIFICATION
from backend.rewards.profile.queries import OptionLabelMap
from backend.rewards.program import ProgramRules, RulesCache
from backend.rewards.shared import SharedValue

T = TypeVar("T")
R = TypeVar("R")
NOT_AHEAD = object()  # a read `me` did not answer ahead (answers may be None)


class RequestReads:
    """The reads of one request: the answers `me` read ahead and the batch every other read joins.

    It refers to no loader, so the loaders that read through it (`Loaders`, `OfferLoaders`) can
    hold it without a reference cycle.
    """

    def __init__(self, database: Database) -> None:
        self._db = database
        self._ahead: dict[queries.Read[Any], Any] = {}  # answers `me` read ahead

    async def read(self, read: queries.Read[T]) -> T:
        """The answer of one read: the one read ahead, else batched with the other reads of this
        turn of the loop."""
        found: T = self._ahead.get(read, NOT_AHEAD)
        if found is not NOT_AHEAD:
            return found
        answer: T = await self.batch.load(read)
        return answer

    def prime(self, read: queries.Read[T], answer: T) -> None:
        """Remember an answer read ahead (see `queries.MemberWith`): asking for it runs nothing."""
        self._ahead[read] = answer

    def answer(self, read: queries.Read[T], then: Callable[[T], R]) -> R | Awaitable[R]:
        """`then(answer)`: at once when the read was answered ahead, else awaitable (batched).

        A resolver that returns this is a plain function: on the dashboard it resolves without a
        coroutine, a task or a loader round; where nothing was read ahead it returns the awaitable,
        which GraphQL execution awaits.
        """
        found = self._ahead.get(read, NOT_AHEAD)
        if found is not NOT_AHEAD:
            return then(found)
        return _then(self.read(read), then)

    def answered(self, reads: Sequence[queries.Read[Any]]) -> list[Any] | None:
        """The answers of reads that were all answered ahead, else None (nothing is read)."""
        found = [self._ahead.get(read, NOT_AHEAD) for read in reads]
        return None if any(answer is NOT_AHEAD for answer in found) else found

    @cached_property
    def batch(self) -> DataLoader[queries.Read[Any], Any]:
        """The batch every read of this request goes through."""
        return DataLoader(partial(_run_reads, self._db))


class Loaders:
    """The loaders of one request; created fresh for every request so nothing leaks between users.

    Each DataLoader is made on first use: most requests need only a few of them.
    """

    def __init__(
        self,
        database: Database,
        rules: RulesCache,
        now: datetime,
        labels: SharedValue[OptionLabelMap],
    ) -> None:
        self._db = database
        self._rules = rules
        self._labels = labels
        self.now = now
        self.reads = reads = RequestReads(database)
        # Its methods, called with no hop in between (bound to `reads`, they hold no `Loaders`).
        self.read = reads.read
        self.prime = reads.prime
        self.answer = reads.answer
        self.answered = reads.answered

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection]:
        """Borrow an async read connection for one short read; it goes back to the pool at once.

        Prefer `read()` on hot paths. Never hold this connection while waiting for anything
        else from a pool (rules, another connection, a unit of work): under a burst every
        connection would be held by a waiter.
        """
        async with self._db.reader.connect() as conn:
            yield conn

    async def rules(self) -> ProgramRules:
        """The program rules (shared, refreshed in the background); ask before borrowing."""
        return await self._rules.get()

    async def option_labels(self) -> OptionLabelMap:
        """Every StyleID option's labels (shared like the rules); ask before borrowing."""
        return await self._labels.get()

    @cached_property
    def member(self) -> DataLoader[int, Row[Any] | None]:
        """Members by id."""
        return DataLoader(partial(_rows_by_ids, self.reads.batch, queries.MEMBER))

    @cached_property
    def entry(self) -> DataLoader[int, Row[Any] | None]:
        """Ledger entries by id, with their lot's state."""
        return DataLoader(partial(_rows_by_ids, self.reads.batch, queries.ENTRY))

    @cached_property
    def purchase(self) -> DataLoader[int, Row[Any] | None]:
        """Purchases by id."""
        return DataLoader(partial(_rows_by_ids, self.reads.batch, queries.PURCHASE))

    @cached_property
    def clubs(self) -> ClubLoaders:
        """Club statuses of members."""
        return ClubLoaders(self.reads.batch.load, self.now)

    @cached_property
    def notification(self) -> DataLoader[int, Row[Any] | None]:
        """Inbox notifications by id."""
        return DataLoader(partial(_rows_by_ids, self.reads.batch, NOTIFICATION))

    @cached_property
    def offers(self) -> OfferLoaders:
        """Offer lists, counts and vouchers."""
        return OfferLoaders(self.reads, self._rules, self._labels, self.now, self.clubs)


async def _then(answer: Awaitable[T], then: Callable[[T], R]) -> R:
    """`then` of an answer still to come."""
    return then(await answer)


async def _run_reads(database: Database, reads: Sequence[queries.Read[Any]]) -> list[Any]:
    """Run a batch of reads on one connection, in one hand-off."""
    return await database.read(partial(queries.run_batch, reads=reads))


async def _rows_by_ids(
    reads: DataLoader[queries.Read[Any], Any], table: Any, ids: Sequence[int]
) -> list[Row[Any] | None]:
    """Rows of one table by id, as one read of the shared batch."""
    rows: list[Row[Any] | None] = await reads.load(queries.ByIds(table, tuple(ids)))
    return rows
