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

import asyncio
import random
from argparse import Namespace

from sqlalchemy import func, select

from backend.db.engine import Database
from backend.db.tables import LedgerEntry, Offer, Voucher
from scripts.bench.databases import on_each_database
from scripts.bench.inprocess import (
    Call,
    bench_app,
    drive,
    members_with_points,
    parse_args,
    refused,
)

REDEEM = """mutation($id: ID!, $key: String!) { redeemOffer(offerId: $id, idempotencyKey: $key) {
  voucher { code } errors { code } } }"""
CREATE = """mutation { createOffer(input: { texts: [{ language: "en", title: "Bench" }],
  kind: FREE_SHIPPING, pointsCost: 1, stock: 1000000 }) { offer { id } errors { code } } }"""


async def measure(url: str, args: Namespace) -> str:
    """Seed one database, drive redemptions, check the books; one line of figures."""
    async with bench_app(url) as (database, call):
        uids = await members_with_points(call, database, args.members)
        line = await redemptions(call, database, uids, args)
    await database.dispose()
    return line


async def redemptions(call: Call, database: Database, uids: list[str], args: Namespace) -> str:
    """Make an offer, drive redemptions of it by `uids`, check its books; one line of figures.

    The other in-process benchmarks run this beside their own mutation as the baseline.
    """
    offer_id = (await call(CREATE, "marketing:bench"))["data"]["createOffer"]["offer"]["id"]

    async def redemption(n: int) -> bool:
        """Redeem as a random member with a new key; whether it was refused."""
        body = await call(REDEEM, f"member:{random.choice(uids)}", id=offer_id, key=f"k{n}")
        return refused(body, "redeemOffer")

    run = await drive(redemption, seconds=args.seconds, connections=args.connections)
    books = await check(database, run.succeeded)
    return run.line(database.writer.dialect.name, "redemptions", books)


async def check(database: Database, succeeded: int) -> str:
    """Vouchers, stock and the ledger's offer debits agree with the successful redemptions."""
    async with database.reader.connect() as conn:
        vouchers = (
            await conn.execute(select(func.count()).where(Voucher.origin == "redemption"))
        ).scalar_one()
        stock = (
            await conn.execute(select(Offer.stock).where(Offer.stock.is_not(None)))
        ).scalar_one()
        offers = LedgerEntry.source == "offer"  # type: ignore[arg-type]
        spent = (await conn.execute(select(-func.sum(LedgerEntry.amount)).where(offers))).scalar()
    ok = vouchers == succeeded == 1_000_000 - stock == (spent or 0)
    return "ok" if ok else f"WRONG: vouchers {vouchers}, stock {stock}, spent {spent}"


async def main(args: Namespace) -> None:
    """Measure on SQLite, then on PostgreSQL if asked."""
    await on_each_database(lambda url: measure(url, args), args.postgres_url, "redeem")


if __name__ == "__main__":
    asyncio.run(main(parse_args(__doc__, members=200)))
