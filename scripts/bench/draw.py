"""A short measurement of `enterDraw` in process: every member takes tickets in one prize draw.

    .venv/bin/python -m scripts.bench.draw [--seconds 5] [--connections 16] [--members 100]
        [--postgres-url postgresql://postgres@127.0.0.1:5432/test]

For each database (as `scripts.bench.redeem`): migrate, enrol the members with points, open one
draw (a ticket costs 1 point, up to 100 tickets a member, closing tomorrow), then keep
`connections` entries in flight (random member, new key each) for `seconds`: every ticket of
the draw is numbered in turn, so all entries meet on the draw's row. Prints tickets per second,
p50/p99 latency and checks the books (tickets = successes, numbered 1 to n without gaps, the
draw's count = n, balances moved by exactly the tickets' cost), then runs `redeemOffer` for
`seconds` on the same members as the baseline.
"""

from __future__ import annotations

import asyncio
import random
from argparse import Namespace
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from backend.db.engine import Database
from backend.db.tables import DrawTicket, PrizeDraw
from scripts.bench.databases import on_each_database
from scripts.bench.inprocess import (
    bench_app,
    drive,
    members_with_points,
    parse_args,
    points_moved,
    refused,
)
from scripts.bench.redeem import redemptions

ENTER = """mutation($id: ID!, $key: String!) { enterDraw(drawId: $id, idempotencyKey: $key) {
  ticket { number } draw { ticketCount } errors { code } } }"""
CREATE = """mutation($closes: DateTime!) { createDraw(input: { prize: { en: "Bench prize" },
  closesAt: $closes, winners: 1, entryCost: 1, maxEntriesPerMember: 100 }) {
  draw { id } errors { code } } }"""


async def measure(url: str, args: Namespace) -> str:
    """Seed one database, drive entries, check the books, then the baseline; lines of figures."""
    async with bench_app(url) as (database, call):
        uids = await members_with_points(call, database, args.members)
        closes = (datetime.now(UTC) + timedelta(days=1)).isoformat()
        created = await call(CREATE, "marketing:bench", closes=closes)
        draw_id = created["data"]["createDraw"]["draw"]["id"]

        async def entry(n: int) -> bool:
            """Take a ticket as a random member with a new key; whether it was refused."""
            body = await call(ENTER, f"member:{random.choice(uids)}", id=draw_id, key=f"d{n}")
            return refused(body, "enterDraw")

        run = await drive(entry, seconds=args.seconds, connections=args.connections)
        books = await check(database, run.succeeded)
        lines = [
            run.line(database.writer.dialect.name, "tickets", books),
            await redemptions(call, database, uids, args),
        ]
    await database.dispose()
    return "\n".join(lines)


async def check(database: Database, succeeded: int) -> str:
    """Tickets, their numbers, the draw's count and the balances agree with the successes."""
    async with database.reader.connect() as conn:
        tickets, last = (
            await conn.execute(select(func.count(), func.max(DrawTicket.ticket)))
        ).one()
        counted = (await conn.execute(select(PrizeDraw.tickets))).scalar_one()
    moved = await points_moved(database)
    ok = tickets == succeeded == (last or 0) == counted == -moved
    return "ok" if ok else f"WRONG: tickets {tickets}, last {last}, draw {counted}, moved {moved}"


async def main(args: Namespace) -> None:
    """Measure on SQLite, then on PostgreSQL if asked."""
    await on_each_database(lambda url: measure(url, args), args.postgres_url, "draw")


if __name__ == "__main__":
    asyncio.run(main(parse_args(__doc__, members=100)))
