"""A cached valid document executes without strawberry's extension machinery, with the same
answers, errors, gate and refusals as the first time, which went strawberry's way."""

from __future__ import annotations

import asyncio
import logging

import strawberry
from strawberry.types.graphql import OperationType

from backend.api.schema import build_schema
from tests.api.operations import ENROLL

ALICE = "member:alice"
FEED = "query Feed { me { displayName history(first: 2) { edges { node { points } } } } }"


def strawberry_executions(monkeypatch) -> list[str | None]:
    """Record the queries that go strawberry's way (`strawberry.Schema.execute`)."""
    seen: list[str | None] = []
    original = strawberry.Schema.execute

    async def recorded(self, query, *args, **kwargs):
        seen.append(query)
        return await original(self, query, *args, **kwargs)

    monkeypatch.setattr(strawberry.Schema, "execute", recorded)
    return seen


async def test_a_repeated_document_answers_the_same_without_strawberrys_way(api, monkeypatch):
    await api(ENROLL, {"input": {"birthDate": "1990-01-01", "displayName": "Alice"}}, ALICE)
    seen = strawberry_executions(monkeypatch)
    first = await api(FEED, token=ALICE)
    second = await api(FEED, token=ALICE)
    assert first == second == {"data": {"me": {"displayName": "Alice", "history": {"edges": []}}}}
    assert seen == [FEED]  # only the first, which parsed and validated it


async def test_a_fault_on_the_direct_way_is_masked_and_logged_as_on_strawberrys(
    api, monkeypatch, caplog
):
    caplog.set_level(logging.INFO, logger="rewards.api")
    await api(ENROLL, {"input": {"birthDate": "1990-01-01"}}, ALICE)
    await api(FEED, token=ALICE)  # cached now

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire: secret")

    monkeypatch.setattr("backend.rewards.queries.EntriesPage.run", broken)
    seen = strawberry_executions(monkeypatch)
    response = await api.client.post(
        "/graphql",
        json={"query": FEED},
        headers={"Authorization": f"Bearer {ALICE}", "X-Request-Id": "req-8"},
    )
    (error,) = response.json()["errors"]
    assert error["message"] == "Unexpected error."
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-8"}
    assert error["path"] == ["me"]  # its reads run ahead with the member
    assert response.json()["data"] == {"me": None}
    assert "secret" not in response.text
    (fault,) = [r for r in caplog.records if r.exc_info]
    assert "Feed" in fault.getMessage() and "req-8" in fault.getMessage()
    assert seen == []


async def test_a_cached_mutation_is_still_refused_by_get(api):
    mutation = 'mutation { enroll(input: {birthDate: "1990-01-01"}) { errors { code } } }'
    assert (await api(mutation, token=ALICE)) == {"data": {"enroll": {"errors": []}}}
    response = await api.client.get(
        "/graphql", params={"query": mutation}, headers={"Authorization": f"Bearer {ALICE}"}
    )
    assert response.status_code == 405
    assert response.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"


async def test_a_cached_document_naming_a_missing_operation_is_refused(api):
    await api(FEED, token=ALICE)
    response = await api.client.post(
        "/graphql",
        json={"query": FEED, "operationName": "Other"},
        headers={"Authorization": f"Bearer {ALICE}"},
    )
    assert response.json()["errors"] == [
        {
            "message": 'Unknown operation named "Other".',
            "extensions": {"code": "OPERATION_RESOLUTION_FAILURE"},
        }
    ]


async def test_the_direct_way_waits_at_the_execution_gate():
    schema = build_schema(local_mode=False, max_concurrent_operations=1)
    query = "query Name { __typename }"
    assert (await schema.execute(query)).data == {"__typename": "Query"}  # parsed, cached
    await schema.gate.acquire()  # every slot taken
    waiting = asyncio.ensure_future(
        schema.execute(query, allowed_operation_types={OperationType.QUERY})
    )
    for _ in range(20):
        await asyncio.sleep(0)
    assert not waiting.done()
    schema.gate.release()
    assert (await waiting).data == {"__typename": "Query"}
