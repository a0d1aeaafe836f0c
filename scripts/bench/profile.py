"""Profile the service under wrk load with py-spy and say where the time goes.

    .venv/bin/python -m scripts.bench.profile [--target dashboard|purchase] [--database sqlite|pg]
        [--seconds 15] [--members 40]

The server (one worker, core 0) is sampled by py-spy (`pip install py-spy` into the venv; not a
project dependency) while wrk (core 1) sends the README's `Dashboard` query at 32 connections or
`recordPurchase` at 16. Each sample goes to the innermost frame that belongs to a known layer
(SQLAlchemy, aiosqlite, strawberry, ...); the summary gives each layer's share of the event-loop
thread's busy samples, and of other threads (aiosqlite's) separately.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from scripts.bench.run import (
    DASHBOARD_MEMBER_PURCHASES,
    LOAD_CORES,
    READ_CONNECTIONS,
    SERVER_CORES,
    WRITE_CONNECTIONS,
    Load,
    readme_operation,
    servers,
    wrk,
)
from scripts.bench.seed import member_uid, purchases_of, scratch_postgres, scratch_sqlite, seed

# The first pattern that matches a frame's file (or function) names its layer; frames are read
# from the innermost out, so time inside a library's own calls stays with that library.
LAYERS = [
    ("logging", r"(^|/)logging/|uvicorn/logging"),
    ("json", r"(^|/)json/|orjson"),
    ("aiosqlite", r"(^|/)aiosqlite/"),
    ("asyncpg", r"(^|/)asyncpg/"),
    ("SQLAlchemy", r"(^|/)(sqlalchemy|sqlmodel)/"),
    ("graphql-core", r"(^|/)graphql/"),
    ("strawberry", r"(^|/)strawberry/"),
    ("pydantic", r"(^|/)pydantic"),
    ("starlette", r"(^|/)starlette/"),
    ("uvicorn", r"(^|/)uvicorn/|httptools"),
    ("app: backend/api", r"backend/api/"),
    ("app: backend/rewards", r"backend/rewards/"),
    ("app: other backend", r"backend/"),
    ("asyncio/uvloop", r"asyncio/|uvloop|selectors"),
]
FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")


def layer_of(stack: list[str]) -> str:
    """The layer of the innermost frame that belongs to one."""
    for frame in reversed(stack):
        match = FRAME.match(frame)
        where = match.group("file") if match else frame
        for name, pattern in LAYERS:
            if re.search(pattern, where):
                return name
    return "other"


def summarise(raw: Path, pid: int) -> str:
    """Per thread kind, each layer's share of the samples, plus inclusive shares of note."""
    loop, others = Counter[str](), Counter[str]()
    inclusive = Counter[str]()
    loop_total = 0
    for line in raw.read_text().splitlines():
        stack_text, _, count_text = line.rpartition(" ")
        if not stack_text or not count_text.isdigit():
            continue  # py-spy sometimes splits a frame holding a newline over two lines
        count = int(count_text)
        thread, *stack = stack_text.split(";")
        main = thread.startswith(f"thread ({pid})")  # the main thread's id is the pid
        (loop if main else others)[layer_of(stack)] += count
        if main:
            loop_total += count
            joined = ";".join(stack)
            for name, pattern in INCLUSIVE:
                if re.search(pattern, joined):
                    inclusive[name] += count
    lines = [f"event-loop thread: {loop_total} samples"]
    lines += [f"  {name:<22}{n / loop_total:>6.1%}" for name, n in loop.most_common()]
    lines.append("event-loop thread, inclusive (a frame anywhere in the stack):")
    lines += [f"  {name:<36}{inclusive[name] / loop_total:>6.1%}" for name, _ in INCLUSIVE]
    total = sum(others.values())
    lines.append(f"other threads (aiosqlite's): {total} samples")
    lines += [f"  {name:<22}{n / max(total, 1):>6.1%}" for name, n in others.most_common(6)]
    return "\n".join(lines)


INCLUSIVE = [
    ("SQLAlchemy", r"[(/]sqlalchemy/"),
    ("aiosqlite / asyncpg", r"[(/](aiosqlite|asyncpg)/"),
    ("graphql-core execute", r"graphql/execution/execute"),
    ("access log (uvicorn.access)", r"uvicorn/logging|logging/__init__.py"),
    ("Loaders() construction", r"__init__ \([^)]*backend/api/loaders"),
    ("token verification", r"verify \("),
    ("JSON (request and response)", r"[(/]json/|orjson"),
    ("validation", r"graphql/validation"),
    ("parse", r"graphql/language/parser"),
]


async def profile(args: argparse.Namespace) -> None:
    """Seed, serve, load and sample; print the summary."""
    async with contextlib.AsyncExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="rewards-profile-")))
        scratch = (
            scratch_sqlite() if args.database == "sqlite" else scratch_postgres(args.postgres_url)
        )
        url, label = await stack.enter_async_context(scratch)
        cards = await seed(url, args.members)
        dashboard_uids = [
            member_uid(i)
            for i in range(args.members)
            if purchases_of(i) == DASHBOARD_MEMBER_PURCHASES
        ]
        if args.target == "dashboard":
            body = json.dumps({"query": readme_operation(0), "operationName": "Dashboard"})
            tokens = [f"member:{uid}" for uid in dashboard_uids]
            load, connections = Load(tokens=tokens, bodies=[body] * len(tokens)), READ_CONNECTIONS
        else:
            load = Load(tokens=["integration:bench-pos"], cards=cards, log=work / "answers.log")
            connections = WRITE_CONNECTIONS
        spec = [("server", "dashboard", {"BENCH_DATABASE_URL": url}, 1, SERVER_CORES)]
        async with servers(spec, work) as running:
            server = running["server"]
            script = load.script(work, "profile", "profile")
            wrk(server.url, script, connections, 2, LOAD_CORES)  # warm up
            raw = work / "profile.txt"
            spy = subprocess.Popen(
                [
                    shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy"),
                    "record",
                    "--pid",
                    str(server.proc.pid),
                    "--duration",
                    str(args.seconds),
                    "--rate",
                    "200",
                    "--format",
                    "raw",
                    "--threads",
                    "--gil",
                    "--nonblocking",
                    "-o",
                    str(raw),
                ],
                stdout=subprocess.DEVNULL,
                stderr=(work / "py-spy.log").open("wb"),
            )
            figure = wrk(server.url, script, connections, args.seconds, LOAD_CORES)
            spy.wait(timeout=60)
        print(
            f"{args.target} on {label}: {figure.rate:.1f} req/s, p50 {figure.p50_ms:.1f} ms, "
            f"p99 {figure.p99_ms:.1f} ms under py-spy"
        )
        if not raw.exists():
            raise SystemExit(f"py-spy wrote nothing: {(work / 'py-spy.log').read_text()}")
        if args.raw:
            shutil.copy(raw, args.raw)
        print(summarise(raw, server.proc.pid))


def main() -> None:
    """Run one profile."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", choices=["dashboard", "purchase"], default="dashboard")
    parser.add_argument("--database", choices=["sqlite", "pg"], default="sqlite")
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--members", type=int, default=40)
    parser.add_argument("--raw", type=Path, help="keep py-spy's collapsed stacks in this file")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/test")
    asyncio.run(profile(parser.parse_args()))


if __name__ == "__main__":
    main()
