"""The README dashboard through the app in process: CPU, collector pauses, instructions per request.

No HTTP server and no wrk: N requests go straight to the ASGI app, C at a time, on a database
seeded as `scripts.bench.run` seeds it. Process CPU per request counts the reader threads too.
Under `valgrind --tool=callgrind --instr-atstart=no` with `--callgrind`, only the measured
requests are counted: instructions per request do not move with the machine's load, so two
versions of the code compare on a shared machine (a run takes 2-3 minutes).

    .venv/bin/python -m scripts.bench.dashboard_cpu --database sqlite|pg [--app service|ceiling|purchase]
    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=/dev/null \\
        .venv/bin/python -m scripts.bench.dashboard_cpu --callgrind -n 320 --warm-up 64
    # instructions per request: valgrind's "Collected" / n

`--app purchase` sends `recordPurchase` instead (the harness's `Buy`, a new order id each request,
for the seeded members that are not dashboard readers) with the bench's integration token.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import uvloop

from scripts.bench.run import (
    DASHBOARD_MEMBER_PURCHASES,
    purchase_body_parts,
    readme_operation,
    scratch_members,
)
from scripts.bench.seed import member_uid, purchases_of, scratch_postgres, scratch_sqlite, seed
from scripts.bench.servers import BenchVerifier


async def call(app: Any, body: bytes, token: str) -> tuple[int, bytes]:
    """POST one GraphQL body to the ASGI app; its status and body."""
    headers = [
        (b"content-type", b"application/json"),
        (b"authorization", f"Bearer {token}".encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "root_path": "",
        "server": ("127.0.0.1", 80),
        "client": ("127.0.0.1", 5000),
        "headers": headers,
    }
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop() if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


@contextlib.contextmanager
def collector_pauses() -> Iterator[dict[str, float]]:
    """Count the collector's runs, full runs, total and longest pause while a block runs."""
    found = {"runs": 0.0, "full": 0.0, "seconds": 0.0, "longest": 0.0}
    started = [0.0]

    def timed(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
            return
        pause = time.perf_counter() - started[0]
        found["runs"] += 1
        found["full"] += info["generation"] == 2
        found["seconds"] += pause
        found["longest"] = max(found["longest"], pause)

    gc.callbacks.append(timed)
    try:
        yield found
    finally:
        gc.callbacks.remove(timed)


def instrument(on: bool) -> None:
    """Switch callgrind's instrumentation of this process on or off."""
    switch = ["callgrind_control", "-i", "on" if on else "off", str(os.getpid())]
    subprocess.run(switch, stdout=subprocess.DEVNULL, check=True)


async def measure(args: argparse.Namespace) -> None:
    """Seed, start the app (or the ceiling over its answer), warm up, measure, print one line."""
    scratch = scratch_sqlite() if args.database == "sqlite" else scratch_postgres(args.postgres_url)
    async with scratch as (url, label):
        cards = await seed(url, args.members)
        os.environ["BENCH_DATABASE_URL"] = url
        from backend.main import create_app
        from scripts.bench.servers import bench_settings

        app = create_app(bench_settings(), verifier=BenchVerifier())
        body = json.dumps({"query": readme_operation(0), "operationName": "Dashboard"}).encode()
        six = [i for i in range(args.members) if purchases_of(i) == DASHBOARD_MEMBER_PURCHASES]
        tokens = [f"member:{member_uid(i)}" for i in six]
        if args.app == "purchase":
            body, tokens = purchases(scratch_members(args.members, cards).writers)
        async with app.router.lifespan_context(app):
            if args.app == "ceiling":
                ceiling = await _ceiling(app, body, tokens[0])
            else:
                figures = await load(app, body, tokens, args)
        if args.app == "ceiling":  # the service stopped: nothing else runs on the loop
            figures = await load(ceiling, body, tokens, args)
    n, cpu, wall, pauses = figures
    print(
        f"{args.app} on {label}: {n} requests, {args.concurrency} at a time: "
        f"CPU {1000 * cpu / n:.3f} ms/request, wall {1000 * wall / n:.3f} ms/request; "
        f"collector: {pauses['runs']:.0f} runs, {pauses['full']:.0f} full, "
        f"{1000 * pauses['seconds'] / n:.3f} ms/request, longest {1000 * pauses['longest']:.1f} ms"
    )


def purchases(cards: list[str]) -> tuple[Callable[[int], bytes], list[str]]:
    """The n-th purchase's body (a new order for one of `cards`) and the integration token."""
    prefix, middle, suffix = purchase_body_parts()

    def body(n: int) -> bytes:
        return f"{prefix}cpu-{n}{middle}{cards[n % len(cards)]}{suffix}".encode()

    return body, ["integration:bench-pos"]


async def load(
    app: Any, body: bytes | Callable[[int], bytes], tokens: list[str], args: argparse.Namespace
) -> tuple[int, float, float, dict[str, float]]:
    """Warm up, then send the measured requests; (requests, CPU s, wall s, collector pauses)."""
    sent = iter(range(10**9))

    async def client(requests: int) -> None:
        for _ in range(requests):
            n = next(sent)
            sending = body(n) if callable(body) else body
            status, answer = await call(app, sending, tokens[n % len(tokens)])
            assert status == 200 and b'"errors":[{' not in answer, answer[:300]

    per_client = args.n // args.concurrency
    await asyncio.gather(
        *(client(args.warm_up // args.concurrency) for _ in range(args.concurrency))
    )
    if args.callgrind:
        instrument(True)
    with collector_pauses() as pauses:
        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.gather(*(client(per_client) for _ in range(args.concurrency)))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    if args.callgrind:
        instrument(False)
    return per_client * args.concurrency, cpu, wall, pauses


async def _ceiling(app: Any, body: bytes, token: str) -> Any:
    """graphql-core over the service's own answer, as `scripts.bench.servers.ceiling` serves it
    (the ceiling's Starlette app needs no lifespan)."""
    from scripts.bench import servers

    status, answer = await call(app, body, token)
    assert status == 200, answer
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"rewards-bench-answer-{os.getpid()}.json"
    path.write_bytes(answer)
    os.environ["BENCH_ANSWER_FILE"] = str(path)
    try:
        return servers.ceiling()  # reads the answer once, at start
    finally:
        path.unlink()


def main() -> None:
    """Run one measurement."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "pg"], default="sqlite")
    parser.add_argument("--app", choices=["service", "ceiling", "purchase"], default="service")
    parser.add_argument("-n", type=int, default=3200, help="measured requests")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--warm-up", type=int, default=320)
    parser.add_argument("--members", type=int, default=60)
    parser.add_argument("--callgrind", action="store_true", help="count only the measured part")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/test")
    uvloop.install()
    asyncio.run(measure(parser.parse_args()))


if __name__ == "__main__":
    main()
