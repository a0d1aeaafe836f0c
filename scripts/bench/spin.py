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
import statistics
import time

import httpx
from sqlalchemy import func, select

from backend.db.engine import open_database
from backend.db.migrate import upgrade_to_head
from backend.db.tables import Member, WheelBudget, WheelSpin
from backend.main import create_app
from backend.rewards.clock import SystemClock
from backend.settings import Settings
from scripts.bench.databases import on_each_database
from scripts.bench.redeem import ADJUST, ENROLL
from scripts.bench.servers import BenchVerifier

SPIN = """mutation($key: String!) { spinWheel(idempotencyKey: $key, buyExtra: true) {
  spin { kind pointsWon } errors { code } } }"""
CONFIGURE = """mutation { configureWheel(input: { segments: [
  { kind: POINTS, weight: 50, points: 10 }, { kind: TRY_AGAIN, weight: 60 },
  { kind: POINTS, weight: 20, points: 50 }, { kind: EXTRA_SPIN, weight: 12 },
  { kind: POINTS, weight: 5, points: 500 }, { kind: TRY_AGAIN, weight: 53 }],
  extraSpinPrice: 1, dailyPointsBudget: 1000000000 }) { errors { code } } }"""
POINTS = 100_000


async def measure(url: str, args: argparse.Namespace) -> str:
    """Seed one database, drive spins, check the books; one line of figures."""
    database = open_database(url)
    await upgrade_to_head(database.writer)
    settings = Settings(
        mode="production", jobs_enabled=False, rate_limit_spin_wheel="1000000/minute"
    )
    app = create_app(settings, verifier=BenchVerifier(), clock=SystemClock(), database=database)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://bench"
    ) as client:

        async def call(query: str, token: str, **variables: str) -> dict:
            """Post one operation."""
            headers = {"Authorization": f"Bearer {token}"}
            body = {"query": query, "variables": variables}
            return (await client.post("/graphql", json=body, headers=headers)).json()

        uids = [f"bench-{i:05d}" for i in range(args.members)]
        for uid in uids:
            await call(ENROLL, f"member:{uid}")
        async with database.reader.connect() as conn:
            cards = (await conn.execute(select(Member.card_number))).scalars().all()
        for card in cards:
            await call(ADJUST, "marketing:bench", uid=card)
        assert (await call(CONFIGURE, "marketing:bench"))["data"]["configureWheel"]["errors"] == []
        latencies: list[float] = []
        failures = 0
        deadline = time.perf_counter() + args.seconds
        counter = iter(range(10**9))

        async def spinner() -> None:
            """Spin until the deadline."""
            nonlocal failures
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                body = await call(SPIN, f"member:{random.choice(uids)}", key=f"s{next(counter)}")
                latencies.append(time.perf_counter() - started)
                payload = (body.get("data") or {}).get("spinWheel") or {}
                failures += bool(body.get("errors") or payload.get("errors"))

        started = time.perf_counter()
        await asyncio.gather(*(spinner() for _ in range(args.connections)))
        elapsed = time.perf_counter() - started
    books = await check(database, len(latencies) - failures, args.members)
    await database.dispose()
    latencies.sort()
    return (
        f"{database.writer.dialect.name:10} {len(latencies) / elapsed:7.1f} spins/s  "
        f"p50 {statistics.median(latencies) * 1000:6.1f} ms  "
        f"p99 {latencies[int(len(latencies) * 0.99)] * 1000:6.1f} ms  "
        f"({len(latencies)} in {elapsed:.1f} s, {failures} refused, books {books})"
    )


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


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--members", type=int, default=100)
    parser.add_argument("--postgres-url", default=None)
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
