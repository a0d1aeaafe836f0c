"""The operator CLI, installed as `rewards`: serve, migrate, seed-demo, dev-token, jobs."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

from backend.settings import Settings, get_settings


async def _with_database(settings: Settings, work: Callable[[Any], Awaitable[Any]]) -> Any:
    """Open and migrate the configured database, run `work(uows)`, close the pools."""
    from backend.db.engine import open_database
    from backend.db.migrate import upgrade_to_head
    from backend.rewards.clock import SystemClock
    from backend.rewards.uow import UnitOfWorkFactory

    db = open_database(settings.database_url)
    try:
        await upgrade_to_head(db.writer)
        return await work(UnitOfWorkFactory(db.session_factory(), SystemClock()))
    finally:
        await db.dispose()


def serve(args: argparse.Namespace, settings: Settings) -> None:
    """Run the service with uvicorn (migrations run on start); slow request heads are dropped."""
    import logging

    import uvicorn

    from backend.main import create_app
    from backend.serving import head_timeout_protocol

    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")
    settings = settings.model_copy(update={"seed_demo": settings.seed_demo or args.demo})
    host, port = args.host or settings.host, args.port or settings.port
    if settings.is_local:
        print(
            f"Rewards API (local mode) on http://{host}:{port}/graphql — GraphiQL in a browser there."
        )
        print("Get a token: rewards dev-token --uid demo-member")
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_level="info",
        http=head_timeout_protocol(settings.request_header_timeout_seconds),
    )


def migrate(_args: argparse.Namespace, settings: Settings) -> None:
    """Apply migrations and exit."""
    asyncio.run(_with_database(settings, lambda _uows: asyncio.sleep(0)))
    print("database is at the newest migration")


def seed_demo(_args: argparse.Namespace, settings: Settings) -> None:
    """Load the demo members (idempotent)."""
    from backend.demo import seed_demo as seed

    created = asyncio.run(_with_database(settings, seed))
    print(f"demo members created: {', '.join(created) or 'none (already there)'}")


def dev_token(args: argparse.Namespace, settings: Settings) -> None:
    """Print a dev ID token that the service accepts in local mode only."""
    from backend.adapters.dev_tokens import make_dev_token

    if not settings.is_local:
        sys.exit("dev tokens are only accepted in local mode")
    role = None if args.role == "member" else args.role
    print(
        make_dev_token(
            args.uid,
            role=role,
            project_id=settings.firebase_project_id,
            email=args.email,
            ttl_seconds=args.ttl,
        )
    )


def expire_points(_args: argparse.Namespace, settings: Settings) -> None:
    """Release matured pending points, expire old lots and re-evaluate tiers once."""
    from backend.rewards.jobs import settle_due

    report = asyncio.run(_with_database(settings, settle_due))
    print(json.dumps(asdict(report)))


def parser() -> argparse.ArgumentParser:
    """The command line."""
    root = argparse.ArgumentParser(prog="rewards", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)
    p = commands.add_parser("serve", help="run the API")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--demo", action="store_true", help="seed the demo members on start")
    p.set_defaults(run=serve)
    commands.add_parser("migrate", help="apply database migrations").set_defaults(run=migrate)
    commands.add_parser("seed-demo", help="load demo data").set_defaults(run=seed_demo)
    p = commands.add_parser("dev-token", help="print a local-mode ID token")
    p.add_argument("--uid", required=True)
    p.add_argument(
        "--role", default="member", choices=["member", "integration", "marketing", "admin"]
    )
    p.add_argument("--email")
    p.add_argument("--ttl", type=int, default=7 * 24 * 3600, help="seconds the token lives")
    p.set_defaults(run=dev_token)
    commands.add_parser("expire-points", help="run the release/expiry/tier job once").set_defaults(
        run=expire_points
    )
    return root


def main(argv: list[str] | None = None) -> None:
    """Entry point of `rewards`."""
    args = parser().parse_args(argv)
    args.run(args, get_settings())


if __name__ == "__main__":
    main()
