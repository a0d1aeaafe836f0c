"""A short measurement of `redeemOffer` in process: the real app over httpx's ASGI transport.

    .venv/bin/python -m scripts.bench.redeem [--seconds 5] [--connections 16] [--members 200]
        [--postgres-url postgresql://postgres@127.0.0.1:5432/test]

For each database (a temporary SQLite file; with --postgres-url a scratch database
`rewards_bench_redeem` on a local server, dropped at the end): migrate, enrol the members with
points, create one offer with plenty of stock, then keep `connections` redemptions in flight
(random member, new key each) for `seconds`. Prints redemptions per second, p50/p99 latency and
checks the books (vouchers = successes, stock and balances moved by exactly that much). No wrk,
no HTTP server: it measures the service's own path (GraphQL, unit of work, SQL), not the network.
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
from backend.db.tables import Member, Offer, Voucher
from backend.main import create_app
from backend.rewards.clock import SystemClock
from backend.settings import Settings
from scripts.bench.databases import on_each_database
from scripts.bench.servers import BenchVerifier

REDEEM = """mutation($id: ID!, $key: String!) { redeemOffer(offerId: $id, idempotencyKey: $key) {
  voucher { code } errors { code } } }"""
ENROLL = 'mutation { enroll(input: { birthDate: "1990-05-17" }) { member { id } } }'
CREATE = """mutation { createOffer(input: { texts: [{ language: "en", title: "Bench" }],
  kind: FREE_SHIPPING, pointsCost: 1, stock: 1000000 }) { offer { id } errors { code } } }"""
ADJUST = """mutation($uid: String!) { adjustPoints(input: { memberReference: $uid, points: 100000,
  reason: "bench points", idempotencyKey: $uid }) { errors { code } } }"""


async def measure(url: str, args: argparse.Namespace) -> str:
    """Seed one database, drive redemptions, check the books; one line of figures."""
    database = open_database(url)
    await upgrade_to_head(database.writer)
    settings = Settings(mode="production", jobs_enabled=False, rate_limit_redeem="1000000/minute")
    app = create_app(settings, verifier=BenchVerifier(), clock=SystemClock(), database=database)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:

        async def call(query: str, token: str, **variables: str) -> dict:
            """Post one operation."""
            response = await client.post(
                "/graphql",
                json={"query": query, "variables": variables},
                headers={"Authorization": f"Bearer {token}"},
            )
            return response.json()

        uids = [f"bench-{i:05d}" for i in range(args.members)]
        for uid in uids:
            await call(ENROLL, f"member:{uid}")
        async with database.reader.connect() as conn:
            cards = (await conn.execute(select(Member.card_number))).scalars().all()
        for card in cards:
            await call(ADJUST, "marketing:bench", uid=card)
        offer_id = (await call(CREATE, "marketing:bench"))["data"]["createOffer"]["offer"]["id"]
        latencies: list[float] = []
        failures = 0
        deadline = time.perf_counter() + args.seconds
        counter = iter(range(10**9))

        async def worker() -> None:
            """Redeem until the deadline."""
            nonlocal failures
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                body = await call(
                    REDEEM, f"member:{random.choice(uids)}", id=offer_id, key=f"k{next(counter)}"
                )
                latencies.append(time.perf_counter() - started)
                payload = (body.get("data") or {}).get("redeemOffer") or {}
                failures += bool(body.get("errors") or payload.get("errors"))

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(args.connections)))
        elapsed = time.perf_counter() - started
    books = await check(database, len(latencies) - failures)
    await database.dispose()
    latencies.sort()
    return (
        f"{database.writer.dialect.name:10} {len(latencies) / elapsed:7.1f} redemptions/s  "
        f"p50 {statistics.median(latencies) * 1000:6.1f} ms  "
        f"p99 {latencies[int(len(latencies) * 0.99)] * 1000:6.1f} ms  "
        f"({len(latencies)} in {elapsed:.1f} s, {failures} refused, books {books})"
    )


async def check(database, succeeded: int) -> str:
    """Vouchers, stock and points agree with the successful redemptions."""
    async with database.reader.connect() as conn:
        vouchers = (
            await conn.execute(select(func.count()).where(Voucher.origin == "redemption"))
        ).scalar_one()
        stock = (
            await conn.execute(select(Offer.stock).where(Offer.stock.is_not(None)))
        ).scalar_one()
        spent = (await conn.execute(select(func.sum(100_000 - Member.balance)))).scalar_one()
    ok = vouchers == succeeded == 1_000_000 - stock == spent
    return "ok" if ok else f"WRONG: vouchers {vouchers}, stock {stock}, spent {spent}"


async def main(args: argparse.Namespace) -> None:
    """Measure on SQLite, then on PostgreSQL if asked."""
    await on_each_database(lambda url: measure(url, args), args.postgres_url, "redeem")


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--postgres-url", default=None)
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
