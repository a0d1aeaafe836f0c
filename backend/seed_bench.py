"""A big, consistent benchmark database in minutes: histories simulated in parallel processes,
loaded with COPY on PostgreSQL and large executemany transactions on SQLite.

Each member's history is simulated in memory with the program's rules (return window, lot
lifetime, FIFO spending, expiry, tier window) and written straight into the tables without going
through the unit of work: purchases (pending, then released), redemptions, expiries and, for
purchases in the last two weeks, pending points. The result keeps every ledger invariant:
balances equal the sums of entries, lots match their allocations, `tier_month` equals the
qualifying entries per month, `earned_month` the leaderboard's points per month (and
`earned_score`, counted from it once loaded, its members per score and band of scores), tiers follow the points.

Worker processes simulate a chunk of members each and hand the writer the chunk's rows ready
for the database (COPY text on PostgreSQL, tuples on SQLite); ids follow on across chunks in
member order, whatever the number of workers. The whole load is one transaction: on PostgreSQL
the seeded tables' foreign keys, unique constraints and secondary indexes are dropped first and
created again from their own definitions at the end (as a restore does), on SQLite the secondary
indexes; a failure leaves the database as empty as it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import multiprocessing
import random
import sqlite3
import time
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from io import BytesIO
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

from backend.db.engine import Database, is_sqlite
from backend.rewards.clock import add_months
from backend.rewards.ledger.scores import SCORE_BAND
from backend.rewards.members.rules import REFERRAL_ALPHABET, luhn_digit
from backend.rewards.program import ProgramRules, load_rules
from backend.rewards.tiers.rules import qualifying, tier_for

CHUNK_MEMBERS = 5_000
COPY_NULL = "\\N"
NUMBERING_TIMEOUT = 600  # seconds a chunk waits for the one before it to count its rows


def _columns(names: str) -> tuple[str, ...]:
    """Column names from a space-separated list."""
    return tuple(names.split())


# The columns written, in order; datetimes are naive UTC (what UTCDateTime stores).
COLUMNS: dict[str, tuple[str, ...]] = {
    "member": _columns(
        "id uid card_number referral_code display_name email birth_date locale time_zone "
        "marketing_consent status enrolled_at tier_code tier_reached_at balance pending debt"
    ),
    "ledger_entry": _columns(
        "id member_id kind amount pending_delta balance_after pending_after reason source "
        "source_ref actor created_at related_entry_id"
    ),
    "lot": _columns(
        "id member_id entry_id amount remaining expired earned_at available_at expires_at released"
    ),
    "lot_allocation": _columns("id entry_id lot_id amount"),
    "purchase": _columns(
        "id order_id member_id amount currency channel occurred_at lines points earn_entry_id "
        "refunded_amount reversed_points recorded_by created_at"
    ),
    "idempotency_key": _columns("id scope key fingerprint result created_at"),
    "tier_month": _columns("member_id month points"),
    "earned_month": _columns("member_id month points"),
}
TABLES = tuple(COLUMNS)
SERIAL_TABLES = TABLES[:-2]  # tier_month and earned_month are keyed by member and month
# The tables whose ids a chunk numbers from its first id of each, in this order.
NUMBERED = ("ledger_entry", "lot", "lot_allocation", "purchase", "idempotency_key")
ACTOR = "seed-bench"
# The leaderboard's histogram, counted from the loaded `earned_month` (as migration 0020 does):
# members per score (width 1) and per band of scores.
COUNT_SCORES = [
    f"INSERT INTO earned_score (month, width, points, members) SELECT month, {width}, "
    f"points - points % {width}, count(*) FROM earned_month WHERE points > 0 "
    f"GROUP BY month, points - points % {width}"
    for width in (1, SCORE_BAND)
]

Row = tuple[Any, ...]


def member_uid(index: int) -> str:
    """The Firebase uid of the index-th seeded member (0-based), as the benchmark signs in."""
    return f"bench-{index:05d}"


def _card_number(index: int) -> str:
    """A valid, unique 16-digit card number."""
    body = f"7{index:014d}"
    return body + luhn_digit(body)


def _referral_code(index: int) -> str:
    """A unique referral code in the referral alphabet."""
    digits = ""
    while True:
        index, rest = divmod(index, len(REFERRAL_ALPHABET))
        digits = REFERRAL_ALPHABET[rest] + digits
        if not index:
            return "Z" + digits


def _stamp(moment: datetime) -> str:
    """A naive UTC time as both databases read it (SQLAlchemy's SQLite storage format)."""
    return moment.isoformat(" ", "microseconds")


@dataclass(frozen=True)
class Plan:
    """What every worker needs to simulate its chunk of members."""

    members: int
    entries: int
    now: datetime  # naive UTC
    rules: ProgramRules
    seed: int
    postgres: bool
    chunk_members: int = CHUNK_MEMBERS

    @property
    def chunks(self) -> int:
        """How many chunks of members there are."""
        return -(-self.members // self.chunk_members)


@dataclass
class Rows:
    """Rows of one chunk of members, per table, numbered from 0 within the chunk."""

    tables: dict[str, list[Row]] = field(default_factory=lambda: {name: [] for name in TABLES})

    def count(self, table: str) -> int:
        """Rows of a table in this chunk."""
        return len(self.tables[table])


@dataclass
class _Lot:
    """A lot as the simulation moves it."""

    id: int
    entry_id: int
    amount: int
    remaining: int
    earned_at: datetime
    available_at: datetime
    expires_at: datetime
    released: bool
    expired: int = 0


class _Member:
    """One member's simulated history, appended to the chunk's rows as it happens."""

    def __init__(self, rows: Rows, member_id: int, rules: ProgramRules) -> None:
        self.rows, self.id = rows, member_id
        self.entries, self.allocations = rows.tables["ledger_entry"], rows.tables["lot_allocation"]
        self.return_days = int(rules.setting("return_window_days"))
        self.lifetime_months = int(rules.setting("lot_lifetime_months"))
        self.balance = self.pending = self.purchases = 0
        self.lots: list[_Lot] = []
        self.live: list[_Lot] = []  # lots not yet released, or released with points left
        self.months: dict[date, int] = {}
        self.earned: dict[date, int] = {}  # the leaderboard's: earns less what expired of them
        self.last_release: datetime | None = None

    def entry(
        self,
        at: datetime,
        kind: str,
        reason: str,
        amount: int = 0,
        pending: int = 0,
        source: str = "system",
        source_ref: str | None = None,
        actor: str | None = None,
        related: int | None = None,
    ) -> int:
        """Append one ledger entry and move the balances with it."""
        self.balance += amount
        self.pending += pending
        entry_id = len(self.entries)
        self.entries.append(
            (entry_id, self.id, kind, amount, pending, self.balance, self.pending, reason,
             source, source_ref, actor, at, related)
        )  # fmt: skip
        if kind == "release":
            self.last_release = at
        if kind in ("earn", "release", "reverse") and amount:
            month = date(at.year, at.month, 1)
            self.months[month] = self.months.get(month, 0) + amount
        return entry_id

    def allocate(self, entry_id: int, lot: _Lot, amount: int) -> None:
        """Record the points a debit took from a lot."""
        self.allocations.append((len(self.allocations), entry_id, lot.id, amount))

    def settle(self, until: datetime) -> None:
        """Write the releases and expiries due by `until`, each at its own moment, in order."""
        while True:
            # Spent or expired lots can never fall due again: only the live ones are looked at.
            self.live = [lot for lot in self.live if not lot.released or lot.remaining]
            due = [
                (lot.expires_at if lot.released else lot.available_at, lot.released, lot.id, lot)
                for lot in self.live
            ]
            at, expiry, _, lot = min(due, default=(until, False, 0, None))
            if lot is None or at > until:
                return
            if expiry:
                self._earned(lot.earned_at, -lot.remaining)
                entry_id = self.entry(
                    at, "expire", "Points expired", amount=-lot.remaining, related=lot.entry_id
                )
                self.allocate(entry_id, lot, lot.remaining)
                lot.expired, lot.remaining = lot.remaining, 0
            else:
                lot.released = True
                self.entry(
                    at,
                    "release",
                    "Return window over: points are now spendable",
                    amount=lot.remaining,
                    pending=-lot.remaining,
                    related=lot.entry_id,
                )

    def purchase(self, at: datetime, rng: random.Random) -> None:
        """A store order: a pending earn, its lot, the purchase and its idempotency row."""
        purchases = self.rows.tables["purchase"]
        purchase_id = len(purchases)
        self.purchases += 1
        order_id = f"B{self.id}-{self.purchases}"
        cents = rng.randrange(1500, 30000)
        amount, points = f"{cents // 100}.{cents % 100:02d}", cents // 100
        entry_id = self.entry(
            at, "earn", f"Purchase {order_id}", pending=points, source="order",
            source_ref=order_id, actor=ACTOR,
        )  # fmt: skip
        self._earned(at, points)
        lot = _Lot(
            len(self.lots) + self.rows.count("lot"), entry_id, points, points, at,
            at + timedelta(days=self.return_days), add_months(at, self.lifetime_months),
            released=False,
        )  # fmt: skip
        self.lots.append(lot)
        self.live.append(lot)
        purchases.append((purchase_id, order_id, self.id, amount, at, points, entry_id))
        self.rows.tables["idempotency_key"].append(
            (len(self.rows.tables["idempotency_key"]), purchase_id, order_id, self.id, amount,
             at, points, f"{rng.getrandbits(256):064x}")
        )  # fmt: skip

    def _earned(self, earned_at: datetime, points: int) -> None:
        """Count points in (or take them out of) the month they were earned in."""
        month = date(earned_at.year, earned_at.month, 1)
        self.earned[month] = self.earned.get(month, 0) + points

    def redeem(self, at: datetime, rng: random.Random) -> None:
        """Spend part of the balance, oldest-expiring lots first."""
        points = rng.randint(1, self.balance)
        entry_id = self.entry(
            at, "redeem", "Offer redeemed", amount=-points, source="offer", actor=ACTOR
        )
        open_lots = [lot for lot in self.live if lot.released and lot.remaining]
        for lot in sorted(open_lots, key=lambda lot: (lot.expires_at, lot.id)):
            take = min(points, lot.remaining)
            lot.remaining -= take
            points -= take
            self.allocate(entry_id, lot, take)
            if not points:
                return
        raise AssertionError("simulated balance and lots disagree")


def simulate(rows: Rows, *, index: int, entries: int, plan: Plan, rng: random.Random) -> None:
    """Simulate one member with about `entries` entries up to `plan.now`; append their rows."""
    member_id, now, rules = index + 1, plan.now, plan.rules
    enrolled = now - timedelta(days=rng.uniform(30, 900))
    member = _Member(rows, member_id, rules)
    span = (now - enrolled).total_seconds()
    # A purchase brings two entries (earn, release), a redemption one, an expiry now and then.
    count = max(1, round(entries / 1.8))
    moments = sorted(enrolled + timedelta(seconds=rng.uniform(0, span)) for _ in range(count))
    for at in moments:
        member.settle(at)
        if member.balance > 0 and rng.random() < 0.3:
            member.redeem(at, rng)
        else:
            member.purchase(at, rng)
    member.settle(now)
    window = int(rules.setting("tier_window_months"))
    counted = qualifying(member.months.items(), now=now.replace(tzinfo=UTC), window_months=window)
    tier = tier_for(rules.tiers, counted.points)
    uid = member_uid(index)
    rows.tables["member"].append(
        (
            member_id, uid, _card_number(index), _referral_code(index), f"Bench {index}",
            f"{uid}@example.com", date(1990, 5, 17), "en", "UTC", False, "active", enrolled,
            tier.code, member.last_release or enrolled, member.balance, member.pending, 0,
        )
    )  # fmt: skip
    rows.tables["lot"] += [
        (
            lot.id, member_id, lot.entry_id, lot.amount, lot.remaining, lot.expired,
            lot.earned_at, lot.available_at, lot.expires_at, lot.released,
        )
        for lot in member.lots
    ]  # fmt: skip
    rows.tables["tier_month"] += [(member_id, m, p) for m, p in sorted(member.months.items())]
    rows.tables["earned_month"] += [(member_id, m, p) for m, p in sorted(member.earned.items())]


def simulate_chunk(plan: Plan, chunk: int) -> Rows:
    """The rows of one chunk's members, numbered from 0; the same for a chunk whoever runs it."""
    rng, rows = random.Random(f"{plan.seed}:{chunk}"), Rows()
    entries = plan.entries
    size = plan.chunk_members
    for index in range(chunk * size, min(plan.members, (chunk + 1) * size)):
        spread = rng.randint(max(1, entries // 2), max(1, entries * 3 // 2))
        simulate(rows, index=index, entries=spread, plan=plan, rng=rng)
    return rows


def numbered(rows: Rows, first: Sequence[int], null: str | None) -> dict[str, list[Row]]:
    """The chunk's rows as stored: ids moved on by the chunk's first ids, values in column form,
    missing values as `null` (only entries miss some: a reference and an actor)."""
    entry, lot, allocation, purchase, key = first
    return {
        "member": [
            (*m[:6], m[6].isoformat(), *m[7:9], int(m[9]), m[10], _stamp(m[11]), m[12],
             _stamp(m[13]), *m[14:])
            for m in rows.tables["member"]
        ],
        "ledger_entry": [
            (e[0] + entry, *e[1:9], null if e[9] is None else e[9],
             null if e[10] is None else e[10], _stamp(e[11]),
             null if e[12] is None else e[12] + entry)
            for e in rows.tables["ledger_entry"]
        ],
        "lot": [
            (lo[0] + lot, lo[1], lo[2] + entry, *lo[3:6], _stamp(lo[6]), _stamp(lo[7]),
             _stamp(lo[8]), int(lo[9]))
            for lo in rows.tables["lot"]
        ],
        "lot_allocation": [
            (a[0] + allocation, a[1] + entry, a[2] + lot, a[3])
            for a in rows.tables["lot_allocation"]
        ],
        "purchase": [
            (p[0] + purchase, p[1], p[2], p[3], "EUR", "store-bench", _stamp(p[4]),
             f'[{{"sku": "SKU-1", "category": "denim", "unitPrice": "{p[3]}", "quantity": 1}}]',
             p[5], p[6] + entry, "0", 0, ACTOR, _stamp(p[4]))
            for p in rows.tables["purchase"]
        ],
        "idempotency_key": [
            (k[0] + key, "purchase", k[2], k[7], _snapshot(k[1] + purchase, k), _stamp(k[5]))
            for k in rows.tables["idempotency_key"]
        ],
        "tier_month": [(t[0], t[1].isoformat(), t[2]) for t in rows.tables["tier_month"]],
        "earned_month": [(t[0], t[1].isoformat(), t[2]) for t in rows.tables["earned_month"]],
    }  # fmt: skip


def _snapshot(purchase_id: int, key: Row) -> str:
    """A recorded purchase's stored answer (`PurchaseSnapshot.as_json`) as JSON text."""
    _, _, order_id, member_id, amount, at, points, _ = key
    return (
        f'{{"id": {purchase_id}, "order_id": "{order_id}", "member_id": {member_id}, '
        f'"amount": "{amount}", "currency": "EUR", "channel": "store-bench", '
        f'"occurred_at": "{at.isoformat()}+00:00", "points": {points}, '
        f'"refunded_amount": "0", "reversed_points": 0, '
        f'"member_reference": "{_card_number(member_id - 1)}"}}'
    )


def copy_text(rows: list[Row]) -> bytes:
    """Rows in COPY's text format, NULL already spelled `\\N` (no value holds a tab, newline or
    backslash)."""
    return "".join(["\t".join(map(str, row)) + "\n" for row in rows]).encode()


class Numbering:
    """Hands each chunk its first ids once the chunk before it has counted its rows.

    Chunks are simulated in any order by any worker, but numbered strictly in member order, so
    the ids are the same whatever the number of workers.
    """

    def __init__(self, context: Any, chunks: int) -> None:
        self.condition = context.Condition()
        width = len(NUMBERED)
        self.firsts = context.Array("q", [1] * width + [0] * chunks * width, lock=False)
        self.ready = context.Array("b", [1] + [0] * chunks, lock=False)
        self.broken = context.Value("b", 0, lock=False)

    def abort(self) -> None:
        """A chunk failed: the chunks waiting for it give up at once."""
        with self.condition:
            self.broken.value = 1
            self.condition.notify_all()

    def claim(self, chunk: int, counts: Sequence[int]) -> list[int]:
        """The chunk's first ids; lets the next chunk go on from after its rows."""
        width = len(NUMBERED)
        with self.condition:
            waited = self.condition.wait_for(
                lambda: self.ready[chunk] or self.broken.value, NUMBERING_TIMEOUT
            )
            if not waited or self.broken.value:
                raise RuntimeError(f"chunk {chunk - 1} never counted its rows")
            first = list(self.firsts[chunk * width : (chunk + 1) * width])
            following = [f + c for f, c in zip(first, counts, strict=True)]
            self.firsts[(chunk + 1) * width : (chunk + 2) * width] = following
            self.ready[chunk + 1] = 1
            self.condition.notify_all()
        return first


_numbering: Numbering | None = None


def _start_worker(numbering: Numbering) -> None:
    """Keep the shared numbering in the worker process."""
    global _numbering
    _numbering = numbering


def build_chunk(plan: Plan, chunk: int) -> tuple[dict[str, int], dict[str, Any]]:
    """Simulate, number and encode one chunk: (rows per table, COPY text or tuples per table)."""
    assert _numbering is not None
    try:
        rows = simulate_chunk(plan, chunk)
    except BaseException:
        _numbering.abort()
        raise
    first = _numbering.claim(chunk, [rows.count(table) for table in NUMBERED])
    tables = numbered(rows, first, COPY_NULL if plan.postgres else None)
    counts = {table: len(values) for table, values in tables.items()}
    if plan.postgres:
        return counts, {table: copy_text(values) for table, values in tables.items()}
    return counts, tables


async def built_chunks(plan: Plan, workers: int) -> AsyncGenerator[tuple[dict[str, int], Any]]:
    """The chunks in member order, built by `workers` processes, a few chunks ahead of the writer."""
    context = multiprocessing.get_context("spawn")  # no copy of the caller's loop or connections
    numbering = Numbering(context, plan.chunks)
    pool = ProcessPoolExecutor(
        workers, mp_context=context, initializer=_start_worker, initargs=(numbering,)
    )
    try:
        chunks = iter(range(plan.chunks))
        ahead = deque(
            pool.submit(build_chunk, plan, c) for c in itertools.islice(chunks, workers + 1)
        )
        while ahead:
            yield await asyncio.wrap_future(ahead.popleft())
            ahead.extend(pool.submit(build_chunk, plan, c) for c in itertools.islice(chunks, 1))
    finally:
        numbering.abort()  # a writer that stopped early leaves no worker waiting
        pool.shutdown(cancel_futures=True)


@dataclass(frozen=True)
class SeedReport:
    """What was written and how long it took."""

    rows: dict[str, int]
    seconds: float


async def seed_bench(
    database: Database,
    *,
    members: int,
    entries: int,
    now: datetime,
    seed: int = 1,
    workers: int = 1,
    chunk_members: int = CHUNK_MEMBERS,
    progress: Callable[[str], None] = lambda _: None,
) -> SeedReport:
    """Fill an empty, migrated database with `members` members of about `entries` entries each."""
    started = time.perf_counter()
    async with database.writer.connect() as conn:
        if (await conn.execute(text("SELECT count(*) FROM member"))).scalar_one():
            raise ValueError("seed-bench fills an empty database: it already has members")
        rules = await load_rules(conn)
        await conn.rollback()
    postgres = not is_sqlite(database.url)
    naive_now = now.astimezone(UTC).replace(tzinfo=None)
    plan = Plan(members, entries, naive_now, rules, seed, postgres, chunk_members)
    write = _write_postgres if postgres else _write_sqlite
    async with contextlib.aclosing(built_chunks(plan, workers)) as chunks:
        totals = await write(database, chunks, progress)
    return SeedReport(totals, round(time.perf_counter() - started, 1))


def _add(totals: dict[str, int], counts: dict[str, int], progress: Callable[[str], None]) -> None:
    """Count a chunk's rows into the totals and say how far the load is."""
    for table, count in counts.items():
        totals[table] = totals.get(table, 0) + count
    progress(f"{totals['member']} members, {totals['ledger_entry']} entries")


# Definitions of what the load drops and creates again on PostgreSQL: foreign keys of the seeded
# tables, their unique constraints and their indexes that back no constraint. Primary keys stay
# (ids arrive in order, so their indexes only grow at the right edge).
PG_DEFERRED = """
SELECT 'constraint', c.conname, c.conrelid::regclass::text, pg_get_constraintdef(c.oid), c.contype
FROM pg_constraint c
WHERE c.conrelid = ANY($1::regclass[]) AND c.contype IN ('f', 'u')
UNION ALL
SELECT 'index', i.indexrelid::regclass::text, i.indrelid::regclass::text,
       pg_get_indexdef(i.indexrelid), 'i'
FROM pg_index i
WHERE i.indrelid = ANY($1::regclass[])
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
"""


async def _write_postgres(
    database: Database,
    chunks: AsyncIterator[tuple[dict[str, int], dict[str, bytes]]],
    progress: Callable[[str], None],
) -> dict[str, int]:
    """COPY every chunk in one transaction, around which constraints and indexes are deferred."""
    totals: dict[str, int] = {}
    async with database.writer.connect() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        assert raw is not None
        await raw.execute("SET maintenance_work_mem = '512MB'")
        async with raw.transaction():
            deferred = await raw.fetch(PG_DEFERRED, list(TABLES))
            for kind, name, table, _, _ in deferred:
                drop = f"DROP INDEX {name}" if kind == "index" else ""
                await raw.execute(drop or f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            async for counts, copies in chunks:
                for table in TABLES:
                    await raw.copy_to_table(
                        table, source=BytesIO(copies[table]), columns=COLUMNS[table]
                    )
                _add(totals, counts, progress)
            for count in COUNT_SCORES:
                await raw.execute(count)
            progress("creating indexes and constraints")
            # Foreign keys last: checking them reads the other tables through their indexes.
            for kind, name, table, definition, _ in sorted(deferred, key=lambda d: d[4] == "f"):
                if kind == "index":
                    await raw.execute(definition)
                else:
                    await raw.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
            for table in SERIAL_TABLES:
                await raw.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
                )
        progress("vacuum")
        await raw.execute("VACUUM (ANALYZE)")  # hint bits and visibility map, as autovacuum would
    return totals


async def _write_sqlite(
    database: Database,
    chunks: AsyncIterator[tuple[dict[str, int], dict[str, list[Row]]]],
    progress: Callable[[str], None],
) -> dict[str, int]:
    """Insert every chunk with executemany in one transaction of plain sqlite3.

    During the load only: the rollback journal in memory (a fresh load appends pages, so it stays
    small and a failure still rolls back), an exclusive lock, no syncs, a large page cache, and
    the secondary indexes dropped and created again from their stored SQL at the end.
    """
    totals: dict[str, int] = {}
    path = make_url(database.url).database
    await database.dispose()  # no pooled connection holds the file while it grows
    connection = sqlite3.connect(str(path), isolation_level=None)
    journal = connection.execute("PRAGMA journal_mode").fetchone()[0]
    try:
        for pragma in ("journal_mode=MEMORY", "locking_mode=EXCLUSIVE", "synchronous=OFF",
                       "cache_size=-524288", "temp_store=MEMORY"):  # fmt: skip
            connection.execute(f"PRAGMA {pragma}")
        marks = ",".join("?" * len(TABLES))
        indexes = connection.execute(
            f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            f"AND tbl_name IN ({marks}) ORDER BY name",
            TABLES,
        ).fetchall()
        connection.execute("BEGIN")
        try:
            for name, _ in indexes:
                connection.execute(f'DROP INDEX "{name}"')
            async for counts, tables in chunks:
                for table in TABLES:
                    names = ", ".join(f'"{column}"' for column in COLUMNS[table])
                    values = ", ".join("?" * len(COLUMNS[table]))
                    connection.executemany(
                        f"INSERT INTO {table} ({names}) VALUES ({values})", tables[table]
                    )
                _add(totals, counts, progress)
            for count in COUNT_SCORES:
                connection.execute(count)
            progress("creating indexes")
            for _, sql in indexes:
                connection.execute(sql)
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("ANALYZE")
    finally:
        connection.execute(f"PRAGMA journal_mode={journal}")
        connection.execute("PRAGMA locking_mode=NORMAL")
        connection.close()
    return totals
