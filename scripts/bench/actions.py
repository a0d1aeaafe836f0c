"""A short measurement of `claimAction` and `recordVerifiedAction` in process.

    .venv/bin/python -m scripts.bench.actions [--seconds 5] [--connections 16] [--members 100]
        [--postgres-url postgresql://postgres@127.0.0.1:5432/test]

For each database (as `scripts.bench.redeem`): migrate, enrol the members with points, lift the
daily caps of `SOCIAL_SHARE` (5 points, members report it) and `FITNESS_STEPS` (1 point per
1,000 steps, integrations report it) with `configureEarningRule`, then for `seconds` each keep
`connections` reports in flight: shares claimed by random members with a new key, then 8,250
steps recorded by an integration for random members' cards with a new key and reference. Every
report is an award: a ledger credit and the action's tallies under the member's lock. Prints
reports per second and p50/p99 latency of each, checks the books (one `action` ledger entry per
success, balances moved by exactly their points), then runs `redeemOffer` for `seconds` on the
same members as the baseline.
"""

from __future__ import annotations

import asyncio
import random
from argparse import Namespace

from sqlalchemy import func, select

from backend.db.engine import Database
from backend.db.tables import LedgerEntry, Member
from scripts.bench.databases import on_each_database
from scripts.bench.inprocess import (
    Call,
    Request,
    bench_app,
    drive,
    members_with_points,
    parse_args,
    points_moved,
    refused,
)
from scripts.bench.redeem import redemptions

CLAIM = """mutation($key: String!) { claimAction(input: { action: SOCIAL_SHARE,
  idempotencyKey: $key }) { action { pointsAwarded } errors { code } } }"""
RECORD = """mutation($card: String!, $key: String!) { recordVerifiedAction(input: {
  memberReference: $card, action: FITNESS_STEPS, quantity: 8250, reference: $key,
  idempotencyKey: $key }) { action { pointsAwarded } errors { code } } }"""
NO_CAPS = """mutation { share: configureEarningRule(input: { action: SOCIAL_SHARE, points: 5,
  reporter: MEMBER }) { errors { code } }
  steps: configureEarningRule(input: { action: FITNESS_STEPS, points: 1, unit: 1000,
  reporter: INTEGRATION }) { errors { code } } }"""
INTEGRATION = "integration:pos-bench"


async def measure(url: str, args: Namespace) -> str:
    """Seed one database, drive both reports, check the books, then the baseline; lines."""
    async with bench_app(url) as (database, call):
        uids = await members_with_points(call, database, args.members)
        answer = (await call(NO_CAPS, "marketing:bench"))["data"]
        assert answer["share"]["errors"] == answer["steps"]["errors"] == [], answer
        dialect, lines, awards = database.writer.dialect.name, [], 0
        for unit, request in (
            ("claims", claimer(call, uids)),
            ("records", recorder(call, await cards(database))),
        ):
            run = await drive(request, seconds=args.seconds, connections=args.connections)
            awards += run.succeeded
            lines.append(run.line(dialect, unit, await check(database, awards)))
        lines.append(await redemptions(call, database, uids, args))
    await database.dispose()
    return "\n".join(lines)


def claimer(call: Call, uids: list[str]) -> Request:
    """Claims of a share by random members, a new key each."""

    async def claim(n: int) -> bool:
        """Claim one share; whether it was refused."""
        body = await call(CLAIM, f"member:{random.choice(uids)}", key=f"c{n}")
        return refused(body, "claimAction")

    return claim


def recorder(call: Call, numbers: list[str]) -> Request:
    """Steps recorded by an integration for random members' cards, a new key each."""

    async def record(n: int) -> bool:
        """Record one walk; whether it was refused."""
        body = await call(RECORD, INTEGRATION, card=random.choice(numbers), key=f"r{n}")
        return refused(body, "recordVerifiedAction")

    return record


async def cards(database: Database) -> list[str]:
    """The bench members' card numbers."""
    async with database.reader.connect() as conn:
        bench = select(Member.card_number).where(Member.uid.like("bench-%"))  # type: ignore[attr-defined]
        return list((await conn.execute(bench)).scalars())


async def check(database: Database, awards: int) -> str:
    """One `action` entry per award so far, and the balances moved by exactly their points."""
    actions = LedgerEntry.source == "action"  # type: ignore[arg-type]
    async with database.reader.connect() as conn:
        entries, points = (
            await conn.execute(select(func.count(), func.sum(LedgerEntry.amount)).where(actions))
        ).one()
    moved = await points_moved(database)
    ok = entries == awards and (points or 0) == moved
    return "ok" if ok else f"WRONG: awards {entries} of {awards}, {points} points, moved {moved}"


async def main(args: Namespace) -> None:
    """Measure on SQLite, then on PostgreSQL if asked."""
    await on_each_database(lambda url: measure(url, args), args.postgres_url, "actions")


if __name__ == "__main__":
    asyncio.run(main(parse_args(__doc__, members=100)))
