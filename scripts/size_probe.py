"""Dashboard and `recordPurchase` in process on databases of different sizes, interleaved.

    .venv/bin/python -m scripts.size_probe URL_SMALL URL_BIG [--requests 2000] [--rounds 3]

Each URL names a database filled by `rewards seed-bench` (its member count is read from it).
Each round runs, on each database in turn, `--requests` dashboards (the API tests' `ME`
operation, the README's dashboard plus history) for random seeded members and then `--requests`
purchases of new orders for random members, one at a time through the ASGI app (no network, no
server), and prints requests per second and the 50th and 99th percentile latency. The ratio
big/small of the medians over the rounds says how much the size costs. Purchases stay in the
databases (a few thousand orders).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

from backend.db.engine import open_database
from backend.main import create_app
from backend.rewards.clock import SystemClock
from backend.seed_bench import member_uid
from backend.settings import Settings
from tests.api.operations import ME, RECORD
from tests.fakes import FakeVerifier


async def _members(url: str) -> list[str]:
    """The card numbers of the seeded members, in index order."""
    from sqlalchemy import text

    db = open_database(url)
    try:
        async with db.reader.connect() as conn:
            rows = await conn.execute(text("SELECT card_number FROM member ORDER BY id"))
            return [row[0] for row in rows]
    finally:
        await db.dispose()


async def _timed(client: httpx.AsyncClient, calls: list[tuple[str, dict[str, Any], str]]) -> Any:
    """Send the calls one at a time; return req/s, p50 and p99 in ms."""
    latencies = []
    started = time.perf_counter()
    for query, variables, token in calls:
        begin = time.perf_counter()
        response = await client.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {token}"},
        )
        latencies.append(time.perf_counter() - begin)
        body = response.json()
        payload = (body.get("data") or {}).get("recordPurchase") or {}
        if response.status_code != 200 or body.get("errors") or payload.get("errors"):
            raise SystemExit(f"request failed: {response.status_code} {body}")
    elapsed = time.perf_counter() - started
    ms = sorted(latency * 1000 for latency in latencies)
    return len(calls) / elapsed, ms[len(ms) // 2], ms[int(len(ms) * 0.99)]


def _order(card: str, rng: random.Random) -> dict[str, Any]:
    """A new store order for a member."""
    return {
        "input": {
            "orderId": f"P-{uuid.uuid4().hex}",
            "memberReference": card,
            "amount": str(rng.randrange(15, 300)),
            "currency": "EUR",
            "channel": "store-probe",
            "occurredAt": datetime.now(UTC).isoformat(),
        }
    }


async def _round(url: str, cards: list[str], requests: int, rng: random.Random) -> dict[str, Any]:
    """One round of dashboards then purchases on one database."""
    settings = Settings(
        mode="production",
        jobs_enabled=False,
        database_url=url,
        rate_limit_integration="1000000/minute",
    )
    app = create_app(settings, verifier=FakeVerifier(), clock=SystemClock())
    figures: dict[str, Any] = {}
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://probe") as client,
    ):
        pick = [rng.randrange(len(cards)) for _ in range(requests)]
        warm = [(ME, {}, f"member:{member_uid(i)}") for i in pick[:50]]
        await _timed(client, warm)
        figures["dashboard"] = await _timed(
            client, [(ME, {}, f"member:{member_uid(i)}") for i in pick]
        )
        orders = [(RECORD, _order(cards[i], rng), "integration:probe") for i in pick]
        figures["purchase"] = await _timed(client, orders)
    return figures


async def main() -> None:
    """Interleave rounds on the small and the big database; print the figures and ratios."""
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("small")
    args.add_argument("big")
    args.add_argument("--requests", type=int, default=2000)
    args.add_argument("--rounds", type=int, default=3)
    options = args.parse_args()
    rng = random.Random(1)
    cards = {
        name: await _members(url) for name, url in (("small", options.small), ("big", options.big))
    }
    results: dict[str, list[dict[str, Any]]] = {"small": [], "big": []}
    for n in range(options.rounds):
        for name, url in (("small", options.small), ("big", options.big)):
            figures = await _round(url, cards[name], options.requests, rng)
            results[name].append(figures)
            line = "  ".join(
                f"{kind}: {rps:7.1f} req/s p50 {p50:5.2f} ms p99 {p99:6.2f} ms"
                for kind, (rps, p50, p99) in figures.items()
            )
            print(f"round {n + 1} {name:5} ({len(cards[name])} members)  {line}", flush=True)
    for kind in ("dashboard", "purchase"):
        small = statistics.median(r[kind][0] for r in results["small"])
        big = statistics.median(r[kind][0] for r in results["big"])
        print(
            f"{kind}: median {small:.1f} req/s small, {big:.1f} req/s big, big/small = {big / small:.3f}"
        )


if __name__ == "__main__":
    asyncio.run(main())
