"""GraphQL over HTTP: media types, status codes, transport errors, timeouts, the real server."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from backend.api.errors import PublicError
from backend.api.permissions import IsMember, IsSignedIn
from backend.api.view import GraphQLEndpoint
from backend.db.tables import Member

REPO_ROOT = Path(__file__).resolve().parents[2]
GRAPHQL_RESPONSE = "application/graphql-response+json"
TYPENAME = {"query": "{ __typename }"}
MEMBER = {"Authorization": "Bearer member:alice"}


@pytest.fixture
async def client(sqlite_database, client_for):
    """A client of the app in production mode (no SQL is reached by these tests)."""
    async with client_for(sqlite_database) as c:
        yield c


def code_of(response) -> str:
    """The code of the first error in a response."""
    return response.json()["errors"][0]["extensions"]["code"]


# Media types and status codes


@pytest.mark.parametrize("accept", [GRAPHQL_RESPONSE, "application/json", "*/*", None])
async def test_a_query_is_answered_in_the_accepted_media_type(client, accept):
    headers = {"Accept": accept} if accept else {}
    response = await client.post("/graphql", json=TYPENAME, headers=headers)
    assert response.status_code == 200
    expected = GRAPHQL_RESPONSE if accept == GRAPHQL_RESPONSE else "application/json"
    assert response.headers["content-type"] == f"{expected}; charset=utf-8"
    assert response.json() == {"data": {"__typename": "Query"}}


async def test_graphql_response_json_wins_when_both_are_accepted(client):
    accept = f"application/json;q=0.9, {GRAPHQL_RESPONSE}"
    response = await client.post("/graphql", json=TYPENAME, headers={"Accept": accept})
    assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE)


async def test_an_unacceptable_media_type_is_406(client):
    response = await client.post("/graphql", json=TYPENAME, headers={"Accept": "text/plain"})
    assert response.status_code == 406 and code_of(response) == "NOT_ACCEPTABLE"


@pytest.mark.parametrize(
    ("query", "variables", "code"),
    [
        ("{ __typename ", None, "GRAPHQL_PARSE_FAILED"),
        ("{ nope }", None, "GRAPHQL_VALIDATION_FAILED"),
        ("query Q($n: Int!) { __typename(n: $n) }", None, "GRAPHQL_VALIDATION_FAILED"),
        ("query Q($id: ID!) { node(id: $id) { id } }", {"id": None}, "BAD_USER_INPUT"),
    ],
)
async def test_errors_before_execution_are_400_for_graphql_response_json_200_for_json(
    client, query, variables, code
):
    body = {"query": query, "variables": variables}
    modern = await client.post(
        "/graphql", json=body, headers={**MEMBER, "Accept": GRAPHQL_RESPONSE}
    )
    legacy = await client.post(
        "/graphql", json=body, headers={**MEMBER, "Accept": "application/json"}
    )
    assert (modern.status_code, legacy.status_code) == (400, 200)
    for response in (modern, legacy):
        assert "data" not in response.json()
        assert code_of(response) == code


async def test_errors_during_execution_are_200_with_data(client):
    response = await client.post(
        "/graphql", json={"query": "{ me { id } }"}, headers={"Accept": GRAPHQL_RESPONSE}
    )
    assert response.status_code == 200
    assert response.json()["data"] == {"me": None}
    assert code_of(response) == "UNAUTHENTICATED"


async def test_get_runs_queries_with_json_variables(client):
    params = {
        "query": "query T($name: String!) { __type(name: $name) { name } }",
        "variables": json.dumps({"name": "Member"}),
        "operationName": "T",
    }
    response = await client.get("/graphql", params=params, headers=MEMBER)
    assert response.status_code == 200
    assert response.json() == {"data": {"__type": {"name": "Member"}}}


async def test_a_mutation_by_get_is_405_and_nothing_runs(client, sqlite_database):
    mutation = 'mutation { enroll(input: {birthDate: "1990-01-01"}) { errors { code } } }'
    response = await client.get(
        "/graphql", params={"query": mutation}, headers={**MEMBER, "Accept": GRAPHQL_RESPONSE}
    )
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert code_of(response) == "METHOD_NOT_ALLOWED"
    async with sqlite_database.reader.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(Member))).scalar_one() == 0


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "HEAD"])
async def test_other_methods_are_405(client, method):
    response = await client.request(method, "/graphql")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
    if method != "HEAD":
        assert code_of(response) == "METHOD_NOT_ALLOWED"


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/graphql", "application/json; charset=latin-1"],
)
async def test_post_with_another_content_type_is_415(client, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    response = await client.post("/graphql", content=json.dumps(TYPENAME), headers=headers)
    assert response.status_code == 415 and code_of(response) == "UNSUPPORTED_MEDIA_TYPE"


async def test_json_with_a_utf8_charset_is_accepted(client):
    headers = {"Content-Type": "application/json; charset=UTF-8"}
    response = await client.post("/graphql", content=json.dumps(TYPENAME), headers=headers)
    assert response.status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b'{ "not a JSON',
        b"\xff\xfe{}",
        b"[1, 2]",
        b'"query"',
        b'{"notquery": "{ __typename }"}',
        b'{"query": ""}',
        b'{"query": 5}',
        b'{"query": ["{ __typename }"]}',
        b'{"query": "{ __typename }", "variables": "{}"}',
        b'{"query": "{ __typename }", "variables": [1]}',
        b'{"query": "{ __typename }", "operationName": 5}',
        b'{"query": "{ __typename }", "extensions": false}',
        b'{"query": "{ __typename }", "variables": {"n": 1' + b"0" * 5000 + b"}}",
    ],
)
async def test_malformed_requests_are_coded_400s(client, body):
    response = await client.post(
        "/graphql", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")
    assert code_of(response) == "BAD_REQUEST"


async def test_null_variables_operation_name_and_extensions_are_fine(client):
    body = {**TYPENAME, "variables": None, "operationName": None, "extensions": None}
    response = await client.post("/graphql", json=body)
    assert response.json() == {"data": {"__typename": "Query"}}


async def test_an_unknown_operation_name_is_a_request_error(client):
    body = {"query": "query A { __typename }", "operationName": "B"}
    modern = await client.post("/graphql", json=body, headers={"Accept": GRAPHQL_RESPONSE})
    legacy = await client.post("/graphql", json=body)
    assert (modern.status_code, legacy.status_code) == (400, 200)
    assert code_of(modern) == code_of(legacy) == "OPERATION_RESOLUTION_FAILURE"


async def test_a_subscription_over_http_is_a_bad_request(client):
    response = await client.post("/graphql", json={"query": "subscription { x }"})
    assert response.status_code == 400 and code_of(response) == "BAD_REQUEST"


# Authentication, request ids, context


async def test_a_bad_token_is_401_before_any_sql(api, count_queries):
    response = await api.raw("{ me { id } }", token="nobody")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert code_of(response) == "INVALID_TOKEN"
    assert count_queries.count == 0


async def test_another_authorization_scheme_is_401(client):
    headers = {"Authorization": "Basic dXNlcjpwdw=="}
    response = await client.post("/graphql", json=TYPENAME, headers=headers)
    assert response.status_code == 401 and code_of(response) == "INVALID_TOKEN"


async def test_a_sane_request_id_is_echoed_and_others_are_replaced(client):
    sane = await client.post("/graphql", json=TYPENAME, headers={"X-Request-Id": "app-42.7:x"})
    assert sane.headers["x-request-id"] == "app-42.7:x"
    for bad in [b"", b"a b", b"x" * 200, "idé\n".encode(), b"a\x00b"]:
        headers = {"X-Request-Id": bad}
        response = await client.post("/graphql", json=TYPENAME, headers=headers)
        assert len(response.headers["x-request-id"]) == 32 != bad
    refused = await client.put("/graphql", headers={"X-Request-Id": "put-1"})
    assert refused.headers["x-request-id"] == "put-1"


async def test_the_context_carries_the_client_address_and_request_id(client, monkeypatch):
    seen = []

    async def record(self, source, info, **kwargs):
        seen.append((info.context.client_ip, info.context.request_id))
        return True

    monkeypatch.setattr(IsSignedIn, "has_permission", record)
    headers = {**MEMBER, "X-Request-Id": "r-1"}
    response = await client.post("/graphql", json={"query": "{ tiers { code } }"}, headers=headers)
    assert response.status_code == 200
    assert seen == [("127.0.0.1", "r-1")]


# Rate limits


async def test_a_rate_limited_field_answers_429_with_the_longest_retry_after(client, monkeypatch):
    waits = iter([2.5, 30, 1])

    async def limited(self, source, info, **kwargs):
        raise PublicError("RATE_LIMITED", "Slow down.", retryAfter=next(waits))

    monkeypatch.setattr(IsMember, "has_permission", limited)
    query = "{ a: me { id } b: me { id } c: me { id } }"
    response = await client.post("/graphql", json={"query": query}, headers=MEMBER)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "30"
    errors = response.json()["errors"]
    assert {e["extensions"]["code"] for e in errors} == {"RATE_LIMITED"}
    assert sorted(e["extensions"]["retryAfter"] for e in errors) == [1, 2.5, 30]


async def test_a_rate_limit_in_the_auth_path_answers_429(client, monkeypatch):
    async def limited(self, request):
        raise PublicError("RATE_LIMITED", "Too many failed sign-ins.", retryAfter=59.2)

    monkeypatch.setattr(GraphQLEndpoint, "authenticate", limited)
    response = await client.post("/graphql", json=TYPENAME, headers=MEMBER)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "60"
    assert response.json()["errors"][0]["extensions"] == {
        "code": "RATE_LIMITED",
        "retryAfter": 59.2,
    }


# GraphiQL


async def test_graphiql_is_served_to_browsers_in_local_mode(sqlite_database, client_for):
    async with client_for(sqlite_database, mode="local") as local:
        page = await local.get("/graphql", headers={"Accept": "text/html"})
        api = await local.get("/graphql", params=TYPENAME)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.text.lstrip().lower().startswith("<!doctype html>")
    assert api.json() == {"data": {"__typename": "Query"}}


async def test_no_graphiql_in_production(client):
    html_only = await client.get("/graphql", headers={"Accept": "text/html"})
    browser = await client.get("/graphql", headers={"Accept": "text/html,*/*;q=0.8"})
    assert html_only.status_code == 406 and code_of(html_only) == "NOT_ACCEPTABLE"
    assert browser.status_code == 400 and code_of(browser) == "BAD_REQUEST"


# The real server: `rewards serve` in a subprocess


def _free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[tuple[str, int]]:
    """`rewards serve` on a free port (local mode, SQLite, 1 s head and body timeouts)."""
    workdir = tmp_path_factory.mktemp("server")
    port = _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "MODE": "local",
        "DATABASE_URL": f"sqlite+aiosqlite:///{workdir}/rewards.db",
        "JOBS_ENABLED": "false",
        "REQUEST_HEADER_TIMEOUT_SECONDS": "1",
        "REQUEST_BODY_TIMEOUT_SECONDS": "1",
    }
    env.pop("FIREBASE_AUTH_EMULATOR_HOST", None)
    log = (workdir / "server.log").open("wb")
    command = [sys.executable, "-m", "backend.cli", "serve", "--port", str(port)]
    process = subprocess.Popen(command, cwd=workdir, env=env, stdout=log, stderr=log)
    try:
        _wait_until_up(port, process, workdir / "server.log")
        yield "127.0.0.1", port
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


def _wait_until_up(port: int, process: subprocess.Popen, log: Path) -> None:
    """Poll /healthz until the server answers (it migrates first)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server exited:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"server did not start:\n{log.read_text()}")


def _connect(server: tuple[str, int]) -> socket.socket:
    """A raw connection that fails the test instead of hanging."""
    connection = socket.create_connection(server)
    connection.settimeout(15)
    return connection


def _read_until_closed(connection: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (it reads all we send)."""
    received = b""
    while chunk := connection.recv(65536):
        received += chunk
    return received


def _read_response(connection: socket.socket) -> bytes:
    """One complete response (head and a Content-Length body) from a kept-alive connection."""
    received = b""
    while b"\r\n\r\n" not in received:
        received += connection.recv(65536)
    head, _, body = received.partition(b"\r\n\r\n")
    length = int(
        next(h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length:"))[15:]
    )
    while len(body) < length:
        body += connection.recv(65536)
    return head + b"\r\n\r\n" + body


def test_the_graphql_over_http_audit_passes_without_warnings(server):
    host, port = server
    result = subprocess.run(
        ["node", "scripts/graphql_http_audit.mjs", f"http://{host}:{port}/graphql"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    audits = json.loads(result.stdout)
    assert len(audits) > 50
    assert [a for a in audits if a["status"] != "ok"] == []


def test_a_connection_that_sends_nothing_is_closed(server):
    with _connect(server) as connection:
        assert _read_until_closed(connection) == b""


def test_a_request_head_that_never_completes_is_closed(server):
    with _connect(server) as connection:
        connection.sendall(b"POST /graphql HTTP/1.1\r\nHost: test\r\nContent-Type: applic")
        assert _read_until_closed(connection) == b""


def test_a_kept_alive_connection_gets_a_new_head_deadline(server):
    body = json.dumps(TYPENAME).encode()
    request = (
        b"POST /graphql HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    with _connect(server) as connection:
        connection.sendall(request)
        assert _read_response(connection).endswith(b'{"data":{"__typename":"Query"}}')
        connection.sendall(b"GET /graph")
        assert _read_until_closed(connection) == b""


def test_a_body_that_does_not_arrive_in_time_is_408(server):
    with _connect(server) as connection:
        connection.sendall(
            b"POST /graphql HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"query": "{ __typ'
        )
        response = _read_until_closed(connection)
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 ")
    assert b"connection: close" in head.lower()
    assert json.loads(body)["errors"][0]["extensions"]["code"] == "REQUEST_TIMEOUT"


def test_a_chunked_body_over_the_limit_is_413_before_it_ends(server):
    with _connect(server) as connection:
        connection.sendall(
            b"POST /graphql HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        for _ in range(65):  # 65 KiB, just over the limit, and never terminated
            connection.sendall(b"400\r\n" + b" " * 1024 + b"\r\n")
        response = _read_until_closed(connection)
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413 ")
    assert json.loads(body)["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


def test_a_declared_length_over_the_limit_is_413_without_reading(server):
    with _connect(server) as connection:
        connection.sendall(
            b"POST /graphql HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            b"Content-Length: 10000000\r\n\r\n"
        )
        response = _read_until_closed(connection)
    assert response.startswith(b"HTTP/1.1 413 ")
    assert b'"PAYLOAD_TOO_LARGE"' in response
