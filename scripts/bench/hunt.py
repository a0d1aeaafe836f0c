"""A short measurement of `finishMascotHunt` in process, each after its own `startMascotHunt`.

    .venv/bin/python -m scripts.bench.hunt [--seconds 5] [--connections 16] [--members 100]
        [--postgres-url postgresql://postgres@127.0.0.1:5432/test]

For each database (as `scripts.bench.redeem`): migrate, enrol the members with points, lift the
daily caps on hunts and hunt points (program setting `mascot_hunt`), then keep `connections`
hunts in flight (random member: start with a new key, then finish at once with a catch of every
mascot of the plan a human reaction after it appeared, so every catch is judged and credited)
for `seconds`. Prints hunts (start + finish) per second and each step's p50/p99, checks the
books (hunts finished = successes, each credited all it earned, balances moved by exactly the
hunts' points), then runs `redeemOffer` for `seconds` on the same members as the baseline.
"""

from __future__ import annotations

import asyncio
import random
from argparse import Namespace

from sqlalchemy import func, select, update

from backend.db.engine import Database
from backend.db.tables import MascotHunt, ProgramSetting
from scripts.bench.databases import on_each_database
from scripts.bench.inprocess import (
    Run,
    bench_app,
    drive,
    members_with_points,
    parse_args,
    points_moved,
    refused,
)
from scripts.bench.redeem import redemptions

START = """mutation($key: String!) { startMascotHunt(idempotencyKey: $key) {
  hunt { id reactionMs spawns { mascotId appearAtMs } } errors { code } } }"""
FINISH = """mutation($id: ID!, $catches: [MascotCatchInput!]!) {
  finishMascotHunt(sessionId: $id, catches: $catches) {
  result { pointsEarned pointsAwarded rejected { reason } } errors { code } } }"""
NO_CAPS = {"daily_hunts": 10**6, "daily_points_cap": 10**9}


async def measure(url: str, args: Namespace) -> str:
    """Seed one database, drive hunts, check the books, then the baseline; lines of figures."""
    async with bench_app(url) as (database, call):
        uids = await members_with_points(call, database, args.members)
        await lift_caps(database)
        starts, finishes = Run(), Run()

        async def hunt(n: int) -> bool:
            """Start and finish a hunt as a random member; whether either was refused."""
            token = f"member:{random.choice(uids)}"
            started = await starts.timed(call(START, token, key=f"h{n}"))
            if refused(started, "startMascotHunt"):
                starts.failures += 1
                return True
            plan = started["data"]["startMascotHunt"]["hunt"]
            catches = [
                {"mascotId": s["mascotId"], "caughtAtMs": s["appearAtMs"] + plan["reactionMs"] + 80}
                for s in plan["spawns"]
            ]
            body = await finishes.timed(call(FINISH, token, id=plan["id"], catches=catches))
            failed = refused(body, "finishMascotHunt") or not fully_credited(
                body["data"]["finishMascotHunt"]["result"]
            )
            finishes.failures += failed
            return failed

        run = await drive(hunt, seconds=args.seconds, connections=args.connections)
        starts.elapsed = finishes.elapsed = run.elapsed
        books = await check(database, finishes.succeeded)
        dialect = database.writer.dialect.name
        lines = [
            run.line(dialect, "hunts", books),
            finishes.line("  finish", "finishes", books),
            starts.line("  start", "starts", books),
            await redemptions(call, database, uids, args),
        ]
    await database.dispose()
    return "\n".join(lines)


def fully_credited(result: dict) -> bool:
    """Every catch accepted and every point earned awarded (no cap in the way)."""
    return not result["rejected"] and result["pointsAwarded"] == result["pointsEarned"] > 0


async def lift_caps(database: Database) -> None:
    """Let every member hunt (and earn) as often as the drive asks on one local day."""
    key = ProgramSetting.key == "mascot_hunt"  # type: ignore[arg-type]
    async with database.writer.begin() as conn:
        rules = (await conn.execute(select(ProgramSetting.value).where(key))).scalar_one()
        await conn.execute(update(ProgramSetting).where(key).values(value={**rules, **NO_CAPS}))


async def check(database: Database, succeeded: int) -> str:
    """Finished hunts, their points and the balances agree with the successful finishes."""
    done = MascotHunt.finished_at.is_not(None)  # type: ignore[union-attr]
    async with database.reader.connect() as conn:
        hunts, awarded = (
            await conn.execute(select(func.count(), func.sum(MascotHunt.points)).where(done))
        ).one()
    moved = await points_moved(database)
    ok = hunts == succeeded and (awarded or 0) == moved and (succeeded == 0 or moved > 0)
    return "ok" if ok else f"WRONG: hunts {hunts}, awarded {awarded}, balances moved {moved}"


async def main(args: Namespace) -> None:
    """Measure on SQLite, then on PostgreSQL if asked."""
    await on_each_database(lambda url: measure(url, args), args.postgres_url, "hunt")


if __name__ == "__main__":
    asyncio.run(main(parse_args(__doc__, members=100)))
