"""The unit of work: one transaction per use case, committed once, events published after commit."""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, NamedTuple, NewType, Protocol, TypeVar

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Insert,
    Select,
    bindparam,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Row as ResultRow
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import SQLModel, col

from backend.db.tables import Member
from backend.rewards.errors import NotFound
from backend.rewards.events import MemberEvent, committed
from backend.rewards.ports import Clock, EventPublisher
from backend.rewards.program import ProgramRules, RulesCache, load_rules, rules_version

T = TypeVar("T")
Row = TypeVar("Row", bound=SQLModel)
log = logging.getLogger(__name__)


class HeldWrites(Protocol):
    """Writes a unit of work gathers while it runs and sends in one go just before it commits."""

    async def write(self, session: AsyncSession) -> None:
        """Send what was gathered."""


Held = TypeVar("Held", bound=HeldWrites)

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
        "purchase_order_id_key",  # written with its idempotency key (`idempotency.store`)
        "purchase.order_id",
        "device_token_hash_key",  # two members registered one new token at once: it moves
        "device.token_hash",
        "uq_automation_occasion",  # two automation runs at once: the rerun finds it done
        "automation_occasion.kind, automation_occasion.member_id, automation_occasion.key",
        "uq_campaign_recipient",  # a member one campaign reached: never rewarded twice
        "campaign_recipient.campaign_id, campaign_recipient.member_id",
    }
)


class UnitOfWork:
    """A session in one transaction; rolls back unless `commit` was called."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        rules: RulesCache | None = None,
        publisher: EventPublisher | None = None,
    ) -> None:
        self._sessions = sessions
        self.clock = clock
        self._rules = rules
        self._publisher = publisher
        self.events: list[MemberEvent] = []
        self._session: AsyncSession | None = None
        self._locked: dict[int, Member] = {}
        self._held: dict[type[HeldWrites], HeldWrites] = {}
        self._rules_version: int | None = None
        self.read_with_lock: dict[int, ReadWithLock] = {}

    @property
    def session(self) -> AsyncSession:
        """The open session."""
        assert self._session is not None, "unit of work used outside `async with`"
        return self._session

    async def __aenter__(self) -> UnitOfWork:
        """Open the session and its transaction."""
        self._locked, self._held, self._rules_version = {}, {}, None
        self.read_with_lock = {}
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
            self._locked, self.read_with_lock = {}, {}

    def emit(self, event: MemberEvent) -> None:
        """Record a domain event; it is published only if this transaction commits."""
        self.events.append(event)

    def held(self, kind: type[Held]) -> Held:
        """This unit of work's writes of `kind`, held until it commits (made on first use)."""
        if kind not in self._held:
            self._held[kind] = kind()
        return self._held[kind]  # type: ignore[return-value]

    async def commit(self) -> None:
        """Send the held writes, commit the transaction (its row locks end with it), then
        publish what it emitted.

        Held writes go last, so the rows they lock stay locked only for the commit. Events of a
        transaction that rolls back are never published: they leave with the unit of work. The
        connection is back in the pool before the publisher is asked.
        """
        held, self._held = list(self._held.values()), {}
        for writes in held:
            await writes.write(self.session)
        await self.session.commit()
        self._locked, self.read_with_lock = {}, {}
        events, self.events = committed(self.events), []
        if events and self._publisher is not None:
            await self._publisher.publish(events)

    def read_rules_version(self, version: int) -> None:
        """Take the rules' version a statement of this transaction read along with something
        else (`idempotency.replay`): the next `rules()` checks the shared copy against it
        instead of reading it again."""
        self._rules_version = version

    async def rules(self) -> ProgramRules:
        """The program rules as committed now: the shared copy when its version is current.

        One primary-key read of `rules_version` replaces reading the three rules tables; only
        after a change are they read again here (and the shared copy replaced). On SQLite the
        write lock, on PostgreSQL the statement snapshot, make the version read inside this
        transaction the latest committed one, so no use case runs on rules older than that.
        A version read just before by another statement of this transaction serves once.
        """
        known = self._rules.latest if self._rules else None
        version, self._rules_version = self._rules_version, None
        if known is not None and version is None:
            version = await rules_version(self.session)
        if known is not None and known.version == version:
            return known
        fresh = await load_rules(self.session)
        if self._rules:
            self._rules.offer(fresh)
        return fresh

    async def insert(self, row: Row, *, track: bool = False) -> Row:
        """Insert a new row in one statement, without the session's flush, and set its id.

        The session does not track the row unless `track`: later changes to an untracked row
        are not written (right for ledger entries, which never change).
        """
        table = row.__table__  # type: ignore[attr-defined]
        values = {column.key: getattr(row, column.key) for column in table.columns}
        del values["id"]
        row.id = await self.insert_values(type(row), values)
        if track:
            make_transient_to_detached(row)
            self.session.add(row)
        return row

    async def insert_values(self, model: type[SQLModel], values: Mapping[str, Any]) -> int:
        """Insert one row of `model` given as its column values (every column but the id), in
        one statement; the new id.

        For rows the caller needs no object of: building a table model costs more than the
        INSERT's own Python work.
        """
        # Values as parameters, not `.values(...)`: the statement stays the same object, so it is
        # neither rebuilt nor re-keyed per row. The id comes back with the INSERT: RETURNING on
        # PostgreSQL, the rowid on SQLite.
        table = model.__table__  # type: ignore[attr-defined]
        result = await self.session.execute(_insert_into(table), values)
        return int(result.inserted_primary_key[0])  # type: ignore[attr-defined]

    async def write_balances(self, member: LockedMember) -> None:
        """Write a locked member's cached balances now, in one statement built once.

        Where the session's flush would have written them (before the next statement), without
        its unit-of-work machinery: the attributes are marked as stored first, so no flush writes
        them again, and the row holds them before anything else runs in this transaction.
        """
        self.check_locked(member)
        values = {"b_id": member.id}
        for key in BALANCES:
            values[f"b_{key}"] = getattr(member, key)
            set_committed_value(member, key, values[f"b_{key}"])
        await self.session.execute(_WRITE_BALANCES, values)

    async def lock_member(self, member_id: int) -> LockedMember:
        """Load a member row for update: every balance change of one member is serialised."""
        member = await self.lock_member_by("id", member_id)
        if member is None:
            raise NotFound("MEMBER_NOT_FOUND", "No such member.")
        return member

    async def lock_member_by(self, column: str, value: object) -> LockedMember | None:
        """Find and lock the member a unique column's value names (e.g. a card number) in one
        statement."""
        member = (await self.session.execute(_lock_by(column), {"value": value})).scalar()
        if member is None:
            return None
        self._locked[member.id or 0] = member
        return LockedMember(member)

    async def lock_member_reading(
        self, stmt: Select[Any], params: Mapping[str, Any]
    ) -> LockedMember | None:
        """Find and lock a member with a `lock_query` that reads more about them in the same
        statement; what it read is kept in `read_with_lock`, as of the lock.

        A PostgreSQL statement reads other tables as of its start: if the lock had to wait for a
        writer of the member, who committed since, the statement runs again, the lock now held,
        to read what that writer committed. (On SQLite `BEGIN IMMEDIATE` already holds the
        database: nothing commits while a write transaction runs.)
        """
        row = (await self.session.execute(stmt, params)).first()
        if row is None:
            return None
        if not row.locked_as_seen:
            row = (await self.session.execute(stmt, params)).one()
        member = row[0]
        self._locked[member.id or 0] = member
        self.read_with_lock[member.id or 0] = ReadWithLock(params, row)
        return LockedMember(member)

    async def lock_members(self, member_ids: Sequence[int]) -> list[LockedMember]:
        """Lock several members in one statement, in id order (so batches never deadlock)."""
        stmt = (
            select(Member)
            .where(col(Member.id).in_(member_ids))
            .order_by(col(Member.id))
            .with_for_update()
        )
        found = (
            await self.session.execute(stmt.execution_options(populate_existing=True))
        ).scalars()
        locked = []
        for member in found:
            self._locked[member.id or 0] = member
            locked.append(LockedMember(member))
        return locked

    def check_locked(self, member: LockedMember) -> None:
        """Refuse a member this unit of work did not lock (e.g. one from another unit of work)."""
        if self._session is None or self._locked.get(member.id or 0) is not member:
            raise AssertionError(f"member {member.id} is not locked by this unit of work")


class ReadWithLock(NamedTuple):
    """What a member's lock statement read besides the member (`lock_member_reading`), and the
    parameters it read it with. It stays current until this unit of work writes what it read:
    whoever writes it drops it from `read_with_lock`."""

    params: Mapping[str, Any]
    row: ResultRow[Any]


class LockedAsSeen(FunctionElement[bool]):
    """True when the member row a statement locked is the version its snapshot saw: then no
    writer of the member committed after the statement began."""

    type = Boolean()
    inherit_cache = True


@compiles(LockedAsSeen)
def _locked_as_seen(element: LockedAsSeen, compiler: Any, **kw: Any) -> str:
    """SQLite: a write transaction holds the whole database from `BEGIN IMMEDIATE`."""
    return "1"


@compiles(LockedAsSeen, "postgresql")
def _locked_as_seen_postgresql(element: LockedAsSeen, compiler: Any, **kw: Any) -> str:
    """PostgreSQL: after waiting for the lock the statement locks the latest version (a writer
    that committed meanwhile made it), while its subqueries still see the version of its
    snapshot; the same creating transaction (`xmin`) means it is the same version."""
    return "(SELECT seen.xmin FROM member AS seen WHERE seen.id = member.id) = member.xmin"


def lock_query(column: str, *reads: ColumnElement[Any]) -> Select[Any]:
    """The member a unique column's value (bind parameter `value`) names, locked, and `reads`,
    labelled columns about them (correlated subqueries), in one statement for
    `UnitOfWork.lock_member_reading`; build it once."""
    condition = getattr(Member, column) == bindparam("value")
    seen = LockedAsSeen().label("locked_as_seen")
    stmt = select(Member, *reads, seen).where(condition).with_for_update()
    return stmt.execution_options(populate_existing=True)


BALANCES = ("balance", "pending", "debt")
"""The member's cached balances, which the ledger moves with every entry."""

_MEMBER = Member.__table__  # type: ignore[attr-defined]
_WRITE_BALANCES = (
    update(_MEMBER)
    .where(_MEMBER.c.id == bindparam("b_id"))
    .values({key: bindparam(f"b_{key}") for key in BALANCES})
)


@functools.cache
def _insert_into(table: Any) -> Insert:
    """The INSERT of `insert`, one per table: a new statement object per row would be keyed
    again by SQLAlchemy on every execution."""
    return insert(table)


@functools.cache
def _lock_by(column: str) -> Select[Member]:
    """The member found by a unique column and locked: built once per column with a bind
    parameter, not rebuilt and re-keyed for every write."""
    condition = getattr(Member, column) == bindparam("value")
    stmt = select(Member).where(condition).with_for_update()
    return stmt.execution_options(populate_existing=True)


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

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        rules: RulesCache | None = None,
        publisher: EventPublisher | None = None,
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.rules = rules  # shared with the read side; without it, units of work read the rules
        self.publisher = publisher  # without one, events are dropped (scripts, most tests)

    def __call__(self) -> UnitOfWork:
        """Return a fresh unit of work."""
        return UnitOfWork(self.sessions, self.clock, self.rules, self.publisher)

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
