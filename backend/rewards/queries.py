"""Read side: lean Core reads for the API's loaders (no ORM objects on hot paths).

A read is a small frozen dataclass whose `run(conn)` sends Core statements on a synchronous
connection and returns plain values (see `Database.read`). Equal reads are equal values, so a
request's loaders run each read once and can batch any mix of them on one connection. The
statements are built once, with bind parameters: SQLAlchemy then finds their compiled form
without building a statement and its cache key on every request.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any, Protocol, TypeVar

from sqlalchemy import Connection, Row, Select, and_, bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.db import prepared
from backend.db.json_rows import JsonDecoder, carried_rows
from backend.db.tables import LedgerEntry, Lot, Member, Purchase
from backend.rewards.ledger.rules import LotState, expiring_within, settle_lots

MEMBER = Member.__table__  # type: ignore[attr-defined]
ENTRY = LedgerEntry.__table__  # type: ignore[attr-defined]
LOT = Lot.__table__  # type: ignore[attr-defined]
PURCHASE = Purchase.__table__  # type: ignore[attr-defined]
# Entries with their lot's state (earn entries have one), so history can tell pending points.
ENTRY_WITH_LOT = select(
    ENTRY, LOT.c.released.label("lot_released"), LOT.c.available_at.label("lot_available_at")
).select_from(ENTRY.outerjoin(LOT, LOT.c.entry_id == ENTRY.c.id))

T_co = TypeVar("T_co", covariant=True)
T = TypeVar("T")


class Read(Protocol[T_co]):
    """A read that can join a batch: hashable, synchronous, on a borrowed connection."""

    def run(self, conn: Connection) -> T_co:
        """Send the read's statements and return what the caller needs."""
        ...


BATCH_ANSWERS = "rewards.batch_answers"  # key of a batch's answers in `Connection.info`


def answer(conn: Connection, read: Read[T_co]) -> T_co:
    """`read`'s answer in the batch running on `conn` (see `run_batch`): a read that the batch
    already ran, alone or inside another read (`MemberWith` runs `MemberByUid`), runs once.
    Outside a batch (a unit of work running a read) it runs and nothing is kept."""
    answers: dict[Any, Any] | None = conn.info.get(BATCH_ANSWERS)
    if answers is None:
        return read.run(conn)
    if read not in answers:
        answers[read] = read.run(conn)
    found: T_co = answers[read]
    return found


def learn(conn: Connection, read: Read[T], found: T) -> None:
    """Keep `found` as `read`'s answer in the batch running on `conn`, if one is: a read that
    reads another's answer in passing (the offers' facts read the StyleID profile) spares it
    its statement. Outside a batch (a unit of work running a read) nothing is kept."""
    answers: dict[Any, Any] | None = conn.info.get(BATCH_ANSWERS)
    if answers is not None:
        answers.setdefault(read, found)


def run_batch(conn: Connection, reads: Sequence[Read[Any]]) -> list[Any]:
    """Run a batch of reads on one connection, equal reads once, and forget the answers after
    (`Connection.info` stays with the pooled connection)."""
    conn.info[BATCH_ANSWERS] = {}
    try:
        return [answer(conn, read) for read in reads]
    finally:
        conn.info.pop(BATCH_ANSWERS, None)


@dataclass(frozen=True)
class PointsNow:
    """A member's points as of a moment: spendable, pending, and what expires soon."""

    balance: int
    pending: int
    expiring: int
    first_expiry: datetime | None


MEMBER_BY_UID = select(MEMBER).where(MEMBER.c.uid == bindparam("uid"))


@dataclass(frozen=True)
class MemberByUid:
    """The member row of a Firebase user, or None."""

    uid: str

    def run(self, conn: Connection) -> Row[Any] | None:
        """One indexed lookup."""
        row: Row[Any] | None = prepared.first(conn, MEMBER_BY_UID, {"uid": self.uid})
        return row


@dataclass(frozen=True, eq=False)
class Carried:
    """Columns the member's statement carries for a `Fold`, and the outer joins they read
    (`join(source)` returns `source` joined), if any. Compared by identity: one constant a kind."""

    columns: tuple[Any, ...]
    join: Callable[[Any], Any] | None = None


class Fold(Protocol):
    """A member read answered from columns of the member's own statement (`MemberWith`), so it
    sends none of its own: its columns are correlated on `member.id` (or joined to it), their
    bind parameters named apart from the other folds'. The read itself stays usable alone.
    Scalars come as columns of their own; a read of rows as one JSON column (`MemberRows`)."""

    @property
    def carried(self) -> Carried:
        """The columns (a module constant: the statement is built once per set of folds)."""
        ...

    def params(self) -> dict[str, Any]:
        """The columns' bind parameters."""
        ...

    def learn(self, conn: Connection, row: Row[Any]) -> None:
        """Keep the read's answer from the member's row (`learn`)."""
        ...


@cache
def _member_carrying(carried: tuple[Carried, ...]) -> Select[Any]:
    """The member by uid with the folds' columns: built once per set of folds (a few)."""
    source = MEMBER
    for fold in carried:
        source = fold.join(source) if fold.join else source
    columns = [column for fold in carried for column in fold.columns]
    return select(MEMBER, *columns).select_from(source).where(MEMBER.c.uid == bindparam("uid"))


@dataclass(frozen=True)
class MemberWith:
    """The member row of a Firebase user, then the reads its fields will ask for, in one run.

    Fields of a member resolve only once the member is known, so their reads would form a second
    batch (another checkout and hand-off); `plan` names them from the row instead (`me` builds
    it from the selected fields), and the answers come back with their reads. The reads that
    `folds` answer come as columns of the member's statement (a round trip each spared).
    """

    uid: str
    plan: Callable[[Row[Any]], Sequence[Read[Any]]]
    folds: tuple[Fold, ...] = ()

    def run(self, conn: Connection) -> tuple[Row[Any] | None, list[tuple[Read[Any], Any]]]:
        """The member row (None if there is none) and each planned read with its answer."""
        row = answer(conn, MemberByUid(self.uid)) if not self.folds else self._carrying(conn)
        if row is None:
            return None, []
        return row, [(read, answer(conn, read)) for read in self.plan(row)]

    def _carrying(self, conn: Connection) -> Row[Any] | None:
        """The member row with the folds' columns; their reads' answers kept for the batch."""
        folds = _one_of_a_kind(self.folds)
        params: dict[str, Any] = {"uid": self.uid}
        for fold in folds:
            params.update(fold.params())
        statement = _member_carrying(tuple(fold.carried for fold in folds))
        row: Row[Any] | None = prepared.first(conn, statement, params)
        learn(conn, MemberByUid(self.uid), row)
        if row is not None:
            for fold in folds:
                fold.learn(conn, row)
        return row


def _one_of_a_kind(folds: tuple[Fold, ...]) -> tuple[Fold, ...]:
    """The first fold of each kind: two of one kind (two history pages) would carry the same
    columns and bind parameters, so the later ones' reads send their own statements."""
    kinds: dict[Carried, Fold] = {}
    for fold in folds:
        kinds.setdefault(fold.carried, fold)
    return tuple(kinds.values())


@dataclass(frozen=True, eq=False)
class MemberRows:
    """A statement of a member's rows (a module constant with an ORDER BY, the member bound as
    `member_id`): read on its own (`of`), or carried by the member's statement as one JSON
    column named `name` (`fold`), bind parameters named apart by that name. One constant a kind.
    """

    name: str
    statement: Select[Any]
    carried: Carried = field(init=False)
    decoder: JsonDecoder = field(init=False)

    def __post_init__(self) -> None:
        rows = carried_rows(self.statement, self.name + "_", {"member_id": MEMBER.c.id})
        object.__setattr__(self, "carried", Carried((rows.label(self.name),)))
        object.__setattr__(self, "decoder", JsonDecoder(self.statement))

    def of(self, member_id: int, **binds: Any) -> RowsOf:
        """The read of a member's rows with the statement's other bind parameters."""
        return RowsOf(self, member_id, tuple(sorted(binds.items())))

    def fold(self, **binds: Any) -> RowsFold:
        """The fold answering `of(member_id, **binds)` for the member its statement reads."""
        return RowsFold(self, tuple(sorted(binds.items())))


@dataclass(frozen=True)
class RowsOf:
    """A member's rows of a `MemberRows` statement, as `prepared.rows` gives them."""

    rows: MemberRows
    member_id: int
    binds: tuple[tuple[str, Any], ...]

    def run(self, conn: Connection) -> list[Any]:
        """One statement."""
        return prepared.rows(
            conn, self.rows.statement, {"member_id": self.member_id, **dict(self.binds)}
        )


@dataclass(frozen=True)
class RowsFold:
    """`RowsOf` the member as a JSON column of the member's statement (`Fold`): the same rows,
    order and limit, decoded to the same values (`backend.db.json_rows`)."""

    rows: MemberRows
    binds: tuple[tuple[str, Any], ...]

    @property
    def carried(self) -> Carried:
        """The statement's JSON column."""
        return self.rows.carried

    def params(self) -> dict[str, Any]:
        """The statement's bind parameters but the member, named apart."""
        return {f"{self.rows.name}_{name}": value for name, value in self.binds}

    def learn(self, conn: Connection, row: Row[Any]) -> None:
        """Keep the member's rows decoded from their column."""
        found = self.rows.decoder.rows(conn.dialect, getattr(row, self.rows.name))
        learn(conn, RowsOf(self.rows, row.id, self.binds), found)


@cache
def _by_ids_statement(table: Any) -> Select[Any]:
    """Rows of a table by primary key; entries come with their lot's state."""
    base = ENTRY_WITH_LOT if table is ENTRY else select(table)
    return base.where(table.c.id.in_(bindparam("ids", expanding=True)))


@dataclass(frozen=True)
class ByIds:
    """Rows of a table (entries with their lot's state) by primary key, in the order asked,
    None where missing (for DataLoaders)."""

    table: Any
    ids: tuple[int, ...]

    def run(self, conn: Connection) -> list[Row[Any] | None]:
        """One statement for all the ids."""
        rows = prepared.rows(conn, _by_ids_statement(self.table), {"ids": self.ids})
        found = {row.id: row for row in rows}
        return [found.get(i) for i in self.ids]


async def by_ids(conn: AsyncConnection, table: Any, ids: Sequence[int]) -> list[Row[Any] | None]:
    """`ByIds` on an async connection (a payload re-read after its unit of work)."""
    return await conn.run_sync(ByIds(table, tuple(ids)).run)


_PAGE = ENTRY_WITH_LOT.where(ENTRY.c.member_id == bindparam("member_id"))
NEWEST_ENTRIES = MemberRows(
    "newest_entry_rows", _PAGE.order_by(ENTRY.c.id.desc()).limit(bindparam("limit"))
)
ENTRIES_BEFORE = MemberRows(
    "older_entry_rows",
    _PAGE.where(ENTRY.c.id < bindparam("before_id"))
    .order_by(ENTRY.c.id.desc())
    .limit(bindparam("limit")),
)


def _page(first: int, before_id: int | None) -> tuple[MemberRows, dict[str, Any]]:
    """The statement of a page and its bind parameters but the member (one row more than
    `first` is asked for, to tell whether more follow)."""
    if before_id is None:
        return NEWEST_ENTRIES, {"limit": first + 1}
    return ENTRIES_BEFORE, {"limit": first + 1, "before_id": before_id}


@dataclass(frozen=True)
class EntriesPage:
    """A page of a member's entries (with lot state), newest first, older than `before_id`."""

    member_id: int
    first: int
    before_id: int | None

    @staticmethod
    def fold(first: int, before_id: int | None) -> RowsFold:
        """The page's rows as a column of the member's statement (`MemberWith`)."""
        rows, binds = _page(first, before_id)
        return rows.fold(**binds)

    def run(self, conn: Connection) -> tuple[list[Row[Any]], bool]:
        """The page's rows, and whether more follow."""
        rows, binds = _page(self.first, self.before_id)
        found = answer(conn, rows.of(self.member_id, **binds))
        return list(found[: self.first]), len(found) > self.first


# The lots that settling as of `now` changes (pending ones that matured) and those whose expiry
# the warning window shows: an open-lots index range, never the member's whole history.
DUE_LOTS = MemberRows(
    "due_lot_rows",
    select(LOT.c.id, LOT.c.remaining, LOT.c.released, LOT.c.available_at, LOT.c.expires_at)
    .where(
        LOT.c.member_id == bindparam("member_id"),
        LOT.c.remaining > 0,
        or_(
            and_(LOT.c.released.is_(False), LOT.c.available_at <= bindparam("now")),
            and_(LOT.c.released.is_(True), LOT.c.expires_at <= bindparam("until")),
        ),
    )
    .order_by(LOT.c.id),
)


def _due(now: datetime, warning_days: int) -> dict[str, datetime]:
    """The bind parameters of `DUE_LOTS` but the member."""
    return {"now": now, "until": now + timedelta(days=warning_days)}


@dataclass(frozen=True)
class PointsAsOf:
    """A member's cached balances (`balance`, `pending`, `debt`) as of `now`, in one statement.

    The settle job writes due releases and expiries as entries later; until it does, the read
    applies the same rule (`settle_lots`), so an expired lot never shows in the balance and a
    matured one already does.
    """

    member_id: int
    balance: int
    pending: int
    debt: int
    now: datetime
    warning_days: int

    @classmethod
    def of(cls, member: Any, *, now: datetime, warning_days: int) -> PointsAsOf:
        """The read for a member row (or object) with `id`, `balance`, `pending` and `debt`."""
        return cls(member.id, member.balance, member.pending, member.debt, now, warning_days)

    @staticmethod
    def fold(*, now: datetime, warning_days: int) -> RowsFold:
        """The due lots as a column of the member's statement (`MemberWith`)."""
        return DUE_LOTS.fold(**_due(now, warning_days))

    def run(self, conn: Connection) -> PointsNow:
        """Read the due lots and settle them in memory."""
        binds = _due(self.now, self.warning_days)
        lots = [LotState(*row) for row in answer(conn, DUE_LOTS.of(self.member_id, **binds))]
        until = binds["until"]
        settled = settle_lots(
            balance=self.balance, pending=self.pending, debt=self.debt, lots=lots, now=self.now
        )
        expiring, first = expiring_within(settled.lots, now=self.now, until=until)
        return PointsNow(settled.balance, settled.pending, expiring, first)
