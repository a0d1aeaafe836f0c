"""The loop of the in-process mutation benchmarks (`redeem`, `spin`, `hunt`, `draw`, `actions`,
`campaign`): drive, time, summarise."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TypeVar

import httpx
from sqlalchemy import func, select

from backend.db.engine import Database, open_database
from backend.db.migrate import upgrade_to_head
from backend.db.tables import Member
from backend.main import create_app
from backend.rewards.clock import SystemClock
from backend.settings import Settings
from scripts.bench.servers import BenchVerifier

ENROLL = 'mutation { enroll(input: { birthDate: "1990-05-17" }) { member { id } } }'
ADJUST = """mutation($uid: String!) { adjustPoints(input: { memberReference: $uid, points: 100000,
  reason: "bench points", idempotencyKey: $uid }) { errors { code } } }"""
POINTS = 100_000  # what each bench member starts with
# The member budgets out of the way: the limiter still runs, it just never refuses.
UNLIMITED = {
    f"rate_limit_{action}": "1000000/minute"
    for action in ("redeem", "spin_wheel", "mascot_hunt", "enter_draw", "claim_action")
} | {"rate_limit_integration": "1000000/minute", "rate_limit_staff": "1000000/minute"}
Call = Callable[..., Awaitable[dict]]
Request = Callable[[int], Awaitable[bool]]  # the n-th request of a drive: whether it failed
T = TypeVar("T")


@asynccontextmanager
async def bench_app(url: str, **settings: str) -> AsyncIterator[tuple[Database, Call]]:
    """A migrated database and a caller of the real app over it (production mode, bench tokens)."""
    database = open_database(url)
    await upgrade_to_head(database.writer)
    options = UNLIMITED | settings
    config = Settings(mode="production", jobs_enabled=False, **options)  # type: ignore[arg-type]
    app = create_app(config, verifier=BenchVerifier(), clock=SystemClock(), database=database)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        yield database, poster(client)


async def members_with_points(call: Call, database: Database, count: int) -> list[str]:
    """Enrol `count` members (uids `bench-00000`…) and give each POINTS points; their uids."""
    uids = [f"bench-{i:05d}" for i in range(count)]
    for uid in uids:
        await call(ENROLL, f"member:{uid}")
    async with database.reader.connect() as conn:
        mine = select(Member.card_number).where(Member.uid.in_(uids))  # type: ignore[attr-defined]
        cards = (await conn.execute(mine)).scalars().all()
    for card in cards:
        await call(ADJUST, "marketing:bench", uid=card)
    return uids


async def points_moved(database: Database) -> int:
    """How far the bench members' balances moved from POINTS in total (earned minus spent)."""
    bench = Member.uid.like("bench-%")  # type: ignore[attr-defined]
    async with database.reader.connect() as conn:
        moved = select(func.sum(Member.balance - POINTS)).where(bench)
        return int((await conn.execute(moved)).scalar() or 0)


def poster(client: httpx.AsyncClient) -> Call:
    """Post one GraphQL operation as a bench token's caller; the decoded body."""

    async def call(query: str, token: str, **variables: object) -> dict:
        """Post one operation."""
        headers = {"Authorization": f"Bearer {token}"}
        body = {"query": query, "variables": variables}
        return (await client.post("/graphql", json=body, headers=headers)).json()

    return call


@dataclass
class Run:
    """What a drive measured."""

    latencies: list[float] = field(default_factory=list)
    failures: int = 0
    elapsed: float = 0.0

    async def timed(self, step: Awaitable[T]) -> T:
        """Await one step of a request and keep its latency (a drive times whole requests)."""
        await asyncio.sleep(0)  # the step comes over the network too (see `drive`)
        started = time.perf_counter()
        result = await step
        self.latencies.append(time.perf_counter() - started)
        return result

    @property
    def succeeded(self) -> int:
        """Requests that were not refused."""
        return len(self.latencies) - self.failures

    def ms(self, share: float) -> float:
        """The latency (ms) that `share` of the requests stayed within (0.5: the median)."""
        ordered = sorted(self.latencies)
        if share == 0.5:
            return statistics.median(ordered) * 1000
        return ordered[int(len(ordered) * share)] * 1000

    def line(self, dialect: str, unit: str, books: str) -> str:
        """One line of figures."""
        count = len(self.latencies)
        return (
            f"{dialect:10} {count / self.elapsed:7.1f} {unit}/s  "
            f"p50 {self.ms(0.5):6.1f} ms  p99 {self.ms(0.99):6.1f} ms  "
            f"({count} in {self.elapsed:.1f} s, {self.failures} refused, books {books})"
        )


async def drive(request: Request, *, seconds: float, connections: int) -> Run:
    """Keep `connections` requests in flight for `seconds`; `request(n)` answers whether it failed."""
    run, deadline, counter = Run(), time.perf_counter() + seconds, iter(range(10**9))

    async def worker() -> None:
        """Send requests until the deadline."""
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            failed = await request(next(counter))
            run.latencies.append(time.perf_counter() - started)
            run.failures += failed
            # A client's next request comes over the network, after the loop has run others:
            # without this, a request that never suspends before taking a pooled connection
            # takes the one its predecessor just returned, ahead of every woken waiter (an
            # asyncio.Queue hands a freed item to whoever asks first), and those starve.
            await asyncio.sleep(0)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    run.elapsed = time.perf_counter() - started
    return run


def refused(body: dict, field_name: str) -> bool:
    """Whether an answer failed: a top-level error or payload errors."""
    payload = (body.get("data") or {}).get(field_name) or {}
    return bool(body.get("errors") or payload.get("errors"))


def parse_args(doc: str | None, members: int, **more: int) -> argparse.Namespace:
    """The benchmarks' command-line options (`more`: a script's own integer options, defaults)."""
    parser = argparse.ArgumentParser(description=(doc or "").split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--members", type=int, default=members)
    parser.add_argument("--postgres-url", default=None)
    for name, default in more.items():
        parser.add_argument(f"--{name}", type=int, default=default)
    return parser.parse_args()
