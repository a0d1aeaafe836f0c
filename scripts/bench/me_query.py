"""Benchmark the member dashboard query (`me`) under uvicorn against a raw Starlette JSON endpoint.

    .venv/bin/python -m scripts.bench.me_query [--members 200] [--concurrency 32] [--seconds 10]
        [--database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test]

Everything stays on 127.0.0.1. The script seeds a scratch database through the domain services (a
temporary SQLite file, or a `rewards_bench` PostgreSQL database created from the URL's maintenance
database), serves the baseline and then the real app with one uvicorn worker in a subprocess, drives
each with a bounded httpx load generator in this process, prints the figures and removes everything
it made. Exit status 1 means some requests failed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import platform
import random
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.engine import URL, make_url
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from backend.db.engine import open_database
from backend.db.migrate import upgrade_to_head
from backend.db.tables import Member
from backend.rewards.clock import ManualClock
from backend.rewards.ledger import Posting, Source, debit, settle
from backend.rewards.members.services import EnrollInput, enroll
from backend.rewards.ports import AuthenticationError, Principal, Role
from backend.rewards.purchases.rules import PurchaseInput
from backend.rewards.purchases.services import record_purchase
from backend.rewards.uow import UnitOfWork, UnitOfWorkFactory
from scripts.pg_admin import pg_execute
from tests.api.operations import ME as ME_QUERY  # the same dashboard the API tests send

REPO_ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
BENCH_DB = "rewards_bench"
MAINTENANCE_DB = "test"
BIRTH_DATE = date(1990, 5, 17)
BASELINE_BODY = {"status": "ok", "message": "hello"}


Probe = Callable[[httpx.AsyncClient, random.Random], Awaitable[str | None]]


# --- the app under test -------------------------------------------------------------------------


class BenchVerifier:
    """Trusts `member:<uid>` tokens without I/O or crypto: cheaper than any real (even cached) check."""

    async def verify(self, token: str) -> Principal:
        """Parse a bench token."""
        role, _, uid = token.partition(":")
        if role != "member" or not uid:
            raise AuthenticationError("INVALID_TOKEN", "Bench tokens are `member:<uid>`.")
        return Principal(uid=uid, role=Role.MEMBER, email=f"{uid}@example.com")

    async def ensure_active(
        self, principal: Principal, token: str, *, allow_cached: bool = False
    ) -> None:
        """Nobody is revoked during a benchmark."""


def dashboard_app(url: str, pool_size: int | None) -> Starlette:
    """The real service in production mode, jobs off, with the bench verifier."""
    from backend.main import create_app
    from backend.settings import Settings

    settings = Settings(mode="production", jobs_enabled=False, database_url=url)
    if pool_size is not None:
        settings = settings.model_copy(update={"database_reader_pool_size": pool_size})
    return create_app(settings, verifier=BenchVerifier())


def baseline_app() -> Starlette:
    """A raw Starlette app that answers a small fixed JSON document."""

    async def fixed(_request: Request) -> JSONResponse:
        """Return the fixed document."""
        return JSONResponse(BASELINE_BODY)

    return Starlette(routes=[Route("/json", fixed), Route("/healthz", fixed)])


def serve(kind: str, url: str, port: int, pool_size: int | None) -> None:
    """Run one uvicorn worker on 127.0.0.1 until terminated (the subprocess side)."""
    import uvicorn

    app = dashboard_app(url, pool_size) if kind == "dashboard" else baseline_app()
    uvicorn.run(app, host=HOST, port=port, workers=1, log_level="warning", access_log=False)


# --- scratch database and seeding ---------------------------------------------------------------


def member_uid(index: int) -> str:
    """The Firebase uid of the index-th seeded member."""
    return f"bench-{index:05d}"


def order_amount(member: int, order: int) -> Decimal:
    """A varied but reproducible order amount between 15 and 174 EUR."""
    return Decimal(15 + (member * 37 + order * 53) % 160)


async def _enroll(uows: UnitOfWorkFactory, index: int) -> Member:
    """Enrol one adult member."""
    uid = member_uid(index)
    data = EnrollInput(birth_date=BIRTH_DATE, display_name=f"Bench {index}")
    return await uows.run(lambda uow: enroll(uow, uid=uid, email=f"{uid}@example.com", data=data))


async def _purchase(uows: UnitOfWorkFactory, card: str, order_id: str, amount: Decimal) -> None:
    """Record one store order paid now."""
    data = PurchaseInput(
        order_id=order_id,
        card_number=card,
        amount=amount,
        currency="EUR",
        channel="bench-store",
        occurred_at=uows.clock.now(),
    )
    await uows.run(lambda uow: record_purchase(uow, data=data, actor="bench"))


async def _spend_third(uows: UnitOfWorkFactory, member_id: int) -> None:
    """Release due points, then spend a third of the balance through the ledger's debit."""

    async def use_case(uow: UnitOfWork) -> None:
        """Lock, settle and debit one member."""
        member = await uow.lock_member(member_id)
        await settle(uow, member=member)
        points = max(1, member.balance // 3)
        await debit(uow, member=member, points=points, posting=Posting("Bench", Source.OFFER))
        await uow.commit()

    await uows.run(use_case)


async def seed(url: str, members: int) -> int:
    """Migrate and fill the database through the domain services; return the use cases run."""
    db = open_database(url)
    try:
        await upgrade_to_head(db.writer)
        start = datetime.now(UTC) - timedelta(days=30)
        clock = ManualClock(start)
        uows = UnitOfWorkFactory(db.session_factory(), clock)
        enrolled = [await _enroll(uows, i) for i in range(members)]
        runs = members
        for i, member in enumerate(enrolled):
            for j in range(3 + i % 4):
                await _purchase(uows, member.card_number, f"bench-{i}-{j}", order_amount(i, j))
                runs += 1
        clock.advance(days=20)  # past the 14-day return window
        for member in enrolled:
            await _spend_third(uows, member.id or 0)
        clock.advance(days=8)  # day 28: a recent order keeps some points pending
        for i, member in enumerate(enrolled):
            await _purchase(uows, member.card_number, f"bench-{i}-late", order_amount(i, 99))
        return runs + 2 * members
    finally:
        await db.dispose()


def check_local(host: str | None) -> None:
    """Refuse any database host but this machine's loopback."""
    if host not in LOCAL_HOSTS:
        raise SystemExit(f"refusing database host {host!r}: the benchmark only targets {HOST}")


def pg_urls(url: str) -> tuple[URL, str]:
    """The maintenance database's URL and the scratch database's, both on the asyncpg driver."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise SystemExit("--database-url must be a postgresql URL (SQLite is the default)")
    check_local(parsed.host)
    parsed = parsed.set(drivername="postgresql+asyncpg")
    if parsed.database in (None, "", BENCH_DB):
        parsed = parsed.set(database=MAINTENANCE_DB)
    return parsed, parsed.set(database=BENCH_DB).render_as_string(hide_password=False)


@contextlib.asynccontextmanager
async def scratch_database(url: str | None) -> AsyncIterator[tuple[str, str]]:
    """Yield a fresh database's URL and a label; remove the database on the way out."""
    if url is None:
        with tempfile.TemporaryDirectory(prefix="rewards-bench-") as tmp:
            yield (
                f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}",
                f"SQLite {sqlite3.sqlite_version}",
            )
        return
    maintenance, bench_url = pg_urls(url)
    drop = f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)'
    await pg_execute(maintenance, drop)  # a leftover of an interrupted run
    version = await pg_execute(maintenance, f'CREATE DATABASE "{BENCH_DB}"')
    try:
        yield bench_url, f"PostgreSQL {version}"
    finally:
        await pg_execute(maintenance, drop)


# --- server processes ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Server:
    """A running uvicorn subprocess."""

    pid: int
    base_url: str


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


async def wait_ready(proc: subprocess.Popen[bytes], base_url: str, timeout: float = 60) -> None:
    """Poll /healthz until the server answers, failing if it exits or takes too long."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=base_url, trust_env=False, timeout=2) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with status {proc.returncode}")
            with contextlib.suppress(httpx.TransportError):
                if (await client.get("/healthz")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise RuntimeError("server did not become ready in time")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop a server gracefully, or kill it after 10 s."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextlib.asynccontextmanager
async def served(kind: str, url: str, pool_size: int | None) -> AsyncIterator[Server]:
    """Run `kind` ("baseline" or "dashboard") in a uvicorn subprocess for the block's duration."""
    port = free_port()
    command = [sys.executable, "-m", "scripts.bench.me_query", "--serve", kind, "--port", str(port)]
    command += ["--database-url", url]
    if pool_size is not None:
        command += ["--pool-size", str(pool_size)]
    proc = subprocess.Popen(command, cwd=REPO_ROOT)
    try:
        base_url = f"http://{HOST}:{port}"
        await wait_ready(proc, base_url)
        yield Server(proc.pid, base_url)
    finally:
        stop(proc)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- load generator -----------------------------------------------------------------------------


@dataclass
class Run:
    """What one measured run saw."""

    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    elapsed: float = 0.0
    server_cpu: float = 0.0
    client_cpu: float = 0.0

    def record(self, seconds: float, error: str | None) -> None:
        """Count one request."""
        self.latencies.append(seconds)
        if error is not None:
            self.errors[error] += 1

    @property
    def requests(self) -> int:
        """Requests sent, failed ones included."""
        return len(self.latencies)

    @property
    def rate(self) -> float:
        """Requests per second."""
        return self.requests / self.elapsed if self.elapsed else 0.0


class Budget:
    """Hands out requests until a deadline passes or a count is used up."""

    def __init__(self, seconds: float, requests: int | None) -> None:
        self.deadline = time.perf_counter() + seconds
        self.left = requests

    def take(self) -> bool:
        """Tell whether one more request may start."""
        if self.left is None:
            return time.perf_counter() < self.deadline
        self.left -= 1
        return self.left >= 0


async def _attempt(probe: Probe, client: httpx.AsyncClient, rng: random.Random) -> str | None:
    """Send one request; a transport failure is an error like any other."""
    try:
        return await probe(client, rng)
    except httpx.HTTPError as error:
        return f"{type(error).__name__}: {error}"


async def _load(clients: list[httpx.AsyncClient], probe: Probe, budget: Budget, seed: int) -> Run:
    """Run one closed loop per client (one keep-alive connection each) until the budget is spent."""
    run, rng = Run(), random.Random(seed)

    async def client_loop(client: httpx.AsyncClient) -> None:
        """Send requests back to back."""
        while budget.take():
            started = time.perf_counter()
            error = await _attempt(probe, client, rng)
            run.record(time.perf_counter() - started, error)

    started = time.perf_counter()
    await asyncio.gather(*(client_loop(client) for client in clients))
    run.elapsed = time.perf_counter() - started
    return run


@contextlib.asynccontextmanager
async def user_clients(base_url: str, count: int) -> AsyncIterator[list[httpx.AsyncClient]]:
    """One single-connection client per simulated user.

    A shared pool of N connections costs O(N) per request in httpcore (about 7 ms of client CPU
    per request at N=32 here), so each user gets a pool of one.
    """
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    tls = ssl.create_default_context()  # unused over http://, but building one per client is slow
    async with contextlib.AsyncExitStack() as stack:
        yield [
            await stack.enter_async_context(
                httpx.AsyncClient(
                    base_url=base_url, limits=limits, timeout=30, verify=tls, trust_env=False
                )
            )
            for _ in range(count)
        ]


async def measure(server: Server, probe: Probe, args: argparse.Namespace) -> Run:
    """Warm up, then measure one server while tracking both processes' CPU time."""
    async with user_clients(server.base_url, args.concurrency) as clients:
        if args.warmup > 0:
            await _load(clients, probe, Budget(args.warmup, None), args.seed + 1)
        server_cpu, client_cpu = cpu_seconds(server.pid), time.process_time()
        run = await _load(clients, probe, Budget(args.seconds, args.requests), args.seed)
        run.server_cpu = cpu_seconds(server.pid) - server_cpu
        run.client_cpu = time.process_time() - client_cpu
    return run


def baseline_probe() -> Probe:
    """GET the fixed JSON document and check it."""

    async def probe(client: httpx.AsyncClient, _rng: random.Random) -> str | None:
        """One baseline request."""
        response = await client.get("/json")
        if response.status_code != 200:
            return f"HTTP {response.status_code}"
        return None if response.json() == BASELINE_BODY else "unexpected body"

    return probe


def dashboard_error(response: httpx.Response) -> str | None:
    """Why a dashboard response is not a complete, error-free answer (None if it is)."""
    if response.status_code != 200:
        return f"HTTP {response.status_code}"
    payload = response.json()
    if payload.get("errors"):
        return f"GraphQL error: {payload['errors'][0].get('message')}"
    me = (payload.get("data") or {}).get("me")
    if not me:
        return "me is null"
    if not me["history"]["edges"]:
        return "empty history"
    return None


def dashboard_probe(uids: list[str]) -> Probe:
    """POST the `me` query as a random seeded member and check the answer."""
    body = {"query": ME_QUERY, "operationName": "Me"}

    async def probe(client: httpx.AsyncClient, rng: random.Random) -> str | None:
        """One dashboard request."""
        headers = {"Authorization": f"Bearer member:{rng.choice(uids)}"}
        return dashboard_error(await client.post("/graphql", json=body, headers=headers))

    return probe


async def sample(server: Server, uid: str) -> str:
    """Describe one member's dashboard answer, failing loudly if it is wrong."""
    headers = {"Authorization": f"Bearer member:{uid}"}
    async with httpx.AsyncClient(base_url=server.base_url, trust_env=False) as client:
        response = await client.post("/graphql", json={"query": ME_QUERY}, headers=headers)
    error = dashboard_error(response)
    if error:
        raise RuntimeError(f"dashboard query fails before the load starts: {error}")
    me = response.json()["data"]["me"]
    return (
        f"sample answer ({len(response.content)} bytes): balance {me['points']['balance']}, "
        f"pending {me['points']['pending']}, tier {me['tier']['current']['code']}, "
        f"{len(me['history']['edges'])} history entries, "
        f"more: {me['history']['pageInfo']['hasNextPage']}"
    )


# --- report -------------------------------------------------------------------------------------


def percentile(ordered: list[float], q: float) -> float:
    """Nearest-rank percentile of sorted values."""
    if not ordered:
        return math.nan
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


HEADER = (
    f"{'':<16}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}{'requests':>10}"
    f"{'srv CPU ms/req':>16}{'srv core':>10}{'client core':>13}"
)


def row(name: str, run: Run) -> str:
    """One table line of a run's figures."""
    ordered = sorted(run.latencies)
    p50, p95, p99 = (percentile(ordered, q) * 1000 for q in (0.50, 0.95, 0.99))
    cpu_per_request = run.server_cpu / run.requests * 1000 if run.requests else math.nan
    return (
        f"{name:<16}{run.rate:>9.1f}{p50:>9.2f}{p95:>9.2f}{p99:>9.2f}"
        f"{sum(run.errors.values()):>8}{run.requests:>10}{cpu_per_request:>16.3f}"
        f"{run.server_cpu / run.elapsed:>10.0%}{run.client_cpu / run.elapsed:>13.0%}"
    )


def cpu_model() -> str:
    """The CPU model name, if Linux tells."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def report(baseline: Run, dashboard: Run) -> None:
    """Print the table, the ratios and any errors."""
    print(HEADER)
    print(row("baseline JSON", baseline))
    print(row("dashboard (me)", dashboard))
    ratio = dashboard.rate / baseline.rate if baseline.rate else math.nan
    print(f"dashboard/baseline req/s: {ratio:.3f} (baseline {1 / ratio:.1f}x faster)")
    base_cpu, dash_cpu = (r.server_cpu / max(r.requests, 1) for r in (baseline, dashboard))
    print(f"server CPU per request, dashboard/baseline: {dash_cpu / base_cpu:.1f}x")
    for name, run in (("baseline", baseline), ("dashboard", dashboard)):
        for error, count in run.errors.most_common(5):
            print(f"ERROR {name}: {count} x {error}")


# --- command line -------------------------------------------------------------------------------


async def bench(args: argparse.Namespace) -> int:
    """Seed, serve, measure and report; return the exit status (1 if any request failed)."""
    async with scratch_database(args.database_url) as (url, label):
        print(
            f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs ({cpu_model()}), "
            f"Python {platform.python_version()}, {label}"
        )
        print(
            f"{args.members} members, {args.concurrency} clients, "
            + (f"{args.requests} requests" if args.requests else f"{args.seconds:g} s")
            + f" after {args.warmup:g} s warm-up, pool size {args.pool_size or 'default'}",
            flush=True,
        )
        started = time.perf_counter()
        runs = await seed(url, args.members)
        print(f"seeded {runs} use cases in {time.perf_counter() - started:.1f} s", flush=True)
        async with served("baseline", url, args.pool_size) as server:
            baseline = await measure(server, baseline_probe(), args)
        async with served("dashboard", url, args.pool_size) as server:
            print(await sample(server, member_uid(args.members - 1)), flush=True)
            uids = [member_uid(i) for i in range(args.members)]
            dashboard = await measure(server, dashboard_probe(uids), args)
    report(baseline, dashboard)
    return 1 if baseline.errors or dashboard.errors else 0


def positive(kind: type[Any]) -> Callable[[str], Any]:
    """An argparse type that accepts positive numbers only."""

    def parse(text: str) -> Any:
        """Parse and check one value."""
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive, not {text}")
        return value

    return parse


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=positive(int), default=200)
    parser.add_argument("--concurrency", type=positive(int), default=32)
    parser.add_argument("--seconds", type=positive(float), default=10.0)
    parser.add_argument("--requests", type=positive(int), help="stop after N requests instead")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before measuring")
    parser.add_argument("--database-url", help="postgresql URL on 127.0.0.1 (default: SQLite)")
    parser.add_argument(
        "--pool-size", type=positive(int), help="the app's database reader pool size"
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the member choice")
    parser.add_argument("--serve", choices=["baseline", "dashboard"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _interrupt(_signum: int, _frame: Any) -> None:
    """Turn SIGTERM into KeyboardInterrupt so that cleanup runs."""
    raise KeyboardInterrupt


def main() -> None:
    """Run the benchmark, or serve one app when started as its own server subprocess."""
    args = parse_args()
    if args.serve:
        serve(args.serve, args.database_url, args.port, args.pool_size)
        return
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        status = asyncio.run(bench(args))
    except KeyboardInterrupt:
        print("interrupted: servers stopped, scratch database removed", file=sys.stderr)
        status = 130
    sys.exit(status)


if __name__ == "__main__":
    main()
