"""A short measurement of `spinWheel` in process: the real app over httpx's ASGI transport.

    .venv/bin/python -m scripts.bench.spin [--seconds 5] [--connections 16] [--members 100]
        [--postgres-url postgresql://postgres@127.0.0.1:5432/test]

For each database (as `scripts.bench.redeem`): migrate, enrol the members with points, publish a
six-segment wheel (extra spins for 1 point, a daily budget large enough to stay open), then keep
`connections` spins in flight (random member, new key, `buyExtra: true`, so almost every spin
is bought: a debit, a landing, often a credit and the budget's row) for `seconds`. Prints spins
per second, p50/p99 latency and checks the books: spins stored = successes, points moved by
exactly what the spins cost and paid, and the budget's row = the points paid.
"""

from __future__ import annotations

import argparse
import asyncio
import random

from sqlalchemy import func, select

from backend.db.tables import Member, WheelBudget, WheelSpin
from scripts.bench.databases import on_each_database
from scripts.bench.inprocess import (
    POINTS,
    bench_app,
    drive,
    members_with_points,
    parse_args,
    refused,
)

SPIN = """mutation($key: String!) { spinWheel(idempotencyKey: $key, buyExtra: true) {
  spin { kind pointsWon } errors { code } } }"""
CONFIGURE = """mutation { configureWheel(input: { segments: [
  { kind: POINTS, weight: 50, points: 10 }, { kind: TRY_AGAIN, weight: 60 },
  { kind: POINTS, weight: 20, points: 50 }, { kind: EXTRA_SPIN, weight: 12 },
  { kind: POINTS, weight: 5, points: 500 }, { kind: TRY_AGAIN, weight: 53 }],
  extraSpinPrice: 1, dailyPointsBudget: 1000000000 }) { errors { code } } }"""


async def measure(url: str, args: argparse.Namespace) -> str:
    """Seed one database, drive spins, check the books; one line of figures."""
    async with bench_app(url) as (database, call):
        uids = await members_with_points(call, database, args.members)
        assert (await call(CONFIGURE, "marketing:bench"))["data"]["configureWheel"]["errors"] == []

        async def spin(n: int) -> bool:
            """Spin as a random member with a new key; whether it was refused."""
            body = await call(SPIN, f"member:{random.choice(uids)}", key=f"s{n}")
            return refused(body, "spinWheel")

        run = await drive(spin, seconds=args.seconds, connections=args.connections)
    books = await check(database, run.succeeded, args.members)
    await database.dispose()
    return run.line(database.writer.dialect.name, "spins", books)


async def check(database, succeeded: int, members: int) -> str:
    """Spins, balances and the budget agree with the successful spins."""
    async with database.reader.connect() as conn:
        spins, spent, won = (
            await conn.execute(
                select(func.count(), func.sum(WheelSpin.points_spent), func.sum(WheelSpin.points))
            )
        ).one()
        balances = (await conn.execute(select(func.sum(Member.balance)))).scalar_one()
        budget = (await conn.execute(select(func.sum(WheelBudget.points)))).scalar_one() or 0
    ok = spins == succeeded and balances == POINTS * members - spent + won and budget == won
    return "ok" if ok else f"WRONG: spins {spins}, balances {balances}, budget {budget}"


async def main(args: argparse.Namespace) -> None:
    """Measure on SQLite, then on PostgreSQL if asked."""
    await on_each_database(lambda url: measure(url, args), args.postgres_url, "spin")


if __name__ == "__main__":
    asyncio.run(main(parse_args(__doc__, members=100)))
