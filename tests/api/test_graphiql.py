"""Offline GraphiQL: the page loads only local, whitelisted assets served by the app."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import strawberry
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route, WebSocketRoute
from strawberry.asgi import GraphQL

import backend.api.graphiql as graphiql_module
from backend.api.graphiql import (
    ASSETS,
    EXAMPLE_HEADERS,
    find_node_modules,
    graphiql_asset_mount,
    render_graphiql_page,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
QUERY = "query Hello {\n  hello\n}\n"
SRC = re.compile(r"""<(?:script|link)\b[^>]*?\b(?:src|href)=["']([^"']+)["']""", re.IGNORECASE)


@strawberry.type
class Query:
    @strawberry.field
    def hello(self) -> str:
        """A trivial field."""
        return "world"

    @strawberry.field
    def authorization(self, info: strawberry.Info) -> str | None:
        """The Authorization header GraphiQL sent (used by the manual browser check)."""
        return info.context["request"].headers.get("authorization")


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def count(self, to: int = 3) -> AsyncIterator[int]:
        """Count up (lets the browser check exercise the WebSocket fetcher)."""
        for n in range(1, to + 1):
            yield n


def build_app(node_modules: Path | None = None) -> Starlette:
    """A tiny app wired like the real one: GraphiQL on GET /graphql, the API on POST."""
    modules = node_modules or find_node_modules(REPO_ROOT)
    view = GraphQL(strawberry.Schema(query=Query, subscription=Subscription), graphql_ide=None)

    async def page(_request: Request) -> HTMLResponse:
        """The GraphiQL page."""
        return HTMLResponse(
            render_graphiql_page(
                title="Rewards API", default_query=QUERY, example_headers="", node_modules=modules
            )
        )

    return Starlette(
        routes=[
            Route("/graphql", page, methods=["GET"]),
            Route("/graphql", view, methods=["POST"]),
            WebSocketRoute("/graphql", view),
            graphiql_asset_mount(modules),
        ]
    )


async def _client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client bound to the app in-process."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


@pytest.fixture
def node_modules() -> Path:
    """The repo's installed node_modules, with every GraphiQL asset present."""
    found = find_node_modules(REPO_ROOT)
    assert found is not None, "node_modules is missing: run `npm ci` at the repo root"
    assert graphiql_module.missing_assets(found) == [], "run `npm ci` at the repo root"
    return found


@pytest.fixture
async def client(node_modules: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the tiny app with the assets installed."""
    async for c in _client(build_app(node_modules)):
        yield c


@pytest.fixture
async def bare_client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the tiny app whose node_modules is empty."""
    (tmp_path / "node_modules").mkdir()
    async for c in _client(build_app(tmp_path / "node_modules")):
        yield c


async def _page(client: httpx.AsyncClient) -> str:
    """GET the page the way a browser does."""
    response = await client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    return response.text


async def test_page_is_graphiql_html(client: httpx.AsyncClient) -> None:
    page = await _page(client)
    assert page.lstrip().lower().startswith("<!doctype html>")
    assert "<title>Rewards API</title>" in page
    assert "GraphiQL.createFetcher(" in page
    assert "subscriptionUrl: toWebSocketUrl(endpoint)" in page
    assert '"endpoint": "/graphql"' in page
    assert "isHeadersEditorEnabled: true" in page
    assert "{{" not in page


async def test_page_references_nothing_outside_the_app(client: httpx.AsyncClient) -> None:
    page = await _page(client)
    lowered = page.lower()
    for banned in ("unpkg", "jsdelivr", "cdn", "cookie", "integrity="):
        assert banned not in lowered
    sources = SRC.findall(page)
    assert len(sources) == len(ASSETS)
    for src in sources:
        assert src.startswith("/graphiql-assets/"), src
        assert not re.match(r"(?i)^(https?:)?//", src), src


async def test_every_asset_in_the_page_is_served(client: httpx.AsyncClient) -> None:
    for src in SRC.findall(await _page(client)):
        response = await client.get(src)
        assert response.status_code == 200, src
        kind = "text/css" if src.split("?")[0].endswith(".css") else "text/javascript"
        assert response.headers["content-type"].startswith(kind), src
        assert "max-age" in response.headers["cache-control"]
        assert len(response.content) > 500, src


async def test_graphiql_bundle_is_the_real_one(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphiql-assets/graphiql.min.js")
    assert len(response.content) > 1_000_000
    assert b"createGraphiQLFetcher" in response.content


async def test_default_query_and_headers_are_in_the_page(client: httpx.AsyncClient) -> None:
    page = await _page(client)
    assert '"defaultQuery": "query Hello {\\n  hello\\n}\\n"' in page
    assert "rewards dev-token --uid demo-member" in page
    assert "Authorization" in page and "Bearer" in page


@pytest.mark.parametrize(
    "path",
    [
        "/graphiql-assets/../package.json",
        "/graphiql-assets/%2e%2e/package.json",
        "/graphiql-assets/..%2Fpackage.json",
        "/graphiql-assets/package.json",
        "/graphiql-assets/firebase-tools/package.json",
        "/graphiql-assets/graphiql/graphiql.min.js",
        "/graphiql-assets/graphiql.min.js.map",
        "/graphiql-assets/react.development.js",
        "/graphiql-assets/",
    ],
)
async def test_files_outside_the_whitelist_are_404(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 404
    assert b'"name"' not in response.content


async def test_post_graphql_still_answers(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={"query": "{ hello }"})
    assert response.json() == {"data": {"hello": "world"}}


async def test_missing_assets_render_a_setup_hint(bare_client: httpx.AsyncClient) -> None:
    page = await _page(bare_client)
    assert "GraphiQL assets are missing: run the setup command" in page
    assert "scripts/setup" in page and "npm ci" in page
    assert "<script" not in page
    assert (await bare_client.get("/graphiql-assets/graphiql.min.js")).status_code == 404


def test_render_without_node_modules_is_the_setup_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(graphiql_module, "find_node_modules", lambda _start: None)
    page = render_graphiql_page(title="Rewards API", default_query=QUERY, example_headers="")
    assert "GraphiQL assets are missing: run the setup command" in page


def test_render_finds_the_repo_node_modules_by_itself(node_modules: Path) -> None:
    page = render_graphiql_page(title="Rewards API", default_query=QUERY, example_headers="")
    assert "/graphiql-assets/graphiql.min.js" in page


def test_user_text_cannot_break_out_of_the_script(node_modules: Path) -> None:
    page = render_graphiql_page(
        title="<b>x</b>",
        default_query="</script><script>alert(1)</script>",
        example_headers='{"X": "{{CONFIG}}"}',
        node_modules=node_modules,
    )
    assert "alert(1)</script>" not in page
    assert "<title>&lt;b&gt;x&lt;/b&gt;</title>" in page
    assert '"defaultHeaders": "{\\"X\\": \\"{{CONFIG}}\\"}"' in page


def test_blank_example_headers_get_the_token_hint(node_modules: Path) -> None:
    page = render_graphiql_page(
        title="t", default_query=QUERY, example_headers="  ", node_modules=node_modules
    )
    assert graphiql_module._script_json(EXAMPLE_HEADERS) in page


def test_find_node_modules_walks_up_to_the_repo_root() -> None:
    assert find_node_modules(Path(graphiql_module.__file__)) == REPO_ROOT / "node_modules"


def test_find_node_modules_from_a_nested_directory(tmp_path: Path) -> None:
    (tmp_path / "node_modules").mkdir()
    nested = tmp_path / "backend" / "api"
    nested.mkdir(parents=True)
    assert find_node_modules(nested) == tmp_path / "node_modules"
