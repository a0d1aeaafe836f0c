"""Abusive requests are refused before parsing or execution, with a code; caches stay bounded."""

from __future__ import annotations

import asyncio
import gc
import json
import tracemalloc

import pytest
import strawberry.schema.schema as strawberry_schema
from graphql import parse
from sqlalchemy import func, select

from backend.api import documents
from backend.api.documents import CheckedDocument, DocumentCache, estimated_bytes
from backend.api.schema import build_schema
from backend.db.tables import Member
from backend.main import create_app
from backend.settings import Settings
from tests.api.operations import ENROLL

ALICE = "member:alice"
JSON_HEADERS = {"Content-Type": "application/json", "Authorization": f"Bearer {ALICE}"}


def code_of(body: dict) -> str:
    """The code of the first error."""
    return body["errors"][0]["extensions"]["code"]


@pytest.fixture
def parses(monkeypatch) -> list[str]:
    """Every query text strawberry parses during the test."""
    seen: list[str] = []
    parse = strawberry_schema.parse

    def spy(query, **options):
        seen.append(query)
        return parse(query, **options)

    monkeypatch.setattr(strawberry_schema, "parse", spy)
    return seen


# Query shape limits (validation, before any SQL)


async def test_too_deep_queries_are_refused_before_execution(api, count_queries):
    nested = "relatedEntry { " * 12 + "id" + " }" * 12
    query = "{ me { history(first: 1) { edges { node { " + nested + " } } } } }"
    body = await api(query, token=ALICE)
    assert "exceeds maximum operation depth" in body["errors"][0]["message"]
    assert code_of(body) == "QUERY_TOO_DEEP"
    assert count_queries.count == 0


async def test_depth_cannot_be_hidden_in_fragments(api, count_queries):
    fragments = "".join(
        f"fragment F{i} on LedgerEntry {{ relatedEntry {{ ...F{i + 1} }} }}\n" for i in range(12)
    )
    query = (
        "{ me { history(first: 1) { edges { node { ...F0 } } } } }\n"
        + fragments
        + "fragment F12 on LedgerEntry { id }"
    )
    body = await api(query, token=ALICE)
    assert code_of(body) == "QUERY_TOO_DEEP"
    assert count_queries.count == 0


async def test_nesting_too_deep_for_the_parser_is_too_deep(client_for, sqlite_database):
    query = "{" + "a{" * 300 + "b" + "}" * 300 + "}"
    async with client_for(sqlite_database) as client:
        body = (await client.post("/graphql", json={"query": query}, headers=JSON_HEADERS)).json()
    assert code_of(body) == "QUERY_TOO_DEEP"


async def test_too_many_aliases_are_refused(api, count_queries):
    query = "{ " + " ".join(f"a{i}: tiers {{ code }}" for i in range(31)) + " }"
    body = await api(query, token=ALICE)
    assert "aliases" in body["errors"][0]["message"]
    assert code_of(body) == "TOO_MANY_ALIASES"
    assert count_queries.count == 0


async def test_too_many_tokens_are_refused(api, count_queries):
    query = "{ " + " ".join("tiers { code name }" for _ in range(500)) + " }"
    body = await api(query, token=ALICE)
    assert "token" in body["errors"][0]["message"].lower()
    assert code_of(body) == "QUERY_TOO_LARGE"
    assert count_queries.count == 0


@pytest.mark.parametrize(
    "query",
    [
        "{ " + " ".join("tiers { code }" for _ in range(490)) + " }",
        "{ " + " ".join("... on Query { tiers { code } }" for _ in range(51)) + " }",
        "{ "
        + " ".join(f"...F{i}" for i in range(60))
        + " }"
        + "".join(f" fragment F{i} on Query {{ tiers {{ code }} }}" for i in range(60)),
    ],
    ids=["fields", "inline-fragments", "fragments"],
)
async def test_one_field_repeated_many_times_is_refused_before_the_costly_rules(
    client_for, sqlite_database, monkeypatch, query
):
    monkeypatch.setattr(documents, "validate_document", _never)
    async with client_for(sqlite_database) as client:
        body = (await client.post("/graphql", json={"query": query}, headers=JSON_HEADERS)).json()
    assert code_of(body) == "QUERY_TOO_LARGE"
    assert "'tiers' is selected" in body["errors"][0]["message"]


def _never(*args, **kwargs):
    """Stands in for a step that must not run."""
    raise AssertionError("this step must not run")


# Size limits before parsing


async def test_a_query_over_the_length_limit_is_refused_before_parsing(
    client_for, sqlite_database, parses
):
    query = "{ tiers { code } }" + " " * 100
    async with client_for(sqlite_database, max_query_length=100) as client:
        response = await client.post("/graphql", json={"query": query}, headers=JSON_HEADERS)
    assert response.status_code == 200
    assert code_of(response.json()) == "QUERY_TOO_LARGE"
    assert parses == []


async def test_a_10_mb_comment_query_is_refused_at_once(client_for, sqlite_database, parses):
    query = "#" + "x" * 10_000_000 + "\n{ tiers { code } }"
    async with client_for(sqlite_database) as client:
        response = await client.post("/graphql", json={"query": query}, headers=JSON_HEADERS)
    assert response.status_code == 413
    assert code_of(response.json()) == "PAYLOAD_TOO_LARGE"
    async with client_for(sqlite_database, max_body_bytes=20_000_000) as client:
        response = await client.post("/graphql", json={"query": query}, headers=JSON_HEADERS)
    assert code_of(response.json()) == "QUERY_TOO_LARGE"
    assert parses == []


class Receiver:
    """An ASGI `receive` that hands out body chunks and counts how many were asked for."""

    def __init__(self, chunks: list[bytes], then_wait: bool = False) -> None:
        self.chunks, self.then_wait, self.calls = chunks, then_wait, 0

    async def __call__(self) -> dict:
        self.calls += 1
        if self.chunks:
            return {"type": "http.request", "body": self.chunks.pop(0), "more_body": True}
        if self.then_wait:
            await asyncio.Event().wait()  # the client stalls mid-body
        return {"type": "http.request", "body": b"", "more_body": False}


async def call_app(app, receive, headers: dict[str, str]) -> tuple[int, dict, dict]:
    """Send one POST /graphql through the ASGI app; return status, headers and JSON body."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 5000),
        "server": ("test", 80),
    }
    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = sent[0]
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, json.loads(body)


@pytest.fixture
def app_with(sqlite_database, verifier, clock):
    """The ASGI app with settings overrides."""

    def build(**settings):
        config = Settings(mode="production", jobs_enabled=False, **settings)
        return create_app(config, verifier=verifier, clock=clock, database=sqlite_database)

    return build


async def test_a_declared_body_over_the_limit_is_413_before_reading(app_with):
    receive = Receiver([b"{}"])
    headers = {**JSON_HEADERS, "Content-Length": str(64 * 1024 + 1)}
    status, response_headers, body = await call_app(app_with(), receive, headers)
    assert (status, code_of(body)) == (413, "PAYLOAD_TOO_LARGE")
    assert response_headers["connection"] == "close"
    assert receive.calls == 0


async def test_a_streamed_body_is_cut_off_once_over_the_limit(app_with):
    receive = Receiver([b" " * 1024] * 1000)  # 1 MB, chunked, no Content-Length
    status, _, body = await call_app(app_with(max_body_bytes=16 * 1024), receive, JSON_HEADERS)
    assert (status, code_of(body)) == (413, "PAYLOAD_TOO_LARGE")
    assert receive.calls == 17


async def test_a_body_that_stalls_is_408(app_with):
    receive = Receiver([b'{"query": "{ tie'], then_wait=True)
    app = app_with(request_body_timeout_seconds=0.05)
    status, response_headers, body = await call_app(app, receive, JSON_HEADERS)
    assert (status, code_of(body)) == (408, "REQUEST_TIMEOUT")
    assert response_headers["connection"] == "close"


# JSON hygiene before and after parsing


def nested(depth: int) -> str:
    """JSON arrays nested `depth` deep."""
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(
    "body",
    [
        nested(1000),
        '{"query": "{ tiers { code } }", "variables": {"x": ' + nested(1000) + "}}",
        '{"query": "{ tiers { code } }", "extensions": {"x": ' + nested(100) + "}}",
    ],
    ids=["body", "variables", "extensions"],
)
async def test_deeply_nested_json_is_a_coded_400(client_for, sqlite_database, body):
    async with client_for(sqlite_database) as client:
        response = await client.post("/graphql", content=body, headers=JSON_HEADERS)
    assert response.status_code == 400
    assert code_of(response.json()) == "BAD_REQUEST"
    assert "nested deeper than 32" in response.json()["errors"][0]["message"]


async def test_deep_json_in_get_variables_is_a_coded_400(client_for, sqlite_database):
    params = {"query": "{ tiers { code } }", "variables": '{"x": ' + nested(1000) + "}"}
    async with client_for(sqlite_database) as client:
        response = await client.get("/graphql", params=params, headers=JSON_HEADERS)
    assert (response.status_code, code_of(response.json())) == (400, "BAD_REQUEST")


async def test_brackets_inside_strings_do_not_count_as_nesting(client_for, sqlite_database):
    variables = {"input": {"birthDate": "[" * 1000 + "{" * 1000}}
    async with client_for(sqlite_database) as client:
        response = await client.post(
            "/graphql", json={"query": ENROLL, "variables": variables}, headers=JSON_HEADERS
        )
    assert code_of(response.json()) == "BAD_USER_INPUT"


@pytest.mark.parametrize(
    "body",
    [
        {"query": "{ tiers { code } }  # \ud800"},
        {
            "query": ENROLL,
            "variables": {"input": {"birthDate": "1990-01-01", "displayName": "A\ud800"}},
        },
        {"query": ENROLL, "variables": {"input": {"birthDate": "1990-01-01", "\udfff": "x"}}},
        {"query": "query A { tiers { code } }", "operationName": "A\udbff"},
        {"query": "{ tiers { code } }", "extensions": {"trace": ["\ud800"]}},
    ],
    ids=["query", "variable-value", "variable-key", "operation-name", "extensions"],
)
async def test_lone_surrogates_are_a_coded_400_and_nothing_is_stored(api, database, body):
    content = json.dumps(body)  # ASCII, with the surrogate as a \\ud800 escape
    response = await api.client.post("/graphql", content=content, headers=JSON_HEADERS)
    assert response.status_code == 400
    assert code_of(response.json()) == "BAD_REQUEST"
    assert "lone surrogate" in response.json()["errors"][0]["message"]
    async with database.reader.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(Member))).scalar_one() == 0


async def test_paired_surrogates_are_ordinary_text(api):
    content = json.dumps(
        {
            "query": ENROLL,
            "variables": {"input": {"birthDate": "1990-01-01", "displayName": "Ann 😀"}},
        }
    )
    response = await api.client.post("/graphql", content=content, headers=JSON_HEADERS)
    payload = response.json()["data"]["enroll"]
    assert payload["errors"] == [] and payload["member"]["displayName"] == "Ann 😀"


# The document cache


async def test_a_repeated_query_is_parsed_and_validated_once(api, parses, monkeypatch):
    validations = []
    validate = documents.validate_document
    monkeypatch.setattr(
        documents, "validate_document", lambda *a: validations.append(1) or validate(*a)
    )
    for _ in range(3):
        body = await api("{ tiers { code } }", token=ALICE)
        assert body["data"]["tiers"][0]["code"] == "member"
    assert (len(parses), len(validations)) == (1, 1)


def test_the_cache_evicts_the_least_recently_used_over_its_byte_budget():
    queries = [f"query Q{i} {{ tiers {{ code }} }}" for i in range(4)]
    checked = {q: CheckedDocument(parse(q), (), ()) for q in queries}
    cost = estimated_bytes(queries[0], checked[queries[0]].document)
    cache = DocumentCache(max_bytes=3 * cost)
    for query in queries[:3]:
        cache.put(query, checked[query])
    assert cache.get(queries[0]) is checked[queries[0]]  # now the most recently used
    cache.put(queries[3], checked[queries[3]])
    assert cache.get(queries[1]) is None
    assert all(cache.get(q) is checked[q] for q in (queries[0], queries[2], queries[3]))
    assert (len(cache), cache.size) == (3, 3 * cost)
    big = "{ tiers { code } }" + " " * 3 * cost
    cache.put(big, CheckedDocument(parse(big), (), ()))
    assert cache.get(big) is None and len(cache) == 3


async def test_memory_stays_bounded_over_many_unique_large_queries():
    budget = 512 * 1024
    bounded = await _growth(build_schema(local_mode=False, document_cache_bytes=budget))
    unbounded = await _growth(build_schema(local_mode=False, document_cache_bytes=2**40))
    assert bounded < budget * 1.25
    assert unbounded > 3 * budget  # the test would catch a cache that ignores its budget


async def _growth(schema) -> int:
    """Memory still held after 10 unique queries of ~600 tokens each went through the schema."""

    def query(i: int) -> str:
        fields = " ".join(f"f{j}: __typename" for j in range(25))
        return f"query Q{i} {{ {fields} }} " + " ".join(
            f"fragment F{i}x{k} on Query {{ {fields} }}" for k in range(6)
        )

    gc.collect()
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        for i in range(10):
            await schema.execute(query(i))
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - start
    finally:
        tracemalloc.stop()
