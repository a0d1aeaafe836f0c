"""A big, consistent benchmark database in minutes: COPY on PostgreSQL, executemany on SQLite.

Each member's history is simulated in memory with the program's rules (return window, lot
lifetime, FIFO spending, expiry, tier window) and written straight into the tables, a chunk of
members per transaction, without going through the unit of work: purchases (pending, then
released), redemptions, expiries and, for purchases in the last two weeks, pending points. The
result keeps every ledger invariant: balances equal the sums of entries, lots match their
allocations, `tier_month` equals the qualifying entries per month, tiers follow the points.
"""

from __future__ import annotations

import json
import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

from backend.db.engine import Database, is_sqlite
from backend.rewards.clock import add_months
from backend.rewards.members.rules import REFERRAL_ALPHABET, luhn_digit
from backend.rewards.program import ProgramRules, load_rules
from backend.rewards.tiers.rules import qualifying, tier_for

CHUNK_MEMBERS = 5_000


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
        "source_ref actor created_at"
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
}
TABLES = tuple(COLUMNS)
ACTOR = "seed-bench"


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


@dataclass
class Ids:
    """The next id of each table with a serial key."""

    entry: int = 1
    lot: int = 1
    allocation: int = 1
    purchase: int = 1
    key: int = 1


@dataclass
class Rows:
    """Rows of one chunk of members, per table."""

    tables: dict[str, list[tuple[Any, ...]]] = field(
        default_factory=lambda: {name: [] for name in TABLES}
    )

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

    def __init__(self, rows: Rows, ids: Ids, member_id: int, rules: ProgramRules) -> None:
        self.rows, self.ids, self.id, self.rules = rows, ids, member_id, rules
        self.balance = self.pending = 0
        self.lots: list[_Lot] = []
        self.months: dict[date, int] = {}
        self.entries = 0

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
    ) -> int:
        """Append one ledger entry and move the balances with it."""
        self.balance += amount
        self.pending += pending
        entry_id, self.ids.entry = self.ids.entry, self.ids.entry + 1
        self.rows.tables["ledger_entry"].append(
            (
                entry_id,
                self.id,
                kind,
                amount,
                pending,
                self.balance,
                self.pending,
                reason,
                source,
                source_ref,
                actor,
                at,
            )
        )
        if kind in ("earn", "release", "reverse") and amount:
            month = date(at.year, at.month, 1)
            self.months[month] = self.months.get(month, 0) + amount
        self.entries += 1
        return entry_id

    def allocate(self, entry_id: int, lot: _Lot, amount: int) -> None:
        """Record the points a debit took from a lot."""
        self.rows.tables["lot_allocation"].append((self.ids.allocation, entry_id, lot.id, amount))
        self.ids.allocation += 1

    def settle(self, until: datetime) -> None:
        """Write the releases and expiries due by `until`, each at its own moment, in order."""
        while True:
            due = [(lot.available_at, 0, lot) for lot in self.lots if not lot.released]
            due += [(lot.expires_at, 1, lot) for lot in self.lots if lot.released and lot.remaining]
            due = [d for d in due if d[0] <= until]
            if not due:
                return
            at, expiry, lot = min(due, key=lambda d: (d[0], d[1], d[2].id))
            if expiry:
                entry_id = self.entry(at, "expire", "Points expired", amount=-lot.remaining)
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
                )

    def purchase(self, at: datetime, rng: random.Random) -> None:
        """A store order: a pending earn, its lot, the purchase and its idempotency row."""
        purchase_id, self.ids.purchase = self.ids.purchase, self.ids.purchase + 1
        order_id = f"B{self.id}-{purchase_id}"
        amount = Decimal(rng.randrange(1500, 30000)) / 100
        points = int(amount)
        entry_id = self.entry(
            at, "earn", f"Purchase {order_id}", pending=points, source="order",
            source_ref=order_id, actor=ACTOR,
        )  # fmt: skip
        days = int(self.rules.setting("return_window_days"))
        months = int(self.rules.setting("lot_lifetime_months"))
        lot = _Lot(
            self.ids.lot, entry_id, points, points, at, at + timedelta(days=days),
            add_months(at, months), released=False,
        )  # fmt: skip
        self.ids.lot += 1
        self.lots.append(lot)
        line = {"sku": "SKU-1", "category": "denim", "unitPrice": f"{amount:f}", "quantity": 1}
        self.rows.tables["purchase"].append(
            (
                purchase_id, order_id, self.id, amount, "EUR", "store-bench", at,
                json.dumps([line]), points, entry_id, Decimal(0), 0, ACTOR, at,
            )
        )  # fmt: skip
        snapshot = {
            "id": purchase_id, "order_id": order_id, "member_id": self.id,
            "amount": f"{amount:f}", "currency": "EUR", "channel": "store-bench",
            "occurred_at": at.replace(tzinfo=UTC).isoformat(), "points": points,
            "refunded_amount": "0", "reversed_points": 0,
        }  # fmt: skip
        self.rows.tables["idempotency_key"].append(
            (self.ids.key, "purchase", order_id, f"{rng.getrandbits(256):064x}",
             json.dumps(snapshot), at)
        )  # fmt: skip
        self.ids.key += 1

    def redeem(self, at: datetime, rng: random.Random) -> None:
        """Spend part of the balance, oldest-expiring lots first."""
        points = rng.randint(1, self.balance)
        entry_id = self.entry(
            at, "redeem", "Offer redeemed", amount=-points, source="offer", actor=ACTOR
        )
        open_lots = [lot for lot in self.lots if lot.released and lot.remaining]
        for lot in sorted(open_lots, key=lambda lot: (lot.expires_at, lot.id)):
            take = min(points, lot.remaining)
            lot.remaining -= take
            points -= take
            self.allocate(entry_id, lot, take)
            if not points:
                return
        raise AssertionError("simulated balance and lots disagree")


def simulate(
    rows: Rows, ids: Ids, *, index: int, entries: int, now: datetime, rules: ProgramRules,
    rng: random.Random,
) -> None:  # fmt: skip
    """Simulate one member with about `entries` entries up to `now`; append their rows."""
    member_id = index + 1
    enrolled = now - timedelta(days=rng.uniform(30, 900))
    member = _Member(rows, ids, member_id, rules)
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
    reached = max(
        (e[-1] for e in rows.tables["ledger_entry"][-member.entries :] if e[2] == "release"),
        default=enrolled,
    )
    uid = member_uid(index)
    rows.tables["member"].append(
        (
            member_id, uid, _card_number(index), _referral_code(index), f"Bench {index}",
            f"{uid}@example.com", date(1990, 5, 17), "en", "UTC", False, "active", enrolled,
            tier.code, reached, member.balance, member.pending, 0,
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


def chunks(
    *, members: int, entries: int, now: datetime, rules: ProgramRules, seed: int
) -> Iterator[Rows]:
    """The rows of all members, `CHUNK_MEMBERS` at a time (ids follow on across chunks)."""
    rng, ids = random.Random(seed), Ids()
    for start in range(0, members, CHUNK_MEMBERS):
        rows = Rows()
        for index in range(start, min(members, start + CHUNK_MEMBERS)):
            spread = rng.randint(max(1, entries // 2), max(1, entries * 3 // 2))
            simulate(rows, ids, index=index, entries=spread, now=now, rules=rules, rng=rng)
        yield rows


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
    progress: Callable[[str], None] = lambda _: None,
) -> SeedReport:
    """Fill an empty, migrated database with `members` members of about `entries` entries each."""
    started = time.perf_counter()
    async with database.writer.connect() as conn:
        if (await conn.execute(text("SELECT count(*) FROM member"))).scalar_one():
            raise ValueError("seed-bench fills an empty database: it already has members")
        rules = await load_rules(conn)
        await conn.rollback()
    naive_now = now.astimezone(UTC).replace(tzinfo=None)
    batches = chunks(members=members, entries=entries, now=naive_now, rules=rules, seed=seed)
    write = _write_sqlite if is_sqlite(database.url) else _write_postgres
    totals = await write(database, batches, progress)
    return SeedReport(totals, round(time.perf_counter() - started, 1))


def _add(totals: dict[str, int], rows: Rows) -> None:
    """Count a chunk's rows into the totals."""
    for table in TABLES:
        totals[table] = totals.get(table, 0) + rows.count(table)


async def _write_postgres(
    database: Database, batches: Iterator[Rows], progress: Callable[[str], None]
) -> dict[str, int]:
    """COPY each chunk in its own transaction, then move the id sequences past the rows."""
    totals: dict[str, int] = {}
    async with database.writer.connect() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        assert raw is not None
        for rows in batches:
            async with raw.transaction():
                for table in TABLES:
                    await raw.copy_records_to_table(
                        table, records=rows.tables[table], columns=COLUMNS[table]
                    )
            _add(totals, rows)
            progress(f"{totals['member']} members, {totals['ledger_entry']} entries")
        for table in TABLES[:-1]:
            await raw.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
            )
        await raw.execute("VACUUM (ANALYZE)")  # hint bits and visibility map, as autovacuum would
    return totals


def _sqlite_value(value: Any) -> Any:
    """A value as SQLAlchemy stores it on SQLite (datetimes with microseconds, decimals as text)."""
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M:%S.%f}"
    if isinstance(value, Decimal | date):
        return str(value)
    return value


async def _write_sqlite(
    database: Database, batches: Iterator[Rows], progress: Callable[[str], None]
) -> dict[str, int]:
    """Insert each chunk with executemany in one transaction of plain sqlite3."""
    totals: dict[str, int] = {}
    path = make_url(database.url).database
    await database.dispose()  # no pooled connection holds the file while it grows
    connection = sqlite3.connect(str(path), isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=OFF")
        for rows in batches:
            connection.execute("BEGIN")
            for table in TABLES:
                names = ", ".join(f'"{column}"' for column in COLUMNS[table])
                marks = ", ".join("?" * len(COLUMNS[table]))
                connection.executemany(
                    f"INSERT INTO {table} ({names}) VALUES ({marks})",
                    ([_sqlite_value(v) for v in row] for row in rows.tables[table]),
                )
            connection.execute("COMMIT")
            _add(totals, rows)
            progress(f"{totals['member']} members, {totals['ledger_entry']} entries")
        connection.execute("ANALYZE")
    finally:
        connection.close()
    return totals
