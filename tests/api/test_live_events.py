"""`memberEvents` over graphql-transport-ws: real servers (uvicorn), a real WebSocket client."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gc
import json
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import text
from starlette.applications import Starlette
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from backend.adapters.open_sockets import LocalSlots, RedisSlots
from backend.api.loaders import Loaders
from backend.db.engine import Database
from backend.main import create_app
from backend.rewards.clock import ManualClock
from backend.rewards.ports import Principal
from backend.settings import Settings
from tests.api.conftest import Api
from tests.api.operations import ADJUST, RECORD
from tests.api.test_purchases_api import enrolled, order
from tests.fakes import FakeVerifier

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
EVENTS = re.search(r"```graphql\n(subscription MemberEvents.*?)```", README, re.DOTALL)[1]  # type: ignore[index]
ALICE, BOB, POS, MIA = "member:alice", "member:bob", "integration:pos-ams", "marketing:mia"
WAIT = 10  # seconds any expected message may take


class Server:
    """One app served by uvicorn on a free port of this machine (a worker, for these tests)."""

    def __init__(self, app: Starlette, port: int) -> None:
        self.app, self.port = app, port
        self.api = Api(httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}"))

    @property
    def url(self) -> str:
        """The WebSocket address of /graphql."""
        return f"ws://127.0.0.1:{self.port}/graphql"

    async def listening(self, member_gid: str, count: int = 1) -> None:
        """Wait until the member has `count` subscriptions registered on this worker."""
        member_id = int(base64.b64decode(member_gid).decode().split(":")[1])
        subscribers = self.app.state.services.events.subscribers
        async with asyncio.timeout(WAIT):
            while subscribers.count(member_id) < count:
                await asyncio.sleep(0.01)


StartServer = Callable[..., Awaitable[Server]]


@contextlib.asynccontextmanager
async def servers(database: Database, clock: ManualClock) -> AsyncIterator[StartServer]:
    """Start servers (think: workers) over one database; all stop at the end."""
    async with contextlib.AsyncExitStack() as stack:

        async def start(verifier: Any = None, **settings: Any) -> Server:
            """One more server with these settings (production mode, no jobs, no push sender)."""
            config = Settings(
                mode="production", jobs_enabled=False, push_sender_in_process=False, **settings
            )
            app = create_app(
                config, verifier=verifier or FakeVerifier(), clock=clock, database=database
            )
            server = uvicorn.Server(
                uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_level="warning")
            )
            task = asyncio.create_task(server.serve())
            async with asyncio.timeout(WAIT):
                while not server.started:
                    await asyncio.sleep(0.01)
            stack.push_async_callback(_stop, server, task, app)
            (listening,) = server.servers[0].sockets
            running = Server(app, listening.getsockname()[1])
            stack.push_async_callback(running.api.client.aclose)
            return running

        yield start


@pytest.fixture
async def serve(database, clock) -> AsyncIterator[StartServer]:
    """Servers over the test database (both databases)."""
    async with servers(database, clock) as start:
        yield start


@pytest.fixture
async def serve_sqlite(sqlite_database, clock) -> AsyncIterator[StartServer]:
    """Servers over a SQLite database, for protocol tests."""
    async with servers(sqlite_database, clock) as start:
        yield start


async def _stop(server: uvicorn.Server, task: asyncio.Task[None], app: Starlette) -> None:
    """Stop a server and its live-event listener."""
    server.should_exit = True
    await task
    await app.state.services.events.close()


@contextlib.asynccontextmanager
async def socket(
    server: Server, token: str | None = None, protocol: str = "graphql-transport-ws"
) -> AsyncIterator[ClientConnection]:
    """A WebSocket to the server, signed in (acknowledged) when a token is given."""
    async with connect(server.url, subprotocols=[protocol]) as ws:  # type: ignore[list-item]
        if token is not None:
            await send(ws, "connection_init", payload={"Authorization": f"Bearer {token}"})
            assert (await receive(ws))["type"] == "connection_ack"
        yield ws


async def send(ws: ClientConnection, kind: str, **fields: Any) -> None:
    """Send one protocol message."""
    await ws.send(json.dumps({"type": kind, **fields}))


async def receive(ws: ClientConnection) -> dict[str, Any]:
    """The next protocol message."""
    async with asyncio.timeout(WAIT):
        return json.loads(await ws.recv())


async def events(ws: ClientConnection, count: int, sub_id: str = "1") -> list[dict[str, Any]]:
    """The next `count` events of a subscription."""
    found = []
    for _ in range(count):
        message = await receive(ws)
        assert (message["type"], message["id"]) == ("next", sub_id), message
        assert "errors" not in message["payload"], message
        found.append(message["payload"]["data"]["memberEvents"])
    return found


async def closed(ws: ClientConnection) -> tuple[int | None, str | None]:
    """How the server closed the socket: (code, reason)."""
    with pytest.raises(ConnectionClosed):
        async with asyncio.timeout(WAIT):
            while True:
                await ws.recv()
    return ws.close_code, ws.close_reason


def request_caches() -> list[Loaders]:
    """Every live request cache (loaders that were read through): none once requests ended."""
    gc.collect()
    return [o for o in gc.get_objects() if isinstance(o, Loaders) and "batch" in vars(o.reads)]


async def adjust(api: Api, member_gid: str, points: int, key: str) -> None:
    """A staff adjustment (another request, possibly through another worker)."""
    data = {"memberId": member_gid, "points": points, "reason": "Goodwill", "idempotencyKey": key}
    body = await api(ADJUST, {"input": data}, MIA)
    assert body["data"]["adjustPoints"]["errors"] == [], body


async def test_a_member_hears_their_own_changes_made_by_other_requests(serve, database):
    # Given alice and bob, each subscribed with the README's document, and no return window
    server = await serve()
    alice, card = await enrolled(server.api, ALICE)
    bob, _ = await enrolled(server.api, BOB)
    async with database.writer.begin() as conn:
        await conn.execute(
            text("UPDATE program_setting SET value = '0' WHERE key = 'return_window_days'")
        )
    async with socket(server, ALICE) as mine, socket(server, BOB) as theirs:
        for ws in (mine, theirs):
            await send(ws, "subscribe", id="1", payload={"query": EVENTS})
        await server.listening(alice)
        await server.listening(bob)
        assert (database.read_connections_out(), database.writer.pool.checkedout()) == (0, 0)

        # When a store records alice's purchase of 600 EUR
        recorded = await server.api(RECORD, order(card, amount="600"), POS)
        assert recorded["data"]["recordPurchase"]["errors"] == []

        # Then alice hears her balance once (the whole transaction), her new tier and her inbox
        got = await events(mine, 4)
        points, earned, tier, reached = got
        assert points == {"__typename": "PointsChanged", "balance": 600, "pending": 0}
        assert (tier["__typename"], tier["tier"]["code"], tier["previous"]["code"]) == (
            "TierChanged",
            "silver",
            "member",
        )
        assert [(e["__typename"], e["kind"]) for e in (earned, reached)] == [
            ("NotificationReceived", "POINTS_EARNED"),
            ("NotificationReceived", "TIER_REACHED"),
        ]
        assert earned["id"].startswith("Tm90aWZpY2F0aW9u") and earned["title"]

        # And a staff adjustment reaches her too; between events no connection or cache is held
        await adjust(server.api, alice, 250, "g-1")
        assert await events(mine, 1) == [
            {"__typename": "PointsChanged", "balance": 850, "pending": 0}
        ]
        assert (database.read_connections_out(), database.writer.pool.checkedout()) == (0, 0)
        assert request_caches() == []

        # And bob heard none of it: his first event is his own
        await adjust(server.api, bob, 5, "g-2")
        assert await events(theirs, 1) == [
            {"__typename": "PointsChanged", "balance": 5, "pending": 0}
        ]

        # When alice completes her subscription, she is no longer listening
        await send(mine, "complete", id="1")
        await server.listening(alice, count=0)


async def test_a_change_through_one_worker_reaches_a_member_on_another(serve, rate_store):
    # Given two workers (sharing Redis when it is configured) and alice connected to the first
    first = await serve(**rate_store)
    second = await serve(**rate_store)
    alice, _ = await enrolled(first.api, ALICE)
    async with socket(first, ALICE) as ws:
        await send(ws, "subscribe", id="1", payload={"query": EVENTS})
        await first.listening(alice)

        # When staff adjust her points through the second worker, then through the first
        await adjust(second.api, alice, 100, "g-1")
        await adjust(first.api, alice, 1, "g-2")

        # Then through Redis she hears both; in process, only the first worker's news
        balances = [e["balance"] for e in await events(ws, 2 if rate_store["redis_url"] else 1)]
        assert balances == ([100, 101] if rate_store["redis_url"] else [101])


class ExpiringVerifier(FakeVerifier):
    """Fake tokens that say they expire in a fraction of a second."""

    async def verify(self, token: str) -> Principal:
        """A member whose token expires soon."""
        principal = await super().verify(token)
        return Principal(principal.uid, principal.role, claims={"exp": time.time() + 0.3})


async def test_refusals_close_with_the_protocols_codes(serve_sqlite):
    server = await serve_sqlite(websocket_init_timeout_seconds=0.2, websocket_max_subscriptions=1)
    cases: list[tuple[list[dict[str, Any]], tuple[int, str]]] = [
        ([{"type": "connection_init"}], (4403, "UNAUTHENTICATED")),
        ([init("junk")], (4403, "INVALID_TOKEN")),
        ([init("expired")], (4403, "TOKEN_EXPIRED")),
        ([init(MIA)], (4403, "FORBIDDEN")),
        ([init(POS)], (4403, "FORBIDDEN")),
        ([{"type": "subscribe", "id": "1", "payload": {"query": EVENTS}}], (4401, "Unauthorized")),
        ([], (4408, "Connection initialisation timeout")),
        ([{"type": "hello"}], (4400, "Invalid message received")),
    ]
    for messages, expected in cases:
        async with socket(server) as ws:
            for message in messages:
                await ws.send(json.dumps(message))
            assert await closed(ws) == expected, messages
    async with socket(server, protocol="graphql-ws") as ws:
        assert await closed(ws) == (4406, "Subprotocol not acceptable")


def init(token: str) -> dict[str, Any]:
    """A `connection_init` with a bearer token."""
    return {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}


async def test_refused_subscriptions_and_expiring_tokens(serve_sqlite):
    server = await serve_sqlite(websocket_max_subscriptions=1, max_concurrent_operations=1)
    alice, _ = await enrolled(server.api, ALICE)
    async with socket(server, "member:carol") as ws:  # signed in, never enrolled
        await send(ws, "subscribe", id="1", payload={"query": EVENTS})
        assert await error_code(ws, "1") == "NOT_ENROLLED"
        await send(ws, "subscribe", id="2", payload={"query": "{ tiers { code } }"})
        assert await error_code(ws, "2") == "BAD_REQUEST"  # queries go over HTTP
    async with socket(server, ALICE) as ws:
        await send(ws, "subscribe", id="1", payload={"query": EVENTS})
        await server.listening(alice)
        tiers = await server.api("{ tiers { code } }", token=ALICE)  # it holds no execution slot
        assert tiers["data"]["tiers"][0] == {"code": "member"}
        await send(ws, "subscribe", id="2", payload={"query": EVENTS})
        assert await error_code(ws, "2") == "TOO_MANY_SUBSCRIPTIONS"
        await send(ws, "connection_init", payload={})
        assert await closed(ws) == (4429, "Too many initialisation requests")
    async with socket(server, ALICE) as ws:
        await send(ws, "subscribe", id="1", payload={"query": EVENTS})
        await send(ws, "subscribe", id="1", payload={"query": EVENTS})
        assert await closed(ws) == (4409, "Subscriber for 1 already exists")
    await server.listening(alice, count=0)  # closed sockets leave nothing registered
    expiring = await serve_sqlite(verifier=ExpiringVerifier())
    async with socket(expiring, ALICE) as ws:
        assert await closed(ws) == (4403, "TOKEN_EXPIRED")


async def error_code(ws: ClientConnection, sub_id: str) -> str:
    """The code of the `error` message that ends a subscribe."""
    message = await receive(ws)
    assert (message["type"], message["id"]) == ("error", sub_id), message
    return message["payload"][0]["extensions"]["code"]


async def test_open_connections_and_attempts_are_capped(serve, rate_store):
    # Given two workers (sharing Redis when it is configured) that allow one socket per member,
    # three per address, the attempts below per address and one subscribe per member
    shared = rate_store["redis_url"] is not None
    limits = {
        "websocket_max_connections_per_member": 1,
        "websocket_max_connections_per_address": 3,
        "rate_limit_websocket_connect": f"{7 if shared else 6}/minute",  # Redis: both workers'
        "rate_limit_subscribe": "1/minute",
        **rate_store,
    }
    first, second = await serve(**limits), await serve(**limits)
    async with socket(first, ALICE), socket(first, "member:carol") as carol:
        # When alice opens a second socket on the same worker (and, through Redis, on another)
        for server in [first, second] if shared else [first]:
            async with socket(server) as ws:
                await ws.send(json.dumps(init(ALICE)))
                # Then it is closed: her first socket holds her one slot
                assert await closed(ws) == (4429, "TOO_MANY_CONNECTIONS")

        # When carol subscribes twice (she is not enrolled: the first subscribe is refused too)
        await send(carol, "subscribe", id="1", payload={"query": EVENTS})
        assert await error_code(carol, "1") == "NOT_ENROLLED"
        await send(carol, "subscribe", id="2", payload={"query": EVENTS})
        # Then the second is over her budget, and her socket stays open
        assert await error_code(carol, "2") == "RATE_LIMITED"
        await send(carol, "ping")
        assert (await receive(carol))["type"] == "pong"

        # When a third socket of the address opens (not signed in), a fourth is one too many
        async with socket(first) as third:
            async with socket(first) as fourth:
                assert await closed(fourth) == (4429, "TOO_MANY_ADDRESS_CONNECTIONS")
            await third.send(json.dumps(init("member:dave")))
            assert (await receive(third))["type"] == "connection_ack"

    # Then closed and refused sockets hold nothing: alice signs in again (the last attempt)
    async with socket(first, ALICE):
        pass
    # And one more attempt from the address is refused before anything else
    async with socket(first) as ws:
        assert await closed(ws) == (4429, "RATE_LIMITED")


async def test_a_dead_workers_slots_free_after_their_lease(rate_store):
    # Given a cap of one open connection for alice, and her slot held by a worker
    if rate_store["redis_url"] is None:
        worker, other = LocalSlots(), None
    else:
        url, prefix = rate_store["redis_url"], str(rate_store["redis_key_prefix"])
        worker, other = RedisSlots(url, prefix, lease_seconds=0.6), RedisSlots(url, prefix)
    slot = await worker.acquire("member", "alice", 1)
    assert slot is not None
    assert await worker.acquire("member", "alice", 1) is None
    assert await worker.acquire("member", "bob", 1) is not None  # a cap per member
    if other is not None:
        # When the worker keeps beating, its lease outlives one lease length
        await asyncio.sleep(0.9)
        assert await other.acquire("member", "alice", 1) is None
        # When it dies without giving the slot back (its heartbeat stops)
        assert isinstance(worker, RedisSlots) and worker._heartbeat is not None
        worker._heartbeat.cancel()
        await asyncio.sleep(0.7)
        # Then the slot is free for another worker once the lease ran out
        assert await other.acquire("member", "alice", 1) is not None
        await other.close()
    else:
        # When the connection closes, its slot is free again
        await worker.release(slot)
        assert await worker.acquire("member", "alice", 1) is not None
    await worker.close()
