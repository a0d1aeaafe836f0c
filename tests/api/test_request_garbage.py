"""A dashboard request is freed by reference counting as it ends: it leaves no reference cycle.

Objects in a cycle wait for the collector, and the collector's pauses grow with what waits: a
request that makes none leaves it almost nothing to do.
"""

from __future__ import annotations

import gc
import json
from typing import Any

import httpx
import pytest

from backend.main import create_app
from backend.settings import Settings
from scripts.bench.dashboard_cpu import call
from scripts.bench.run import readme_operation
from tests.api.conftest import Api
from tests.api.test_personal_offers import catalogue, tea_drinker

DASHBOARD = readme_operation(0)  # the README's `Dashboard` query


@pytest.fixture
def app(database, clock, verifier) -> Any:
    """The real app, production mode, jobs off."""
    return create_app(
        Settings(mode="production", jobs_enabled=False),
        verifier=verifier,
        clock=clock,
        database=database,
    )


async def post(app: Any, query: str, token: str) -> dict[str, Any]:
    """POST a query straight to the ASGI app (no HTTP client: its own objects are not counted)."""
    status, body = await call(app, json.dumps({"query": query}).encode(), token)
    assert status == 200, body
    answer: dict[str, Any] = json.loads(body)
    return answer


async def cyclic_garbage_of(app: Any, token: str) -> tuple[dict[str, Any], list[Any]]:
    """The answer of the README's dashboard, and what it left that only the collector frees."""
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)  # what the collector finds unreachable is kept, not freed
    try:
        body = await post(app, DASHBOARD, token)
        gc.collect()
        found = list(gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    return body, found


async def test_the_readme_dashboard_leaves_no_object_in_a_reference_cycle(app, uows):
    # Given a member with points, a purchase, a style profile and offers ranked for them
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        api = Api(client)
        await tea_drinker(api, uows, "alice")
        await catalogue(api)
    await post(app, DASHBOARD, "member:alice")  # the shared rules and labels are read first
    # When the README's dashboard is asked for
    body, cyclic = await cyclic_garbage_of(app, "member:alice")
    # Then it answers in full, and every object it made was freed as the request ended
    assert "errors" not in body, body
    assert body["data"]["me"]["featuredOffer"]["reason"], body  # ranked, with its reason
    assert [type(o).__qualname__ for o in cyclic] == []
