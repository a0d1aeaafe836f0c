"""Bursts: more concurrent requests than pooled connections, cold rules, production-sized pools."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import replace

import httpx
import pytest
import strawberry
from sqlalchemy import event
from starlette.applications import Starlette

from backend.api.admission import execution_gate
from backend.db.engine import DEFAULT_POOLS, Database, Pools, open_database
from backend.main import create_app
from backend.settings import Settings
from tests.api.conftest import Api
from tests.api.operations import ADJUST, ENROLL, ME

BURST = 500
QUICK = 3.0  # seconds a checkout may wait here: a deadlock fails fast, not after the default
STAFF = "admin:ada"

TWO_ADJUSTMENTS = """
mutation Twice($member: ID!) {
  first: adjustPoints(input: {memberId: $member, points: 100, reason: "Goodwill", idempotencyKey: "k-1"}) {
    member { points { balance } tier { current { code } } } errors { code } }
  second: adjustPoints(input: {memberId: $member, points: 50, reason: "Goodwill", idempotencyKey: "k-2"}) {
    member { points { balance } tier { current { code } } } errors { code } }
}"""

ENROLL_AND_UPDATE = """
mutation Start($input: EnrollInput!, $profile: UpdateProfileInput!) {
  enroll(input: $input) { member { points { balance } tier { current { code } } } errors { code } }
  updateProfile(input: $profile) { member { displayName points { balance } } errors { code } }
}"""


@pytest.fixture
async def serve(database, clock, verifier) -> AsyncIterator[Callable[..., tuple[Api, Database]]]:
    """Start the real app on its own pools over the test database; stop everything afterwards."""
    started: list[tuple[Starlette, Database, httpx.AsyncClient]] = []

    def start(pools: Pools, *, rules_cache_seconds: float = 0) -> tuple[Api, Database]:
        """The app on `pools`; with the default cache age of 0 s the rules are never fresh."""
        db = open_database(database.url, pools)
        settings = Settings(
            mode="production", jobs_enabled=False, rules_cache_seconds=rules_cache_seconds
        )
        app = create_app(settings, verifier=verifier, clock=clock, database=db)
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
        started.append((app, db, client))
        return Api(client), db

    yield start
    for app, db, client in started:
        await client.aclose()
        await app.state.services.rules.close()
        assert (db.read_connections_out(), db.writer.pool.checkedout()) == (0, 0)
        await db.dispose()


async def enrol(api: Api, uid: str) -> str:
    """Enrol a member through the API and return their global id."""
    body = await api(ENROLL, {"input": {"birthDate": "1990-05-17"}}, f"member:{uid}")
    return body["data"]["enroll"]["member"]["id"]


async def test_500_concurrent_dashboards_with_cold_rules_and_default_pools_are_all_answered(
    api, serve
):
    members = {uid: await enrol(api, uid) for uid in ("ann", "bob", "cem", "dora")}
    for uid, member_id in members.items():
        welcome = {"memberId": member_id, "points": 40, "reason": "Welcome", "idempotencyKey": uid}
        body = await api(ADJUST, {"input": welcome}, STAFF)
        assert body["data"]["adjustPoints"]["errors"] == []
    # a fresh app: no rules read yet, and too old (0 s) as soon as they are
    burst, _ = serve(replace(DEFAULT_POOLS, timeout=QUICK))
    uids = list(members)
    bodies = await asyncio.gather(
        *(burst(ME, token=f"member:{uids[i % len(uids)]}") for i in range(BURST))
    )
    failures = [body for body in bodies if "errors" in body or not body["data"]["me"]]
    assert failures == [], (len(failures), failures[:1])
    assert {body["data"]["me"]["points"]["balance"] for body in bodies} == {40}
    assert {len(body["data"]["me"]["history"]["edges"]) for body in bodies} == {1}


def reader_connections_at_each_write(database: Database) -> list[int]:
    """Record how many read connections are out whenever a unit of work takes its connection."""
    seen: list[int] = []
    event.listen(
        database.writer.sync_engine,
        "checkout",
        lambda *_: seen.append(database.read_connections_out()),
    )
    return seen


async def test_two_adjustments_in_one_document_run_on_pools_of_one(api, serve):
    member_id = await enrol(api, "ann")
    small, _ = serve(Pools(readers=1, writers=1, timeout=QUICK))
    body = await small(TWO_ADJUSTMENTS, {"member": member_id}, STAFF)
    assert "errors" not in body, body
    assert body["data"]["first"]["member"]["points"]["balance"] == 100
    assert body["data"]["second"]["member"]["points"]["balance"] == 150
    assert [body["data"][name]["errors"] for name in ("first", "second")] == [[], []]


async def test_twenty_enrol_and_profile_documents_at_once_on_small_pools(serve):
    # twenty in line for one writer: the last waits for nineteen units of work, so the pool's own
    # checkout wait (10 s), not QUICK, which a busy machine can exceed without any deadlock
    small, _ = serve(Pools(readers=2, writers=1))
    variables = {"input": {"birthDate": "1990-05-17"}, "profile": {"displayName": "New"}}
    bodies = await asyncio.gather(
        *(small(ENROLL_AND_UPDATE, variables, f"member:m{i}") for i in range(20))
    )
    assert [body.get("errors") for body in bodies] == [None] * 20, bodies[0]
    assert {body["data"]["updateProfile"]["member"]["displayName"] for body in bodies} == {"New"}
    assert {body["data"]["enroll"]["member"]["points"]["balance"] for body in bodies} == {0}


async def test_a_request_gives_its_read_connections_back_before_each_unit_of_work(api, serve):
    member_id = await enrol(api, "ann")
    app, db = serve(DEFAULT_POOLS, rules_cache_seconds=3600)
    await app(ME, token="member:ann")  # rules read: no re-read runs during the mutations
    seen = reader_connections_at_each_write(db)
    body = await app(TWO_ADJUSTMENTS, {"member": member_id}, STAFF)
    assert body["data"]["second"]["member"]["points"]["balance"] == 150
    assert seen == [0, 0]


async def test_the_execution_gate_admits_a_few_operations_at_a_time_in_arrival_order():
    running, peak, entered = 0, 0, []

    @strawberry.type
    class Query:
        @strawberry.field
        async def work(self, n: int) -> int:
            nonlocal running, peak
            running += 1
            peak = max(peak, running)
            entered.append(n)
            for _ in range(5):
                await asyncio.sleep(0)  # yield to the others while "reading"
            running -= 1
            return n

    schema = strawberry.Schema(query=Query, extensions=[execution_gate(asyncio.Semaphore(2))])
    results = await asyncio.gather(*(schema.execute(f"{{ work(n: {n}) }}") for n in range(10)))
    assert [r.data for r in results] == [{"work": n} for n in range(10)]
    assert (peak, entered) == (2, list(range(10)))


async def test_the_rules_are_read_at_start_so_requests_do_not_read_them(
    database, clock, verifier, count_queries
):
    settings = Settings(
        mode="production",
        jobs_enabled=False,
        push_sender_in_process=False,
        campaigns_in_process=False,
    )
    app = create_app(settings, verifier=verifier, clock=clock, database=database)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://test") as client,
    ):
        count_queries.count = 0
        body = await Api(client)("{ tiers { code } }", token="member:ann")
        assert body["data"]["tiers"][0] == {"code": "member"}
        assert count_queries.count == 0


async def test_a_mutation_that_gets_no_connection_in_time_is_busy_and_changes_nothing(api, serve):
    member_id = await enrol(api, "ann")
    small, db = serve(Pools(readers=2, writers=1, timeout=0.2))
    goodwill = {"memberId": member_id, "points": 100, "reason": "Goodwill", "idempotencyKey": "g"}
    async with db.writer.connect():  # the only writer connection, held past the timeout
        body = await small(ADJUST, {"input": goodwill}, STAFF)
    [error] = body["errors"]
    assert error["extensions"] == {"code": "SERVICE_BUSY"}
    assert error["message"] == "The service is busy; nothing was done. Retry shortly."
    assert body["data"] is None  # the payload is non-null: the error reaches the root
    me = await small(ME, token="member:ann")
    assert me["data"]["me"]["points"]["balance"] == 0
    retried = await small(ADJUST, {"input": goodwill}, STAFF)
    assert retried["data"]["adjustPoints"]["member"]["points"]["balance"] == 100
