"""The surprise campaign job's throughput in process: members rewarded per second.

    .venv/bin/python -m scripts.bench.campaign [--recipients 2000] [--seconds 5]
        [--connections 16] [--members 100]
        [--postgres-url postgresql://postgres@127.0.0.1:5432/test]

For each database (as `scripts.bench.redeem`): migrate, insert `recipients` active members with
marketing consent and a phone each (one statement, as the surprise tests do), save a segment of
everyone and send a surprise of 50 points to it now without holdout (`saveSegment`,
`sendSurprise` through the app), then time `run_due_campaigns` (the job the server and `rewards
campaign-worker` run; batches of `CAMPAIGN_BATCH_SIZE`, 200) draining it. One worker: a
campaign is worked one batch at a time whatever the number of workers (each batch locks the
campaign's row; on PostgreSQL another worker skips it), so more workers help only with more
campaigns. Prints members rewarded per second and each batch's p50/p99 (a batch is one
transaction), checks the books (one recipient row, one ledger entry and one notification per
member, balances moved by exactly the points), then enrols `members` members with points and
runs `redeemOffer` for `seconds` as the baseline.
"""

from __future__ import annotations

import asyncio
import time
from argparse import Namespace
from collections.abc import Awaitable, Callable

from sqlalchemy import func, select

from backend.db.engine import Database
from backend.db.tables import CampaignRecipient, LedgerEntry, Member, Notification
from backend.rewards.clock import SystemClock
from backend.rewards.marketing.campaigns import run_due_campaigns
from backend.rewards.uow import UnitOfWork, UnitOfWorkFactory
from backend.settings import Settings
from scripts.bench.databases import on_each_database
from scripts.bench.inprocess import Call, Run, T, bench_app, members_with_points, parse_args
from scripts.bench.redeem import redemptions
from tests.marketing_support import bulk_members

POINTS = 50
SEGMENT = """mutation { saveSegment(input: { name: "Everyone", filter: {} }) {
  segment { id } errors { code } } }"""
SURPRISE = """mutation($segment: ID!, $key: String!) { sendSurprise(input: { segmentId: $segment,
  name: "Bench surprise", reward: { kind: POINTS, points: 50 }, message: "A little something.",
  holdoutPercent: 0, idempotencyKey: $key }) { campaign { id } errors { code } } }"""
MARKETING = "marketing:bench"


async def measure(url: str, args: Namespace) -> str:
    """Seed one database, time the job, then the baseline; lines of figures."""
    async with bench_app(url) as (database, call):
        await bulk_members(TimedUnits(database), args.recipients, prefix="surprised", devices=True)
        segment = (await call(SEGMENT, MARKETING))["data"]["saveSegment"]["segment"]["id"]
        lines = [await send(call, database, segment, args)]
        uids = await members_with_points(call, database, args.members)
        lines.append(await redemptions(call, database, uids, args))
    await database.dispose()
    return "\n".join(lines)


async def send(call: Call, database: Database, segment: str, args: Namespace) -> str:
    """Send a surprise and time the job draining it; its line of figures."""
    answer = await call(SURPRISE, MARKETING, segment=segment, key="bench")
    assert answer["data"]["sendSurprise"]["errors"] == [], answer
    uows, batch = TimedUnits(database), Settings.model_fields["campaign_batch_size"].default
    started = time.perf_counter()
    report = await run_due_campaigns(uows, batch=batch)
    elapsed = time.perf_counter() - started
    rewarded, times = report.rewarded, uows.batches
    books = await check(database, args.recipients)
    return (
        f"{database.writer.dialect.name:10} {rewarded / elapsed:7.1f} members/s  "
        f"batch of {batch}: p50 {times.ms(0.5):6.1f} ms  p99 {times.ms(0.99):6.1f} ms  "
        f"({rewarded} in {elapsed:.1f} s, {report.batches} batches, books {books})"
    )


class TimedUnits(UnitOfWorkFactory):
    """Units of work whose runs are timed: the job's batches (and its last look, finding none)."""

    def __init__(self, database: Database) -> None:
        super().__init__(database.session_factory(), SystemClock())
        self.batches = Run()

    async def run(self, use_case: Callable[[UnitOfWork], Awaitable[T]], *, attempts: int = 4) -> T:
        """Run one unit of work, timed."""
        return await self.batches.timed(super().run(use_case, attempts=attempts))


async def check(database: Database, expected: int) -> str:
    """Recipients, campaign entries, inbox rows and balances agree: each member rewarded once."""
    surprised = Member.uid.like("surprised-%")  # type: ignore[attr-defined]
    campaign = LedgerEntry.source == "campaign"  # type: ignore[arg-type]
    async with database.reader.connect() as conn:
        rows = (await conn.execute(select(func.count()).select_from(CampaignRecipient))).scalar()
        entries = (await conn.execute(select(func.count()).where(campaign))).scalar()
        inbox = (await conn.execute(select(func.count()).select_from(Notification))).scalar()
        points = (await conn.execute(select(func.sum(Member.balance)).where(surprised))).scalar()
    ok = rows == entries == inbox == expected and points == POINTS * expected
    return "ok" if ok else f"WRONG: rows {rows}, entries {entries}, inbox {inbox}, points {points}"


async def main(args: Namespace) -> None:
    """Measure on SQLite, then on PostgreSQL if asked."""
    await on_each_database(lambda url: measure(url, args), args.postgres_url, "campaign")


if __name__ == "__main__":
    asyncio.run(main(parse_args(__doc__, members=100, recipients=2000)))
