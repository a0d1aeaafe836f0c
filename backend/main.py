"""Wiring: settings → database, auth adapter, schema, jobs → one Starlette app."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute

from backend.adapters.live_events import live_events_from_settings
from backend.adapters.open_sockets import slots_from_settings
from backend.adapters.rate_limits import limiter_from_settings
from backend.api.context import Services
from backend.api.live.websocket import GraphQLWebSocket, SocketLimits
from backend.api.schema import build_schema
from backend.api.view import GraphQLEndpoint, HttpLimits
from backend.db.engine import Database, open_database
from backend.db.migrate import upgrade_to_head
from backend.rewards.automations.services import run_automations
from backend.rewards.clock import SystemClock
from backend.rewards.games.draws import run_due_draws
from backend.rewards.jobs import settle_due
from backend.rewards.marketing.campaigns import run_due_campaigns
from backend.rewards.notifications.sender import OutboxSender, SenderConfig
from backend.rewards.offers.featured import STORE_EVERY_SECONDS, FeaturedPicks
from backend.rewards.ports import Clock, LiveEvents, PushSender, RateLimiter, TokenVerifier
from backend.rewards.profile.queries import option_labels
from backend.rewards.program import RulesCache, load_rules
from backend.rewards.shared import SharedValue
from backend.rewards.uow import UnitOfWorkFactory
from backend.settings import Settings

log = logging.getLogger("rewards")
T = TypeVar("T")
REPO_ROOT = Path(__file__).resolve().parent.parent
YOUNG_COLLECTION_AFTER = 10_000  # net new objects per young collection (CPython: 700)
FULL_COLLECTION_EVERY = 2  # middle-generation collections per full collection (CPython: 10)


def make_verifier(settings: Settings) -> TokenVerifier:
    """The Firebase ID-token verifier for the configured mode."""
    from backend.adapters.firebase_auth import verifier_from_settings

    return verifier_from_settings(settings)


def make_push(settings: Settings) -> PushSender:
    """Where pushes go: FCM through firebase-admin, or one log line each (the local default)."""
    if settings.uses_fcm:
        from backend.adapters.fcm_push import fcm_sender_from_settings

        return fcm_sender_from_settings(settings)
    from backend.adapters.log_push import LogPushSender

    return LogPushSender()


def make_sender(
    settings: Settings, db: Database, uows: UnitOfWorkFactory, push: PushSender
) -> OutboxSender:
    """The outbox sender with the configured batch, lease and retry policy."""
    config = SenderConfig(
        batch_size=settings.push_batch_size,
        lease_seconds=settings.push_lease_seconds,
        max_attempts=settings.push_max_attempts,
        retry_base_seconds=settings.push_retry_base_seconds,
        retry_max_seconds=settings.push_retry_max_seconds,
        poll_seconds=settings.push_poll_seconds,
    )
    return OutboxSender(uows, push, config, reader=db.reader)


async def run_jobs_forever(uows: UnitOfWorkFactory, interval: float) -> None:
    """Release, expire and re-evaluate tiers, and run due prize draws, on a schedule inside the
    server process."""
    while True:
        try:
            report = await settle_due(uows)
            if report.entries or report.tier_changes or report.referrals.rewarded:
                log.info("settle job: %s", report)
        except Exception:
            log.exception("settle job failed; will retry")
        try:
            if drawn := await run_due_draws(uows):
                log.info("draw job: %d draws run", drawn)
        except Exception:
            log.exception("draw job failed; will retry")
        await asyncio.sleep(interval)


async def run_automations_forever(uows: UnitOfWorkFactory, interval: float) -> None:
    """Birthdays, expiry warnings, tier nudges and renewal reminders on a schedule."""
    while True:
        try:
            report = await run_automations(uows)
            if report.total:
                log.info("automations: %s", report)
        except Exception:
            log.exception("automations failed; will retry")
        await asyncio.sleep(interval)


async def run_campaigns_forever(uows: UnitOfWorkFactory, *, batch: int, poll: float) -> None:
    """Send due surprise campaigns, a batch of members per transaction; wait a poll when idle."""
    while True:
        try:
            report = await run_due_campaigns(uows, batch=batch)
            if report.batches:
                log.info("campaign job: %s", report)
        except Exception:
            log.exception("campaign job failed; will retry")
        await asyncio.sleep(poll)


async def store_featured_forever(picks: FeaturedPicks, uows: UnitOfWorkFactory) -> None:
    """Store the dashboards' featured-offer picks in batches (see `FeaturedPicks`)."""
    while True:
        await asyncio.sleep(STORE_EVERY_SECONDS)
        await _store_featured(picks, uows)


async def _store_featured(picks: FeaturedPicks, uows: UnitOfWorkFactory) -> None:
    """Store one batch of picks; a failed batch is dropped (members may see an offer again)."""
    try:
        await picks.store(uows)
    except Exception:
        log.exception("storing featured-offer picks failed; that batch is dropped")


def create_app(
    settings: Settings,
    *,
    verifier: TokenVerifier | None = None,
    clock: Clock | None = None,
    database: Database | None = None,
    limiter: RateLimiter | None = None,
    push: PushSender | None = None,
) -> Starlette:
    """Build the service; tests pass fakes for the verifier, clock, database, limiter and push."""
    db = database or open_database(settings.database_url, settings.pools)
    the_clock = clock or SystemClock()
    rules = RulesCache(lambda: _on_reader(db, load_rules), ttl_seconds=settings.rules_cache_seconds)
    labels = SharedValue(
        lambda: _on_reader(db, option_labels),
        ttl_seconds=settings.rules_cache_seconds,
        what="the StyleID option labels",
    )
    events: LiveEvents = live_events_from_settings(settings.redis_url, settings.redis_key_prefix)
    slots = slots_from_settings(settings.redis_url, settings.redis_key_prefix)
    services = Services(
        database=db,
        uows=UnitOfWorkFactory(db.session_factory(), the_clock, rules, events),
        verifier=verifier or make_verifier(settings),
        clock=the_clock,
        local_mode=settings.is_local,
        rules=rules,
        limiter=limiter or limiter_from_settings(settings),
        events=events,
        option_labels=labels,
        referral_link_base=settings.referral_link_base,
    )
    schema = build_schema(
        local_mode=settings.is_local,
        max_depth=settings.max_query_depth,
        max_aliases=settings.max_aliases,
        max_tokens=settings.max_tokens,
        document_cache_bytes=settings.document_cache_bytes,
        max_concurrent_operations=settings.max_concurrent_operations,
    )
    graphiql_page, extra_routes = _graphiql(settings)
    limits = HttpLimits(
        max_body_bytes=settings.max_body_bytes,
        max_query_length=settings.max_query_length,
        max_json_depth=settings.max_json_depth,
        body_timeout_seconds=settings.request_body_timeout_seconds,
    )
    graphql = GraphQLEndpoint(schema, services, limits, graphiql_page=graphiql_page)
    sockets = GraphQLWebSocket(
        graphql,
        SocketLimits(
            init_timeout_seconds=settings.websocket_init_timeout_seconds,
            max_subscriptions=settings.websocket_max_subscriptions,
            max_per_member=settings.websocket_max_connections_per_member,
            max_per_address=settings.websocket_max_connections_per_address,
        ),
        slots,
    )

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        """Migrate, optionally seed, read the rules, run the jobs, the push sender, the campaign
        job and the featured offers' store; close the pools."""
        await upgrade_to_head(db.writer)
        if settings.seed_demo:
            from backend.demo import seed_demo

            await seed_demo(services.uows)
        await services.rules.load()  # requests then never wait for the rules
        await services.option_labels.load()  # nor for the labels offer reasons name
        # What start-up made (modules, schema, engines, rules) lives as long as the process:
        # take it out of the collector's way, so full collections walk only what requests left.
        gc.collect()
        gc.freeze()
        # A dashboard leaves no reference cycle (tests/api/test_request_garbage.py): reference
        # counting frees it as it ends, so the young generation only grows with what requests in
        # flight hold. At CPython's 700 it was walked every few requests (32 in flight) and the
        # survivors moved on to be walked again; after 10,000 net new objects it is walked about
        # once in 3,000 dashboards, and a walk of it stays a few milliseconds. Cyclic garbage
        # (other requests may leave some) that reaches the oldest generation is taken every
        # second middle collection, in short pauses rather than one long one.
        _, middle, _ = gc.get_threshold()
        gc.set_threshold(YOUNG_COLLECTION_AFTER, middle, FULL_COLLECTION_EVERY)
        jobs = (
            asyncio.create_task(run_jobs_forever(services.uows, settings.jobs_interval_seconds))
            if settings.jobs_enabled
            else None
        )
        automations = (
            asyncio.create_task(
                run_automations_forever(services.uows, settings.automations_interval_seconds)
            )
            if settings.jobs_enabled and settings.automations_in_process
            else None
        )
        sender = (
            asyncio.create_task(
                make_sender(settings, db, services.uows, push or make_push(settings)).run_forever()
            )
            if settings.push_sender_in_process
            else None
        )
        campaigns = (
            asyncio.create_task(
                run_campaigns_forever(
                    services.uows,
                    batch=settings.campaign_batch_size,
                    poll=settings.campaign_poll_seconds,
                )
            )
            if settings.campaigns_in_process
            else None
        )
        featured = asyncio.create_task(store_featured_forever(services.featured, services.uows))
        try:
            yield
        finally:
            for task in (jobs, automations, sender, campaigns, featured):
                if task:
                    task.cancel()
            await _store_featured(services.featured, services.uows)  # the last second's picks
            await services.rules.close()
            await services.option_labels.close()
            await events.close()
            await slots.close()
            if database is None:
                await db.dispose()

    async def healthz(_request: Request) -> JSONResponse:
        """Liveness and database reachability."""
        from sqlalchemy import text

        async with db.reader.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return JSONResponse({"status": "ok"})

    routes: list[Any] = [
        Route("/graphql", graphql),  # the endpoint answers every method (405 as JSON)
        WebSocketRoute("/graphql", sockets),  # subscriptions (graphql-transport-ws)
        Route("/healthz", healthz),
        *extra_routes,
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.services = services
    app.state.slots = slots
    return app


def app_from_environment() -> Starlette:
    """The app as configured by the environment: the factory each `rewards serve` worker calls."""
    from backend.settings import load_settings

    return create_app(load_settings())


async def _on_reader(db: Database, read: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    """Read a shared value (the rules, the option labels) on a short-lived connection."""
    async with db.reader.connect() as conn:
        return await read(conn)


def _graphiql(settings: Settings) -> tuple[Any, list[Any]]:
    """The offline GraphiQL page and its asset route, in local mode only."""
    if not settings.is_local:
        return None, []
    from backend.api import graphiql

    node_modules = graphiql.find_node_modules(REPO_ROOT)

    def page() -> str:
        """Render the page with a first query to try."""
        return graphiql.render_graphiql_page(
            title="Rewards API", default_query=graphiql_default_query(), example_headers=""
        )

    return page, [graphiql.graphiql_asset_mount(node_modules)] if node_modules else []


def graphiql_default_query() -> str:
    """The query GraphiQL opens with."""
    return (
        "# Paste a token from `rewards dev-token --uid demo-member` into Headers, then run.\n"
        "query Dashboard {\n  me {\n    displayName\n    cardNumber\n"
        "    points { balance pending expiringSoon { points firstDate } }\n"
        "    tier { current { name } next { name } pointsToNext }\n"
        "    history(first: 5) { edges { node { kind points reason createdAt } } }\n  }\n}\n"
    )
