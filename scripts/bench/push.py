"""The push sender's throughput: the outbox through firebase-admin's `send_each` to a fake FCM.

    .venv/bin/python -m scripts.bench.push [--messages 5000] [--devices 10] [--senders 1]
        [--postgres-url postgresql://postgres@127.0.0.1:5432/test]

For each database (a temporary SQLite file; with --postgres-url a scratch database
`rewards_bench_push` on a local server, dropped at the end): migrate, enrol members with
`devices` phones each and queue `messages` pushes (notifications times devices), then time
`senders` senders draining the outbox with batches of 500 through the real firebase-admin
messaging code posting to the fake FCM server of the tests (on 127.0.0.1, answering at once).
Prints messages per second and checks every message arrived exactly once.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid

import firebase_admin
from google.auth.credentials import AnonymousCredentials
from sqlalchemy.engine import make_url

from backend.adapters.fcm_push import FcmPushSender
from backend.db.engine import open_database
from backend.db.migrate import upgrade_to_head
from backend.rewards.clock import SystemClock
from backend.rewards.notifications.sender import OutboxSender
from backend.rewards.uow import UnitOfWorkFactory
from scripts.bench.databases import on_each_database
from tests.fake_fcm import FakeFcm
from tests.push_support import member_with_devices, queue


async def measure(url: str, args: argparse.Namespace) -> str:
    """Queue the pushes, drain them, report the rate."""
    db = open_database(url)
    fake = FakeFcm().start()
    try:
        await upgrade_to_head(db.writer)
        uows = UnitOfWorkFactory(db.session_factory(), SystemClock())
        per_member = 100
        members = max(1, args.messages // (args.devices * per_member))
        for m in range(members):
            tokens = [f"ok-{m}-{d}" for d in range(args.devices)]
            await queue(uows, await member_with_devices(uows, f"bench-{m}", tokens), per_member)
        app = firebase_admin.initialize_app(
            AnonymousCredentials(),  # type: ignore[no-untyped-call]
            options={"projectId": "demo-rewards"},
            name=f"bench-{uuid.uuid4().hex}",
        )
        push = FcmPushSender(app, endpoint=fake.endpoint)
        senders = [OutboxSender(uows, push) for _ in range(args.senders)]
        started = time.perf_counter()
        await asyncio.gather(*(_drain(s) for s in senders))
        elapsed = time.perf_counter() - started
        total = sum(fake.delivered.values())
        once = "ok" if set(fake.delivered.values()) == {1} else "DUPLICATES"
        return (
            f"{make_url(url).get_backend_name()}: {total / elapsed:,.0f} messages/s "
            f"({total} in {elapsed:.1f} s, {args.senders} sender(s), each once: {once})"
        )
    finally:
        fake.stop()
        await db.dispose()


async def _drain(sender: OutboxSender) -> None:
    """Send until a round claims nothing."""
    while (await sender.send_due()).claimed:
        pass


async def main(args: argparse.Namespace) -> None:
    """Measure on SQLite, then on PostgreSQL if asked."""
    await on_each_database(lambda url: measure(url, args), args.postgres_url, "push")


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--devices", type=int, default=10)
    parser.add_argument("--senders", type=int, default=1)
    parser.add_argument("--postgres-url")
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
