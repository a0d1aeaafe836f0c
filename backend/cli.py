"""The operator CLI, installed as `rewards`: serve, migrate, seed-demo, seed-bench, dev-token,
expire-points, push-worker, automations-worker, campaign-worker."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import textwrap
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

from backend.rewards.ports import Role
from backend.settings import ConfigError, Settings, env_name, load_settings

HELP_WIDTH = 100
EVERY_SETTING = ("*",)
DATABASE = ("database_url",)
DATABASE_AND_LIVE = ("database_url", "redis_url", "redis_key_prefix")
AUTOMATIONS_WORKER = (*DATABASE_AND_LIVE, "automations_interval_seconds")
PUSH_WORKER = (
    "mode",
    "database_url",
    "database_writer_pool_size",
    "firebase_project_id",
    "firebase_credentials_file",
    "push_backend",
    "push_batch_size",
    "push_poll_seconds",
    "push_lease_seconds",
    "push_max_attempts",
    "push_retry_base_seconds",
    "push_retry_max_seconds",
)

CAMPAIGN_WORKER = (
    "database_url",
    "database_writer_pool_size",
    "campaign_batch_size",
    "campaign_poll_seconds",
)


async def _with_database(settings: Settings, work: Callable[[Any], Awaitable[Any]]) -> Any:
    """Open and migrate the configured database, run `work(uows)`, close the pools.

    With REDIS_URL, what the work commits is published to the servers' live subscriptions.
    """
    from backend.adapters.live_events import RedisEvents
    from backend.db.engine import open_database
    from backend.db.migrate import upgrade_to_head
    from backend.rewards.clock import SystemClock
    from backend.rewards.uow import UnitOfWorkFactory

    db = open_database(settings.database_url)
    events = (
        RedisEvents(settings.redis_url, settings.redis_key_prefix) if settings.redis_url else None
    )
    try:
        await upgrade_to_head(db.writer)
        return await work(UnitOfWorkFactory(db.session_factory(), SystemClock(), publisher=events))
    finally:
        await db.dispose()
        if events is not None:
            await events.close()


async def _check_database(url: str) -> None:
    """Connect once, so an unreachable database is one clear line instead of a traceback."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url)
    try:
        async with engine.connect():
            pass
    except (OSError, DBAPIError) as error:
        cause = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        where = make_url(url).render_as_string(hide_password=True)
        raise ConfigError([f"DATABASE_URL: cannot connect to {where}: {cause}"]) from None
    finally:
        await engine.dispose()


def serve(args: argparse.Namespace, settings: Settings) -> None:
    """Migrate (and seed) once, then run the service in uvicorn worker processes."""
    import logging

    import uvicorn

    from backend.main import make_push, make_verifier
    from backend.serving import uvicorn_options

    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")
    if args.demo:
        os.environ["SEED_DEMO"] = "true"  # each worker reads its settings from the environment
        settings = settings.model_copy(update={"seed_demo": True})
    host, port = args.host or settings.host, args.port or settings.port
    workers = worker_count(args.workers, settings)
    make_verifier(settings)  # bad credentials: one line here, not a failing worker per CPU
    if settings.push_sender_in_process:
        make_push(settings)  # likewise for FCM's
    asyncio.run(_with_database(settings, _seed_if_asked(settings)))  # not once per worker at once
    if settings.is_local:
        print(
            f"Rewards API (local mode) on http://{host}:{port}/graphql — GraphiQL in a browser there."
        )
        print("Get a token: rewards dev-token --uid demo-member")
    uvicorn.run(
        "backend.main:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        **uvicorn_options(settings),
    )


def worker_count(option: int | None, settings: Settings) -> int:
    """--workers, else WORKERS, else one per CPU in production mode and 1 in local mode."""
    return option or settings.workers or (1 if settings.is_local else os.cpu_count() or 1)


def _seed_if_asked(settings: Settings) -> Callable[[Any], Awaitable[Any]]:
    """The demo seeding when SEED_DEMO or --demo asks for it, else nothing."""
    from backend.demo import seed_demo as seed

    return seed if settings.seed_demo else (lambda _uows: asyncio.sleep(0))


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
        raise ConfigError(["MODE: dev tokens are only accepted in local mode"])
    role = None if args.role == Role.MEMBER else args.role
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


def push_worker(_args: argparse.Namespace, settings: Settings) -> None:
    """Send queued pushes until stopped (SIGINT or SIGTERM); safe beside servers and other workers."""
    import logging
    import signal

    from backend.db.engine import open_database
    from backend.db.migrate import upgrade_to_head
    from backend.main import make_push, make_sender
    from backend.rewards.clock import SystemClock
    from backend.rewards.uow import UnitOfWorkFactory

    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")

    async def run() -> None:
        db = open_database(settings.database_url, settings.pools)
        try:
            await upgrade_to_head(db.writer)
            uows = UnitOfWorkFactory(db.session_factory(), SystemClock())
            task = asyncio.ensure_future(
                make_sender(settings, db, uows, make_push(settings)).run_forever()
            )
            loop = asyncio.get_running_loop()
            for stop in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(stop, task.cancel)
            print(f"push worker sending to {'FCM' if settings.uses_fcm else 'the log'}", flush=True)
            with contextlib.suppress(asyncio.CancelledError):
                await task
        finally:
            await db.dispose()

    asyncio.run(run())


def automations_worker(args: argparse.Namespace, settings: Settings) -> None:
    """Run the automations every AUTOMATIONS_INTERVAL_SECONDS until stopped (or once, `--once`)."""
    import logging
    import signal

    from backend.main import run_automations_forever
    from backend.rewards.automations.services import run_automations

    if args.once:
        report = asyncio.run(_with_database(settings, run_automations))
        print(json.dumps(asdict(report)))
        return
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")

    async def forever(uows: Any) -> None:
        task = asyncio.ensure_future(
            run_automations_forever(uows, settings.automations_interval_seconds)
        )
        loop = asyncio.get_running_loop()
        for stop in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(stop, task.cancel)
        print("automations worker running", flush=True)
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(_with_database(settings, forever))


def seed_bench(args: argparse.Namespace, settings: Settings) -> None:
    """Migrate, then fill an empty database with many members and a long, consistent ledger."""
    from datetime import UTC, datetime

    from backend.db.engine import open_database
    from backend.db.migrate import upgrade_to_head
    from backend.seed_bench import seed_bench as seed

    async def run() -> Any:
        db = open_database(settings.database_url)
        try:
            await upgrade_to_head(db.writer)
            return await seed(
                db,
                members=args.members,
                entries=args.entries_per_member,
                now=datetime.now(UTC),
                seed=args.seed,
                workers=args.workers,
                progress=lambda line: print(line, file=sys.stderr, flush=True),
            )
        finally:
            await db.dispose()

    try:
        report = asyncio.run(run())
    except ValueError as error:
        raise ConfigError([f"DATABASE_URL: {error}"]) from None
    print(json.dumps(asdict(report)))


def campaign_worker(_args: argparse.Namespace, settings: Settings) -> None:
    """Send due surprise campaigns until stopped (SIGINT or SIGTERM); safe beside servers and others."""
    import logging
    import signal

    from backend.db.engine import open_database
    from backend.db.migrate import upgrade_to_head
    from backend.main import run_campaigns_forever
    from backend.rewards.clock import SystemClock
    from backend.rewards.uow import UnitOfWorkFactory

    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")

    async def run() -> None:
        db = open_database(settings.database_url, settings.pools)
        try:
            await upgrade_to_head(db.writer)
            uows = UnitOfWorkFactory(db.session_factory(), SystemClock())
            task = asyncio.ensure_future(
                run_campaigns_forever(
                    uows, batch=settings.campaign_batch_size, poll=settings.campaign_poll_seconds
                )
            )
            loop = asyncio.get_running_loop()
            for stop in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(stop, task.cancel)
            print("campaign worker sending due surprises", flush=True)
            with contextlib.suppress(asyncio.CancelledError):
                await task
        finally:
            await db.dispose()

    asyncio.run(run())


def _environment(names: tuple[str, ...]) -> str:
    """The help section listing the environment variables a command reads, with their defaults."""
    fields = Settings.model_fields
    chosen = list(fields) if names == EVERY_SETTING else list(names)
    width = max(len(env_name(n)) for n in chosen) + 4
    lines = ["environment (or a .env file in the working directory):"]
    for name in chosen:
        field = fields[name]
        default = "unset" if field.default is None else str(field.default).lower()
        text = f"  {env_name(name):<{width - 2}}{field.description} (default: {default})"
        lines += textwrap.wrap(
            text, HELP_WIDTH, subsequent_indent=" " * width, break_on_hyphens=False
        )
    lines += [
        "",
        "Every setting is checked before the command runs: a bad one prints",
        "`rewards: VARIABLE: problem` (one line each) and exits with status 2.",
    ]
    return "\n".join(lines)


def _command(
    commands: Any, name: str, summary: str, description: str, reads: tuple[str, ...], run: Any
) -> argparse.ArgumentParser:
    """Add a subcommand whose --help says what it does, its options and what it reads."""
    command: argparse.ArgumentParser = commands.add_parser(
        name,
        help=summary,
        description=textwrap.fill(description, HELP_WIDTH),
        epilog=_environment(reads),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    command.set_defaults(run=run, reads=reads)
    return command


def _uid(text: str) -> str:
    """A Firebase uid: 1 to 128 characters."""
    if not 0 < len(text) <= 128:
        raise argparse.ArgumentTypeError("must be 1 to 128 characters")
    return text


def _positive(text: str) -> int:
    """A whole number above 0."""
    if not text.isdigit() or int(text) == 0:
        raise argparse.ArgumentTypeError("must be a whole number above 0")
    return int(text)


def _port(text: str) -> int:
    """A TCP port."""
    port = _positive(text)
    if port > 65535:
        raise argparse.ArgumentTypeError("must be at most 65535")
    return port


def parser() -> argparse.ArgumentParser:
    """The command line."""
    root = argparse.ArgumentParser(
        prog="rewards",
        description="The Rewards API's operator commands. `rewards COMMAND --help` tells more.",
        epilog="Exit status: 0 done, 1 failed, 2 bad arguments or settings.",
    )
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = _command(
        commands,
        "serve",
        "run the API",
        "Migrate the database, then serve the GraphQL API (HTTP and WebSocket at /graphql, "
        "liveness at /healthz) with uvicorn, running the settle job inside the process "
        "unless JOBS_ENABLED=false. In local mode GraphiQL is served at /graphql too.",
        EVERY_SETTING,
        serve,
    )
    p.add_argument("--host", help="address to listen on (default: HOST)")
    p.add_argument("--port", type=_port, help="port to listen on (default: PORT)")
    p.add_argument(
        "--demo", action="store_true", help="seed the demo members on start (as SEED_DEMO=true)"
    )
    p.add_argument(
        "--workers",
        type=_positive,
        help="server processes (default: WORKERS, else one per CPU in production mode, "
        "1 in local mode)",
    )
    _command(
        commands,
        "migrate",
        "apply database migrations",
        "Apply the database migrations (alembic) up to the newest, then exit. "
        "Safe to run again and from several machines in turn.",
        DATABASE,
        migrate,
    )
    _command(
        commands,
        "seed-demo",
        "load demo data",
        "Migrate, then enrol the demo members (demo-member, demo-member-2, demo-member-3) with "
        "fixed card numbers, purchases and a spend. Members already there are left alone.",
        DATABASE,
        seed_demo,
    )
    p = _command(
        commands,
        "dev-token",
        "print a local-mode ID token",
        "Print an unsigned ID token in the Firebase Auth emulator's format for a user and role. "
        "Only a service in local mode accepts it; pass it as `Authorization: Bearer <token>`.",
        ("mode", "firebase_project_id"),
        dev_token,
    )
    p.add_argument("--uid", required=True, type=_uid, help="the Firebase user id (1-128 chars)")
    p.add_argument(
        "--role",
        default=Role.MEMBER.value,
        choices=[r.value for r in Role],
        help="the token's `role` claim (default: member, i.e. no claim)",
    )
    p.add_argument("--email", help="the token's email claim (default: none)")
    p.add_argument(
        "--ttl",
        type=_positive,
        default=7 * 24 * 3600,
        help="seconds the token lives (default: 604800, a week)",
    )
    _command(
        commands,
        "expire-points",
        "run the release/expiry/tier job once",
        "Migrate, then release pending points whose return window is over, expire lots past "
        "their date and re-evaluate tiers whose grace year ended, once; print a JSON report. "
        "Safe to run beside a server's own job. With REDIS_URL, members subscribed to "
        "memberEvents on any server hear the changes.",
        DATABASE_AND_LIVE,
        expire_points,
    )
    _command(
        commands,
        "push-worker",
        "send queued pushes until stopped",
        "Migrate, then send the queued pushes (the outbox) through FCM, or to the log in local "
        "mode without credentials, until SIGINT or SIGTERM. Run it when servers have "
        "PUSH_SENDER_IN_PROCESS=false; any number of workers (and servers) may send at once: each "
        "push is claimed by one of them, and one that dies leaves its claims to the others after "
        "PUSH_LEASE_SECONDS.",
        PUSH_WORKER,
        push_worker,
    )
    _command(
        commands,
        "campaign-worker",
        "send due surprise campaigns until stopped",
        "Migrate, then reward and notify the members of due surprise campaigns, a batch per "
        "transaction, until SIGINT or SIGTERM. Run it when servers have "
        "CAMPAIGNS_IN_PROCESS=false; any number of workers (and servers) may run at once: a batch "
        "locks its campaign, each member is rewarded once, and a worker that dies midway leaves "
        "its batch to the next one.",
        CAMPAIGN_WORKER,
        campaign_worker,
    )
    p = _command(
        commands,
        "automations-worker",
        "run the automations until stopped",
        "Migrate, then run the automations (birthday gifts, points-expiring warnings, "
        "close-to-next-tier nudges, club renewal reminders) every AUTOMATIONS_INTERVAL_SECONDS "
        "until SIGINT or SIGTERM, or once with --once (printing a JSON report). Run it when "
        "servers have AUTOMATIONS_IN_PROCESS=false; several workers (and servers) may run at "
        "once: each member's occasion is acted on once, under the member's row lock.",
        AUTOMATIONS_WORKER,
        automations_worker,
    )
    p.add_argument("--once", action="store_true", help="run once, print a report and exit")
    p = _command(
        commands,
        "seed-bench",
        "fill an empty database for benchmarks",
        "Migrate, then fill an EMPTY database with simulated members (uids bench-00000, "
        "bench-00001, ...) whose histories follow the program rules: purchases pending for the "
        "return window then released, redemptions, expiries, recent purchases still pending, "
        "tiers and monthly tier totals to match. Worker processes simulate the histories; "
        "PostgreSQL loads with COPY, SQLite with large executemany transactions, each in one "
        "transaction with the secondary indexes built at the end; prints a JSON report (rows "
        "per table, seconds).",
        DATABASE,
        seed_bench,
    )
    p.add_argument("--members", type=_positive, required=True, help="members to create")
    p.add_argument(
        "--entries-per-member",
        type=_positive,
        default=10,
        help="average ledger entries per member, spread over half to one and a half times "
        "that (default: 10)",
    )
    p.add_argument("--seed", type=int, default=1, help="random seed (default: 1)")
    p.add_argument(
        "--workers",
        type=_positive,
        default=os.cpu_count() or 1,
        help="processes simulating histories (default: the CPU count); the result is the same "
        "for any number",
    )
    return root


def main(argv: list[str] | None = None) -> None:
    """Entry point of `rewards`: check the settings, then run the command."""
    args = parser().parse_args(argv)
    try:
        settings = load_settings()
        if "database_url" in args.reads or args.reads == EVERY_SETTING:
            asyncio.run(_check_database(settings.database_url))
        args.run(args, settings)
    except ConfigError as error:
        for problem in error.problems:
            print(f"rewards: {problem}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
