"""The unit of work: one transaction per use case, committed once, events handled after commit."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, NewType, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from backend.db.tables import Member
from backend.rewards.errors import NotFound
from backend.rewards.ports import Clock

T = TypeVar("T")
log = logging.getLogger(__name__)

LockedMember = NewType("LockedMember", Member)
"""A member row this unit of work holds the write lock of: the only kind the ledger accepts."""

# Unique constraints whose violation means a concurrent twin of the same request won the race:
# running again finds its stored answer (PostgreSQL names the constraint, SQLite the columns).
RETRIED_UNIQUE = frozenset(
    {
        "uq_idempotency_scope_key",
        "idempotency_key.scope, idempotency_key.key",
        "member_uid_key",
        "member.uid",
        "style_option_pkey",
        "style_option.kind, style_option.code",
        "club_code_key",
        "club.code",
        "uq_voucher_code",  # a new voucher's random code collided: run again with a new one
        "voucher.code",
        "device_token_hash_key",  # two members registered one new token at once: it moves
        "device.token_hash",
    }
)


class UnitOfWork:
    """A session in one transaction; rolls back unless `commit` was called."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self._sessions = sessions
        self.clock = clock
        self.events: list[Any] = []
        self._session: AsyncSession | None = None
        self._locked: dict[int, Member] = {}

    @property
    def session(self) -> AsyncSession:
        """The open session."""
        assert self._session is not None, "unit of work used outside `async with`"
        return self._session

    async def __aenter__(self) -> UnitOfWork:
        """Open the session and its transaction."""
        self._locked = {}
        self._session = self._sessions()
        await self._session.begin()
        self.now = self.clock.now()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Roll back whatever was not committed and close the session."""
        assert self._session is not None
        try:
            if self._session.in_transaction():
                self._session.expunge_all()  # objects read here stay readable after the rollback
                await self._session.rollback()
        finally:
            await self._session.close()
            self._session = None
            self._locked = {}

    def emit(self, event: Any) -> None:
        """Record a domain event (the seam the notification outbox will read after commit)."""
        self.events.append(event)

    async def commit(self) -> None:
        """Commit the transaction; its row locks end with it."""
        await self.session.commit()
        self._locked = {}

    async def lock_member(self, member_id: int) -> LockedMember:
        """Load a member row for update: every balance change of one member is serialised."""
        stmt = select(Member).where(col(Member.id) == member_id).with_for_update()
        member = (
            await self.session.execute(stmt.execution_options(populate_existing=True))
        ).scalar()
        if member is None:
            raise NotFound("MEMBER_NOT_FOUND", "No such member.")
        self._locked[member_id] = member
        return LockedMember(member)

    def check_locked(self, member: LockedMember) -> None:
        """Refuse a member this unit of work did not lock (e.g. one from another unit of work)."""
        if self._session is None or self._locked.get(member.id or 0) is not member:
            raise AssertionError(f"member {member.id} is not locked by this unit of work")


def _violated_unique(error: IntegrityError) -> str | None:
    """The unique constraint (PostgreSQL) or columns (SQLite) a write collided on, if any."""
    text = str(error.orig)
    named = re.search(r'unique constraint "([^"]+)"', text)
    if named:
        return named.group(1)
    _, found, columns = text.partition("UNIQUE constraint failed: ")
    return columns.strip() if found else None


def _retriable(error: DBAPIError) -> bool:
    """Tell whether a database error is a lost race worth running the use case again for."""
    if isinstance(error, IntegrityError):
        return _violated_unique(error) in RETRIED_UNIQUE
    text = str(error.orig).lower()
    return (isinstance(error, OperationalError) and "locked" in text) or any(
        word in text for word in ("deadlock", "could not serialize", "serialization")
    )


class UnitOfWorkFactory:
    """Makes units of work and runs use cases with retries on lost races."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self.sessions = sessions
        self.clock = clock

    def __call__(self) -> UnitOfWork:
        """Return a fresh unit of work."""
        return UnitOfWork(self.sessions, self.clock)

    async def run(self, use_case: Callable[[UnitOfWork], Awaitable[T]], *, attempts: int = 4) -> T:
        """Run `use_case` in its own unit of work, again from scratch if it lost a race."""
        for attempt in range(1, attempts + 1):
            try:
                async with self() as uow:
                    return await use_case(uow)
            except DBAPIError as error:
                if attempt == attempts or not _retriable(error):
                    raise
                log.info("retrying a unit of work after %s", type(error).__name__)
                await asyncio.sleep(0.01 * attempt)
        raise AssertionError("unreachable")
