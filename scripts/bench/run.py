"""Benchmark the issue-6 goals in one run: dashboard and recordPurchase beside their ceilings.

    .venv/bin/python -m scripts.bench.run [--parts reads,writes,workers] [--seconds 5]
        [--rounds 3] [--members 100] [--postgres-url postgresql://postgres@127.0.0.1:5432/test]
        [--sqlite-path BIG.db] [--postgres-database BIG] [--record LABEL]

Servers run pinned to core 0 (`taskset -c 0`), the load generator wrk on core 1 (`taskset -c 1`),
one wrk thread. Every target is measured once per round and the rounds are interleaved, so the
ratios compare figures taken under the same machine load. Parts:

- reads: the README's `Dashboard` query at 32 connections against (a) a bare Starlette endpoint
  returning the same bytes, (b) graphql-core executing the query on `schema.graphql` with the
  answer in memory, (c) the service on SQLite and on PostgreSQL;
- writes: `recordPurchase` (the README's `Buy` selection, a new order id each request) at 16
  connections on both databases against the bare endpoint at 16; afterwards the books are checked;
- workers: the dashboard on SQLite with 1 and with 2 uvicorn workers, both on cores 0-1 (the
  machine has 2 cores, so wrk shares them: this part shows the trend, not the 1.7x goal).

Everything stays on 127.0.0.1: a temporary SQLite file and a scratch PostgreSQL database
`rewards_bench_PID` made from the maintenance database in the URL, both removed at the end.
`--sqlite-path` / `--postgres-database` name databases filled by `rewards seed-bench` (on the
same PostgreSQL server): the reads and writes parts then also measure the service on them, in the
same interleaved rounds, for random seeded members, and report seeded / scratch (flat with
size). Those databases are kept; the orders the run records stay in them. wrk is
installed with `apt-get install -y wrk` when missing (root only). `--record LABEL` writes the
figures into BENCHMARKS.md under that label (replacing an older section of the same label).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import create_async_engine

from scripts.bench.seed import (
    member_uid,
    pg_urls,
    purchases_of,
    scratch_postgres,
    scratch_sqlite,
    seed,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = REPO_ROOT / "BENCHMARKS.md"
HOST = "127.0.0.1"
SERVER_CORES, LOAD_CORES, ALL_CORES = "0", "1", "0,1"
READ_CONNECTIONS, WRITE_CONNECTIONS = 32, 16
DASHBOARD_MEMBER_PURCHASES = 6  # the table: a member with six purchases
RESULTS_HEADING = "## Results of `scripts/bench/run.py`"
SEEDED_SAMPLE = 1000  # random members of a seeded database read, and as many others buy
SEEDED_TARGETS = (("sqlite-seeded", "SQLite seeded"), ("pg-seeded", "PostgreSQL seeded"))

BUY = """mutation Buy($input: RecordPurchaseInput!) {
  recordPurchase(input: $input) {
    purchase { id orderId points occurredAt memberReference }
    errors { code field message }
  }
}"""


def readme_operation(index: int) -> str:
    """The README's index-th GraphQL block (0 is the `Dashboard` query)."""
    blocks = re.findall(r"```graphql\n(.*?)```", (REPO_ROOT / "README.md").read_text(), re.S)
    return blocks[index].strip()


# --- wrk ------------------------------------------------------------------------------------------

LUA = r"""
local bodies = {%(bodies)s}
local cards = {%(cards)s}
local tokens = {%(tokens)s}
local prefix, middle, suffix = [==[%(prefix)s]==], [==[%(middle)s]==], [==[%(suffix)s]==]
local run, log_path = [==[%(run)s]==], [==[%(log)s]==]
local counter, log = 0, nil

init = function(args)
  if log_path ~= "" then log = io.open(log_path, "a"); log:setvbuf("line") end
end

request = function()
  counter = counter + 1
  local body = bodies[1 + counter %% math.max(#bodies, 1)]
  if body == nil then  -- a purchase with a new order id for the next card
    body = prefix .. run .. "-" .. counter .. middle .. cards[1 + counter %% #cards] .. suffix
  end
  return wrk.format("POST", "/graphql", {["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. tokens[1 + counter %% #tokens]}, body)
end

if log_path ~= "" then
  response = function(status, headers, body)
    local order, points = body:match('"orderId":"([^"]+)","points":(%%d+)')
    if status == 200 and order then log:write(order, " ", points, "\n")
    else log:write("! ", status, " ", (body:sub(1, 300):gsub("\n", " ")), "\n") end
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK {"requests":%%d,"duration_us":%%d,"p50_us":%%d,"p99_us":%%d,"socket_errors":%%d,"non2xx":%%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status))
end
"""


def lua_strings(values: list[str]) -> str:
    """A Lua table constructor of long strings."""
    return ",".join(f"[==[{value}]==]" for value in values)


def purchase_body_parts() -> tuple[str, str, str]:
    """The `Buy` request body cut around its order id and card number."""
    line = {"sku": "JKT-042", "category": "outerwear", "unitPrice": "129.95"}
    purchase = {
        "orderId": "@ORDER@",
        "memberReference": "@CARD@",
        "amount": "129.95",
        "currency": "EUR",
        "channel": "bench-store",
        "lines": [line],
    }
    body = json.dumps({"query": BUY, "operationName": "Buy", "variables": {"input": purchase}})
    prefix, rest = body.split("@ORDER@")
    middle, suffix = rest.split("@CARD@")
    return prefix, middle, suffix


@dataclass(frozen=True)
class Load:
    """What wrk sends: fixed bodies (one per token), or purchases with new order ids for cards."""

    tokens: list[str]
    bodies: list[str] = field(default_factory=list)
    cards: list[str] = field(default_factory=list)
    log: Path | None = None  # purchases: each answer's order id and points, or the refusal

    def script(self, directory: Path, name: str, run: str) -> Path:
        """Write the Lua script for this load; `run` prefixes the order ids."""
        prefix, middle, suffix = purchase_body_parts()
        path = directory / f"{name}.lua"
        values = {
            "bodies": lua_strings(self.bodies),
            "cards": lua_strings(self.cards),
            "tokens": lua_strings(self.tokens),
            "prefix": prefix,
            "middle": middle,
            "suffix": suffix,
            "run": run,
            "log": str(self.log or ""),
        }
        path.write_text(LUA % values)
        return path


@dataclass
class Figure:
    """One wrk run's figures."""

    rate: float
    p50_ms: float
    p99_ms: float
    failures: int
    requests: int
    cpu_ms: float = math.nan  # the server's CPU time per request (one-worker servers)


def wrk(url: str, script: Path, connections: int, seconds: float, cores: str | None) -> Figure:
    """Run wrk once (one thread) and read the figures its `done` callback prints."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s"]
    command += ["-s", str(script), url + "/graphql"]
    if cores:
        command = ["taskset", "-c", cores, *command]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(line for line in output.splitlines() if line.startswith("WRK "))
    data = json.loads(line[4:])
    return Figure(
        rate=data["requests"] / (data["duration_us"] / 1e6),
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        failures=data["socket_errors"] + data["non2xx"],
        requests=data["requests"],
    )


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def ensure_wrk() -> None:
    """Install wrk with apt when it is missing, or say how."""
    if shutil.which("wrk"):
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("installing wrk: apt-get install -y wrk", flush=True)
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True)
        return
    raise SystemExit("wrk is missing: install it with `sudo apt-get install -y wrk`")


# --- servers --------------------------------------------------------------------------------------


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A running server subprocess."""

    name: str
    url: str
    proc: subprocess.Popen[bytes]


async def wait_ready(server: Server, timeout: float = 90) -> None:
    """Poll /healthz until the server answers, failing if it exits or takes too long."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=server.url, trust_env=False, timeout=2) as client:
        while time.monotonic() < deadline:
            if server.proc.poll() is not None:
                raise RuntimeError(f"{server.name} exited with status {server.proc.returncode}")
            with contextlib.suppress(httpx.TransportError):
                if (await client.get("/healthz")).status_code == 200:
                    return
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{server.name} did not become ready in time")


@contextlib.asynccontextmanager
async def servers(
    specs: list[tuple[str, str, dict[str, str], int, str]], logs: Path
) -> AsyncIterator[dict[str, Server]]:
    """Start (name, kind, env, workers, cores) servers; stop them all on the way out."""
    running: dict[str, Server] = {}
    try:
        for name, kind, env, workers, cores in specs:
            port = free_port()
            command = ["taskset", "-c", cores, sys.executable, "-m", "scripts.bench.servers"]
            command += [kind, str(port), str(workers)]
            with (logs / f"{name}.log").open("ab") as out:
                proc = subprocess.Popen(
                    command, cwd=REPO_ROOT, env={**os.environ, **env}, stdout=out, stderr=out
                )
            running[name] = Server(name, f"http://{HOST}:{port}", proc)
        for server in running.values():
            await wait_ready(server)
        yield running
    finally:
        for server in running.values():
            server.proc.terminate()
        for server in running.values():
            try:
                server.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.proc.kill()
                server.proc.wait()


# --- checks ---------------------------------------------------------------------------------------


async def dashboard_answer(url: str, query: str, uid: str) -> bytes:
    """One dashboard answer, failing loudly unless it is complete and error-free."""
    async with httpx.AsyncClient(base_url=url, trust_env=False, timeout=30) as client:
        response = await client.post(
            "/graphql",
            json={"query": query, "operationName": "Dashboard"},
            headers={"Authorization": f"Bearer member:{uid}"},
        )
    payload = response.json()
    if response.status_code != 200 or payload.get("errors") or not payload["data"]["me"]:
        raise RuntimeError(f"the dashboard answer is wrong: {response.text[:500]}")
    return response.content


@dataclass
class Books:
    """The books-balance check after a write run."""

    in_flight: int  # requests wrk may have sent but not seen answered when a run stopped
    answered: int = 0
    unseen: int = 0
    refused: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


async def check_books(url: str, log: Path, orders: str, in_flight: int) -> Books:
    """Every 200 answer stored once with its points; balance + pending = the ledger's sums of
    the members whose orders match `orders` (all of a scratch database's members)."""
    books = Books(in_flight)
    answers: dict[str, int] = {}
    for line in log.read_text().splitlines() if log.exists() else []:
        if line.startswith("! "):
            books.refused.append(line[2:])
            continue
        order, points = line.split()
        if order in answers:
            books.problems.append(f"order {order} answered twice")
        answers[order] = int(points)
    books.answered = len(answers)
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT order_id, points FROM purchase WHERE order_id LIKE :orders"),
                {"orders": orders},
            )
            stored: dict[str, int] = {}
            for order, points in rows:
                if order in stored:
                    books.problems.append(f"order {order} stored twice")
                stored[order] = int(points)
            missing = set(answers) - set(stored)
            changed = [o for o in set(answers) & set(stored) if answers[o] != stored[o]]
            if missing or changed:
                books.problems.append(
                    f"{len(missing)} answered but not stored, {len(changed)} stored with other "
                    "points than answered"
                )
            books.unseen = len(set(stored) - set(answers))
            if books.unseen > books.in_flight:
                books.problems.append(
                    f"{books.unseen} stored without a 200 answer, more than the {books.in_flight} "
                    "requests in flight when wrk stopped"
                )
            credited = await conn.scalar(
                text(
                    "SELECT COALESCE(SUM(e.amount + e.pending_delta), 0) FROM ledger_entry e "
                    "JOIN purchase p ON p.earn_entry_id = e.id WHERE p.order_id LIKE :orders"
                ),
                {"orders": orders},
            )
            if int(credited or 0) != sum(stored.values()):
                books.problems.append(
                    f"ledger credited {credited}, the purchases say {sum(stored.values())}"
                )
            unbalanced = await conn.scalar(
                text(
                    "SELECT COUNT(*) FROM member m WHERE m.balance + m.pending <> "
                    "(SELECT COALESCE(SUM(e.amount + e.pending_delta), 0) FROM ledger_entry e "
                    "WHERE e.member_id = m.id) AND m.id IN "
                    "(SELECT member_id FROM purchase WHERE order_id LIKE :orders)"
                ),
                {"orders": orders},
            )
            if unbalanced:
                books.problems.append(f"{unbalanced} members' balance + pending != ledger sum")
    finally:
        await engine.dispose()
    return books


# --- the run --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Members:
    """Whom a database's targets act for: uids signing in for reads, cards for purchases."""

    readers: list[str]
    writers: list[str]


def scratch_members(members: int, cards: list[str]) -> Members:
    """The seeded scratch members: readers with six purchases (the issue's table), the rest buy."""
    six = [i for i in range(members) if purchases_of(i) == DASHBOARD_MEMBER_PURCHASES]
    return Members(
        readers=[member_uid(i) for i in six],
        writers=[card for i, card in enumerate(cards) if i not in six],
    )


async def seeded_members(url: str, sample: int) -> tuple[Members, str]:
    """Random members of a database filled by `rewards seed-bench`, and its size in words."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            members = int(await conn.scalar(text("SELECT max(id) FROM member")) or 0)
            entries = int(await conn.scalar(text("SELECT max(id) FROM ledger_entry")) or 0)
            ids = random.Random(1).sample(range(1, members + 1), min(members, 2 * sample))
            rows = (
                await conn.execute(
                    text("SELECT id, uid, card_number FROM member WHERE id IN :ids").bindparams(
                        bindparam("ids", expanding=True)
                    ),
                    {"ids": ids},
                )
            ).all()
    finally:
        await engine.dispose()
    found = {row.id: row for row in rows}
    picked = [found[i] for i in ids if i in found and found[i].uid]
    half = len(picked) // 2
    chosen = Members(
        readers=[row.uid for row in picked[:half]],
        writers=[row.card_number for row in picked[half:]],
    )
    return chosen, f"{members:,} members, {entries:,} ledger entries"


def seeded_urls(args: argparse.Namespace) -> dict[str, str]:
    """The seeded databases named on the command line, by server name."""
    urls = {}
    if args.sqlite_path:
        path = Path(args.sqlite_path).resolve()
        if not path.is_file():
            raise SystemExit(f"--sqlite-path: no such file {path}")
        urls["sqlite-seeded"] = f"sqlite+aiosqlite:///{path}"
    if args.postgres_database:
        maintenance, _ = pg_urls(args.postgres_url)
        urls["pg-seeded"] = maintenance.set(database=args.postgres_database).render_as_string(
            hide_password=False
        )
    return urls


@dataclass
class Target:
    """One thing wrk measures each round."""

    name: str
    server: str
    load: Load
    connections: int
    cores: str | None = LOAD_CORES
    figures: list[Figure] = field(default_factory=list)

    def median(self) -> Figure:
        """The round with the median rate."""
        return sorted(self.figures, key=lambda f: f.rate)[len(self.figures) // 2]


async def bench(args: argparse.Namespace) -> int:
    """Seed, serve, measure, check and report; return the exit status."""
    parts = set(args.parts.split(","))
    dashboard = readme_operation(0)
    seeded = seeded_urls(args)
    async with contextlib.AsyncExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="rewards-bench-")))
        sqlite_url, sqlite_label = await stack.enter_async_context(scratch_sqlite())
        pg_url, pg_label = await stack.enter_async_context(scratch_postgres(args.postgres_url))
        people: dict[str, Members] = {}
        sizes = []
        for name, url in seeded.items():
            people[name], size = await seeded_members(url, SEEDED_SAMPLE)
            sizes.append(f"{name}: {size}")
        heading = header(args, sqlite_label, pg_label, sizes)
        print(heading, flush=True)
        started = time.perf_counter()
        people["sqlite"] = scratch_members(args.members, await seed(sqlite_url, args.members))
        # alembic is not safe to run concurrently
        people["pg"] = scratch_members(args.members, await seed(pg_url, args.members))
        print(
            f"seeded {args.members} members on each database in {time.perf_counter() - started:.0f} s",
            flush=True,
        )
        dashboard_uids = people["sqlite"].readers

        urls = {"sqlite": sqlite_url, "pg": pg_url, **seeded}
        specs = [
            (name, "dashboard", {"BENCH_DATABASE_URL": url}, 1, SERVER_CORES)
            for name, url in urls.items()
        ]
        if args.compare:
            variant = dict([args.compare.split("=", 1)])
            specs += [
                (
                    "sqlite-variant",
                    "dashboard",
                    {"BENCH_DATABASE_URL": sqlite_url, **variant},
                    1,
                    SERVER_CORES,
                ),
                (
                    "pg-variant",
                    "dashboard",
                    {"BENCH_DATABASE_URL": pg_url, **variant},
                    1,
                    SERVER_CORES,
                ),
            ]
        if "workers" in parts:
            specs += [
                ("sqlite-1w", "dashboard", {"BENCH_DATABASE_URL": sqlite_url}, 1, ALL_CORES),
                ("sqlite-2w", "dashboard", {"BENCH_DATABASE_URL": sqlite_url}, 2, ALL_CORES),
            ]
        async with servers(specs, work) as running:
            answer = await dashboard_answer(running["sqlite"].url, dashboard, dashboard_uids[0])
            pg_answer = await dashboard_answer(running["pg"].url, dashboard, dashboard_uids[0])
            for name in seeded:
                await dashboard_answer(running[name].url, dashboard, people[name].readers[0])
            answer_file = work / "answer.json"
            answer_file.write_bytes(answer)
            print(
                f"dashboard answer: {len(answer)} bytes (PostgreSQL: {len(pg_answer)})", flush=True
            )
            env = {"BENCH_ANSWER_FILE": str(answer_file)}
            async with servers(
                [
                    ("bare", "bare", env, 1, SERVER_CORES),
                    ("ceiling", "ceiling", env, 1, SERVER_CORES),
                ],
                work,
            ) as more:
                running.update(more)
                ceiling = await dashboard_answer(running["ceiling"].url, dashboard, "any")
                if json.loads(ceiling) != json.loads(answer):
                    raise RuntimeError("graphql-core's answer differs from the service's")
                targets = plan(parts, dashboard, people, work, args.compare)
                await warm_up(targets, running, work)
                for round_ in range(args.rounds):
                    for index, target in enumerate(targets):
                        run_id = f"r{round_}t{index}"
                        script = target.load.script(work, run_id, f"{args.run_id}-{run_id}")
                        server = running[target.server]
                        cpu = cpu_seconds(server.proc.pid)
                        figure = wrk(
                            server.url, script, target.connections, args.seconds, target.cores
                        )
                        # Several workers are child processes; a run without answers has no rate.
                        if target.server != "sqlite-2w" and figure.requests:
                            figure.cpu_ms = (
                                (cpu_seconds(server.proc.pid) - cpu) / figure.requests * 1000
                            )
                        target.figures.append(figure)
                    print(f"round {round_ + 1}/{args.rounds} done", flush=True)
        books = {}
        for index, target in enumerate(targets):
            if target.load.log is not None:
                url = urls[target.server.removesuffix("-variant")]
                in_flight = target.connections * args.rounds
                orders = f"{args.run_id}-r%t{index}-%"  # this target's, every round
                books[target.name] = await check_books(url, target.load.log, orders, in_flight)
    text_report = report(args, targets, books, heading)
    print(text_report)
    if args.record:
        record(args.record, text_report)
    failed = any(f.failures for t in targets for f in t.figures) or any(
        b.problems or b.refused for b in books.values()
    )
    return 1 if failed else 0


def plan(parts, dashboard, people, work, compare) -> list[Target]:
    """The targets each round measures, in order."""
    body = json.dumps({"query": dashboard, "operationName": "Dashboard"})

    def reads(db: str) -> Load:
        """The dashboard for the database's reading members."""
        uids = people[db].readers
        return Load(tokens=[f"member:{uid}" for uid in uids], bodies=[body] * len(uids))

    def buys(db: str, server: str | None = None) -> Load:
        """recordPurchase for the database's writing members' cards, answers logged per server."""
        return Load(
            tokens=["integration:bench-pos"],
            cards=people[db].writers,
            log=work / f"answers-{server or db}.log",
        )

    seeded = [(db, label) for db, label in SEEDED_TARGETS if db in people]
    targets: list[Target] = []
    if "reads" in parts:
        targets += [
            Target("bare", "bare", reads("sqlite"), READ_CONNECTIONS),
            Target("graphql-core", "ceiling", reads("sqlite"), READ_CONNECTIONS),
            Target("dashboard SQLite", "sqlite", reads("sqlite"), READ_CONNECTIONS),
            Target("dashboard PostgreSQL", "pg", reads("pg"), READ_CONNECTIONS),
        ]
        targets += [
            Target(f"dashboard {label}", db, reads(db), READ_CONNECTIONS) for db, label in seeded
        ]
        if compare:
            targets += [
                Target(
                    f"dashboard SQLite {compare}",
                    "sqlite-variant",
                    reads("sqlite"),
                    READ_CONNECTIONS,
                ),
                Target(
                    f"dashboard PostgreSQL {compare}", "pg-variant", reads("pg"), READ_CONNECTIONS
                ),
            ]
    if "writes" in parts:
        targets += [
            Target("bare @16", "bare", reads("sqlite"), WRITE_CONNECTIONS),
            Target("recordPurchase SQLite", "sqlite", buys("sqlite"), WRITE_CONNECTIONS),
            Target("recordPurchase PostgreSQL", "pg", buys("pg"), WRITE_CONNECTIONS),
        ]
        targets += [
            Target(f"recordPurchase {label}", db, buys(db), WRITE_CONNECTIONS)
            for db, label in seeded
        ]
        if compare:
            targets += [
                Target(
                    f"recordPurchase SQLite {compare}",
                    "sqlite-variant",
                    buys("sqlite", "sqlite-variant"),
                    WRITE_CONNECTIONS,
                ),
                Target(
                    f"recordPurchase PostgreSQL {compare}",
                    "pg-variant",
                    buys("pg", "pg-variant"),
                    WRITE_CONNECTIONS,
                ),
            ]
    if "workers" in parts:
        targets += [
            Target(
                "dashboard SQLite 1 worker", "sqlite-1w", reads("sqlite"), READ_CONNECTIONS, None
            ),
            Target(
                "dashboard SQLite 2 workers", "sqlite-2w", reads("sqlite"), READ_CONNECTIONS, None
            ),
        ]
    return targets


async def warm_up(targets: list[Target], running: dict[str, Server], work: Path) -> None:
    """Two seconds of reads on every server, so that no round pays for first requests."""
    seen = set()
    for target in targets:
        if target.server in seen or target.load.log is not None:
            continue
        seen.add(target.server)
        script = target.load.script(work, "warm", "warm")
        wrk(running[target.server].url, script, READ_CONNECTIONS, 2, target.cores)


# --- report ---------------------------------------------------------------------------------------


def machine() -> str:
    """CPU count and model, load, Python and the server stack's versions."""
    from importlib.metadata import version

    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    packages = ("uvicorn", "starlette", "strawberry-graphql", "graphql-core", "sqlalchemy")
    stack = ", ".join(f"{name} {version(name)}" for name in packages)
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    return (
        f"{os.cpu_count()} CPUs ({model}), load average {load} at the start, "
        f"Python {platform.python_version()}, {stack}"
    )


def header(args: argparse.Namespace, sqlite_label: str, pg_label: str, sizes: list[str]) -> str:
    """What this run is."""
    seeded = f" (scratch); seeded databases: {'; '.join(sizes)}" if sizes else ""
    return (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit {commit()}; {machine()}; "
        f"{sqlite_label}, {pg_label}; {args.members} members{seeded}; {args.rounds} interleaved rounds of "
        f"{args.seconds:g} s per target; servers on core {SERVER_CORES}, wrk (1 thread) on core "
        f"{LOAD_CORES}"
    )


def commit() -> str:
    """The checked-out commit, marked when the tree has changes."""
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO_ROOT
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
    ).stdout.strip()
    return f"{head}{'+changes' if dirty else ''}"


def ratio(targets: dict[str, Target], top: str, bottom: str) -> str:
    """top/bottom of the median rates, per round too (rounds are interleaved)."""
    if top not in targets or bottom not in targets:
        return ""
    a, b = targets[top], targets[bottom]
    rounds = ", ".join(f"{x.rate / y.rate:.3f}" for x, y in zip(a.figures, b.figures, strict=True))
    cpu = statistics.median(x.cpu_ms / y.cpu_ms for x, y in zip(a.figures, b.figures, strict=True))
    return (
        f"| {top} / {bottom} | {a.median().rate / b.median().rate:.3f} | {rounds} "
        f"| {cpu_text(cpu)} |"
    )


def cpu_text(value: float) -> str:
    """A CPU figure, or a dash where it was not measured (several workers)."""
    return "—" if math.isnan(value) else f"{value:.3f}"


def report(
    args: argparse.Namespace, targets: list[Target], books: dict[str, Books], heading: str
) -> str:
    """The figures as Markdown: per target the median round, then the ratios and the books."""
    lines = [
        heading,
        "",
        "| target | connections | req/s (median) | p50 ms | p99 ms | req/s per round "
        "| server CPU ms/req (median) | failures |",
        "|---|---:|---:|---:|---:|---|---:|---:|",
    ]
    for t in targets:
        m = t.median()
        rounds = ", ".join(f"{f.rate:,.0f}" for f in t.figures)
        failures = sum(f.failures for f in t.figures)
        cpu = statistics.median(f.cpu_ms for f in t.figures)
        lines.append(
            f"| {t.name} | {t.connections} | {m.rate:,.1f} | {m.p50_ms:,.1f} | {m.p99_ms:,.1f} "
            f"| {rounds} | {cpu_text(cpu)} | {failures} |"
        )
    by_name = {t.name: t for t in targets}
    pairs = [
        ("dashboard SQLite", "graphql-core"),
        ("dashboard PostgreSQL", "graphql-core"),
        ("graphql-core", "bare"),
        ("dashboard SQLite", "bare"),
        ("recordPurchase SQLite", "bare @16"),
        ("recordPurchase PostgreSQL", "bare @16"),
        ("recordPurchase PostgreSQL", "recordPurchase SQLite"),
        ("dashboard SQLite 2 workers", "dashboard SQLite 1 worker"),
        ("dashboard SQLite seeded", "dashboard SQLite"),
        ("dashboard PostgreSQL seeded", "dashboard PostgreSQL"),
        ("recordPurchase SQLite seeded", "recordPurchase SQLite"),
        ("recordPurchase PostgreSQL seeded", "recordPurchase PostgreSQL"),
        ("dashboard SQLite seeded", "graphql-core"),
        ("dashboard PostgreSQL seeded", "graphql-core"),
    ]
    if args.compare:
        pairs += [
            (f"dashboard SQLite {args.compare}", "dashboard SQLite"),
            (f"dashboard PostgreSQL {args.compare}", "dashboard PostgreSQL"),
            (f"recordPurchase SQLite {args.compare}", "recordPurchase SQLite"),
            (f"recordPurchase PostgreSQL {args.compare}", "recordPurchase PostgreSQL"),
        ]
    ratios = [r for r in (ratio(by_name, top, bottom) for top, bottom in pairs) if r]
    lines += [
        "",
        "| ratio of req/s | median | per round | server CPU per request, same ratio (median) |",
        "|---|---:|---|---:|",
        *ratios,
    ]
    for name, check in books.items():
        verdict = "balanced" if not (check.problems or check.refused) else "NOT BALANCED"
        lines.append("")
        lines.append(
            f"Books after {name}: {verdict}: {check.answered} purchases answered 200, each stored "
            f"once with the answered points ({check.unseen} more stored whose answers wrk did not "
            "wait for as a run ended); the ledger credited exactly the stored purchases' points; "
            "the balance + pending of every member it bought for = the sum of their ledger entries."
            if verdict == "balanced"
            else f"Books after {name}: {verdict}: {'; '.join(check.problems)}; "
            f"{len(check.refused)} refused: {check.refused[:3]}"
        )
    return "\n".join(lines)


def record(label: str, text_report: str) -> None:
    """Write the figures into BENCHMARKS.md under `### label`, replacing a section of that label.

    A new label goes at the end of the harness's results, before the next `## ` section.
    """
    content = BENCHMARKS.read_text()
    if RESULTS_HEADING not in content:
        content = content.rstrip() + f"\n\n{RESULTS_HEADING}\n"
    section = f"### {label}\n\n```\n{command_line()}\n```\n\n{text_report}\n\n"
    pattern = re.compile(rf"^### {re.escape(label)}\n.*?(?=^### |^## |\Z)", re.S | re.M)
    if pattern.search(content):
        content = pattern.sub(lambda _m: section, content, count=1)
    else:
        start = content.index(RESULTS_HEADING) + len(RESULTS_HEADING)
        following = re.compile(r"^## ", re.M).search(content, start)
        end = following.start() if following else len(content)
        content = content[:end].rstrip() + "\n\n" + section + content[end:]
    BENCHMARKS.write_text(content.rstrip() + "\n")


def command_line() -> str:
    """This run's command, as typed from the repository root."""
    return ".venv/bin/python -m scripts.bench.run " + " ".join(sys.argv[1:])


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parts", default="reads,writes,workers", help="comma-separated parts")
    parser.add_argument("--seconds", type=float, default=5.0, help="per target and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--members", type=int, default=60)
    parser.add_argument(
        "--postgres-url",
        default="postgresql://postgres@127.0.0.1:5432/test",
        help="a local PostgreSQL; its database is the maintenance database",
    )
    parser.add_argument(
        "--sqlite-path", metavar="FILE", help="reads, writes: also a SQLite file from seed-bench"
    )
    parser.add_argument(
        "--postgres-database",
        metavar="NAME",
        help="reads, writes: also a database from seed-bench on the --postgres-url server",
    )
    parser.add_argument("--record", metavar="LABEL", help="write the figures into BENCHMARKS.md")
    parser.add_argument(
        "--compare",
        metavar="SETTING=VALUE",
        help="also measure the dashboard (reads) and recordPurchase (writes) with this environment "
        "setting, side by side",
    )
    args = parser.parse_args(argv)
    args.run_id = f"bench{int(time.time())}"
    unknown = set(args.parts.split(",")) - {"reads", "writes", "workers"}
    if unknown:
        parser.error(f"unknown parts: {', '.join(sorted(unknown))}")
    return args


def main() -> None:
    """Run the benchmark; exit 1 if any request failed or the books do not balance."""
    args = parse_args()
    ensure_wrk()
    sys.exit(asyncio.run(bench(args)))


if __name__ == "__main__":
    main()
