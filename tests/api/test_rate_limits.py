"""Rate limits: per member, per staff user and integration, per client address; shared through Redis."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from backend.adapters.rate_limits import limiter_from_settings, rates_from_settings
from backend.api.permissions import (
    IntegrationRateLimit,
    IsIntegration,
    IsMemberReader,
    IsStaff,
    RateLimit,
    StaffRateLimit,
)
from backend.api.schema import build_schema
from backend.db.tables import LedgerEntry, Purchase
from backend.main import create_app
from backend.rewards.ports import RateLimiter
from backend.settings import Settings
from tests.api.conftest import Api
from tests.api.operations import ADJUST, ENROLL, ME, RECORD, REFUND
from tests.api.test_members_api import enroll, member_count
from tests.api.test_purchases_api import enrolled, order

ALICE = "member:alice"
POS = "integration:pos-ams"
MIA = "marketing:mia"
ADULT = {"birthDate": "1990-05-17"}

StartApp = Callable[..., Awaitable[Api]]


class CountingLimiter:
    """A real limiter that records every question asked of it."""

    def __init__(self, inner: RateLimiter) -> None:
        self.inner = inner
        self.calls: list[tuple[str, str]] = []

    async def hit(self, action: str, identity: str) -> int | None:
        """Record and forward."""
        self.calls.append((action, identity))
        return await self.inner.hit(action, identity)

    async def auth_blocked(self, address: str) -> int | None:
        """Forward without recording: every signed-in request asks, and no storage is touched."""
        return await self.inner.auth_blocked(address)

    async def auth_failed(self, address: str) -> int | None:
        """Record and forward."""
        self.calls.append(("auth_failed", address))
        return await self.inner.auth_failed(address)


@pytest.fixture
async def apps(database, clock, verifier) -> AsyncIterator[StartApp]:
    """Start app instances (think: workers) over the same test database."""
    async with contextlib.AsyncExitStack() as stack:

        async def start(limiter: RateLimiter | None = None, **settings: Any) -> Api:
            """One more worker with these settings."""
            app = create_app(
                Settings(mode="production", jobs_enabled=False, **settings),
                verifier=verifier,
                clock=clock,
                database=database,
                limiter=limiter,
            )
            client = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://test"
            )
            return Api(await stack.enter_async_context(client))

        yield start


@pytest.fixture
def worker(apps: StartApp, rate_store) -> StartApp:
    """Start workers whose counters live in the test's rate-limit storage (memory or Redis)."""
    return lambda **settings: apps(**rate_store, **settings)


def limited(body: dict[str, Any], path: str) -> int:
    """Assert the one error is RATE_LIMITED on `path` and return its retryAfter."""
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "RATE_LIMITED", error
    assert error["path"] == [path]
    retry_after = error["extensions"]["retryAfter"]
    assert isinstance(retry_after, int) and retry_after >= 1
    return retry_after


async def stored(database) -> tuple[int, int]:
    """Ledger entries and purchases stored."""
    async with database.reader.connect() as conn:
        entries = (await conn.execute(select(func.count()).select_from(LedgerEntry))).scalar_one()
        purchases = (await conn.execute(select(func.count()).select_from(Purchase))).scalar_one()
    return entries, purchases


async def test_referral_code_guessing_is_throttled_per_member(worker, database):
    api = await worker(rate_limit_enroll="3/hour")
    for guess in ["GUESS001", "GUESS002", "GUESS003"]:
        payload = await enroll(api, referralCode=guess)
        assert [e["code"] for e in payload["errors"]] == ["INVALID_REFERRAL_CODE"]
    body = await api(ENROLL, {"input": ADULT}, ALICE)
    assert body["data"] is None
    assert limited(body, "enroll") <= 3600
    assert await member_count(database) == 0
    assert (await enroll(api, token="member:bob"))["errors"] == []  # a budget of her own
    assert await member_count(database) == 1


async def test_each_aliased_call_spends_the_budget(worker, database):
    api = await worker(rate_limit_enroll="1/hour")
    body = await api(
        """mutation Twice($input: EnrollInput!) {
             a: enroll(input: $input) { member { id } errors { code } }
             b: enroll(input: $input) { member { id } errors { code } }
           }""",
        {"input": ADULT},
        ALICE,
    )
    assert body["data"] is None  # `b` is non-null, so its refusal nulls the whole answer
    limited(body, "b")
    assert await member_count(database) == 1  # `a` ran and enrolled; `b` changed nothing


async def test_an_integration_over_its_budget_writes_nothing(worker, database):
    api = await worker(rate_limit_integration="3/hour")
    _, card = await enrolled(api)
    for order_id in ["A-1", "A-2"]:
        assert (await api(RECORD, order(card, order_id), POS))["data"]["recordPurchase"][
            "errors"
        ] == []
    refund = {"orderId": "A-1", "refundId": "R-1", "amount": "10", "currency": "EUR"}
    assert (await api(REFUND, {"input": refund}, POS))["data"]["refundPurchase"]["errors"] == []
    before = await stored(database)
    limited(await api(RECORD, order(card, "A-3"), POS), "recordPurchase")
    refund2 = {**refund, "refundId": "R-2"}
    limited(await api(REFUND, {"input": refund2}, POS), "refundPurchase")
    assert await stored(database) == before
    other = await api(RECORD, order(card, "B-1"), "integration:pos-rtm")
    assert other["data"]["recordPurchase"]["errors"] == []  # another store has its own budget


async def test_staff_over_their_budget_adjust_nothing(worker, database):
    api = await worker(rate_limit_staff="1/hour")
    member_id, _ = await enrolled(api)
    data = {"memberId": member_id, "points": 250, "reason": "Goodwill", "idempotencyKey": "g-1"}
    assert (await api(ADJUST, {"input": data}, MIA))["data"]["adjustPoints"]["errors"] == []
    before = await stored(database)
    limited(await api(ADJUST, {"input": {**data, "idempotencyKey": "g-2"}}, MIA), "adjustPoints")
    assert await stored(database) == before
    other = await api(ADJUST, {"input": {**data, "idempotencyKey": "g-3"}}, "admin:ada")
    assert other["data"]["adjustPoints"]["errors"] == []


async def test_only_limited_fields_ask_the_limiter(apps, rate_store):
    limiter = CountingLimiter(limiter_from_settings(Settings(**rate_store)))
    api = await apps(limiter=limiter, **rate_store)
    assert (await enroll(api))["errors"] == []
    assert limiter.calls == [("enroll", "alice")]
    limiter.calls.clear()
    assert (await api(ME, token=ALICE))["data"]["me"]["cardNumber"]
    assert (await api(ENROLL, {"input": ADULT}, POS))["errors"][0]["extensions"]["code"] == (
        "FORBIDDEN"
    )
    assert (await api(ENROLL, {"input": ADULT}))["errors"][0]["extensions"]["code"] == (
        "UNAUTHENTICATED"
    )
    assert limiter.calls == []  # reads and refused callers spend nothing


async def test_two_workers_share_one_budget_through_redis(worker, database, rate_store):
    first = await worker(rate_limit_enroll="2/hour")
    second = await worker(rate_limit_enroll="2/hour")
    assert (await enroll(first, referralCode="GUESS001"))["errors"][0]["code"] == (
        "INVALID_REFERRAL_CODE"
    )
    assert (await enroll(second, referralCode="GUESS002"))["errors"][0]["code"] == (
        "INVALID_REFERRAL_CODE"
    )
    body = await first(ENROLL, {"input": ADULT}, ALICE)
    if rate_store["redis_url"]:
        limited(body, "enroll")
        limited(await second(ENROLL, {"input": ADULT}, ALICE), "enroll")
        assert await member_count(database) == 0
    else:  # in-process counters: each worker keeps its own
        assert body["data"]["enroll"]["errors"] == []


def rate_limit_warnings(caplog) -> list[str]:
    """The limiter's log lines."""
    return [r.getMessage() for r in caplog.records if r.name == "rewards.rate_limits"]


async def test_an_unreachable_redis_lets_calls_through_with_one_warning(apps, database, caplog):
    settings = Settings(redis_url="redis://127.0.0.1:1/0", rate_limit_enroll="1/hour")
    api = await apps(limiter=limiter_from_settings(settings, outage_pause=3600))
    with caplog.at_level(logging.WARNING, logger="rewards.rate_limits"):
        for _ in range(3):
            assert (await enroll(api))["errors"] == []
    assert await member_count(database) == 1
    (warning,) = rate_limit_warnings(caplog)  # one line per outage pause, not one per call
    assert warning.startswith("rate limits not enforced for the next 3600 s")


async def test_redis_is_asked_again_after_the_outage_pause(caplog):
    settings = Settings(redis_url="redis://127.0.0.1:1/0", rate_limit_enroll="1/hour")
    limiter = limiter_from_settings(settings, outage_pause=0)
    with caplog.at_level(logging.WARNING, logger="rewards.rate_limits"):
        assert await limiter.hit("enroll", "alice") is None
        assert await limiter.hit("enroll", "alice") is None
    assert len(rate_limit_warnings(caplog)) == 2


async def test_a_redis_that_does_not_answer_counts_as_unavailable(caplog):
    silent = await asyncio.start_server(lambda reader, writer: None, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    settings = Settings(redis_url=f"redis://127.0.0.1:{port}/0", rate_limit_enroll="1/hour")
    limiter = limiter_from_settings(settings, outage_pause=3600)
    async with silent, asyncio.timeout(10):  # accepts connections, never answers
        with caplog.at_level(logging.WARNING, logger="rewards.rate_limits"):
            assert await limiter.hit("enroll", "alice") is None
            assert await limiter.hit("enroll", "alice") is None
    assert len(rate_limit_warnings(caplog)) == 1


async def test_refused_tokens_are_counted_per_address_then_blocked(rate_store):
    limiter = limiter_from_settings(Settings(**rate_store, rate_limit_auth_failures="3/hour"))
    here, there = "203.0.113.7", "198.51.100.2"
    assert await limiter.auth_blocked(here) is None
    assert [await limiter.auth_failed(here) for _ in range(3)] == [None, None, None]
    assert await limiter.auth_blocked(here) is None  # at the limit, not over it
    wait = await limiter.auth_failed(here)
    assert wait is not None and 1 <= wait <= 3600
    blocked = await limiter.auth_blocked(here)
    assert blocked is not None and 1 <= blocked <= wait
    assert await limiter.auth_blocked(there) is None
    assert await limiter.auth_failed(there) is None


async def test_an_ipv6_network_counts_as_one_address(rate_store):
    limiter = limiter_from_settings(Settings(**rate_store, rate_limit_auth_failures="1/hour"))
    assert await limiter.auth_failed("2001:db8:1:2::1") is None
    assert await limiter.auth_failed("2001:db8:1:2:ffff::9") is not None  # same /64
    assert await limiter.auth_blocked("2001:db8:1:2::abcd") is not None
    assert await limiter.auth_failed("2001:db8:1:3::1") is None  # the next /64
    assert await limiter.auth_failed("203.0.113.7") is None
    assert await limiter.auth_failed("::ffff:203.0.113.7") is not None  # IPv4-mapped


async def test_refused_tokens_are_counted_across_workers(rate_store):
    settings = Settings(**rate_store, rate_limit_auth_failures="2/hour")
    first, second = limiter_from_settings(settings), limiter_from_settings(settings)
    address = "203.0.113.7"
    assert await first.auth_failed(address) is None
    assert await first.auth_failed(address) is None
    wait = await second.auth_failed(address)
    if not rate_store["redis_url"]:
        assert wait is None  # in-process counters: each worker keeps its own
        return
    assert wait is not None
    assert await second.auth_blocked(address) is not None
    # A worker blocks an address once one of its own refusals found the shared count over.
    assert await first.auth_blocked(address) is None
    assert await first.auth_failed(address) is not None
    assert await first.auth_blocked(address) is not None


async def test_an_address_sending_bad_tokens_gets_429_even_with_a_good_one(worker, database):
    api = await worker(rate_limit_auth_failures="3/hour")
    for _ in range(5):  # expired tokens are routine: never counted
        assert (await api.raw(ME, token="expired")).status_code == 401
    for _ in range(3):
        response = await api.raw(ME, token="junk")
        assert response.status_code == 401
        assert response.json()["errors"][0]["extensions"]["code"] == "INVALID_TOKEN"
    over = await api.raw(ME, token="junk")
    assert over.status_code == 429
    assert 1 <= int(over.headers["Retry-After"]) <= 3600
    assert over.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    blocked = await api.raw(ENROLL, {"input": ADULT}, ALICE)  # a good token, same address
    assert blocked.status_code == 429
    assert await member_count(database) == 0


def test_every_staff_and_integration_field_spends_a_configured_budget():
    rates = rates_from_settings(Settings())
    type_map = build_schema(local_mode=False).schema_converter.type_map
    fields = [f for root in ("Query", "Mutation") for f in type_map[root].definition.fields]
    for field in fields:
        classes = field.permission_classes
        limits = [c for c in classes if issubclass(c, RateLimit)]
        assert all(c.action in rates for c in limits), field.name
        assert all(classes.index(c) > 0 for c in limits), f"{field.name}: role check first"
        if IsStaff in classes or IsMemberReader in classes:
            assert StaffRateLimit in classes, field.name
        if IsIntegration in classes:
            assert IntegrationRateLimit in classes, field.name


@pytest.mark.parametrize(
    "settings",
    [
        {"rate_limit_enroll": "lots"},
        {"rate_limit_staff": "0/minute"},
        {"redis_url": "http://127.0.0.1:6379"},
    ],
)
def test_bad_rate_limit_settings_are_refused_at_start(settings):
    with pytest.raises(ValidationError):
        Settings(**settings)
