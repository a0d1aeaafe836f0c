"""Offline GraphiQL: an HTML page plus a whitelisted mount of its assets from node_modules."""

from __future__ import annotations

import hashlib
import html
import json
import re
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route

ASSET_PREFIX = "/graphiql-assets"
GRAPHQL_PATH = "/graphql"
SETUP_COMMAND = "scripts/setup"
TEMPLATE = Path(__file__).parent / "static" / "graphiql.html"
CACHE_CONTROL = "public, max-age=86400"
PLACEHOLDER = re.compile(r"\{\{(TITLE|ASSETS|VERSION|CONFIG)\}\}")

# Public file name -> path inside node_modules. Nothing else under node_modules is served.
ASSETS: dict[str, str] = {
    "graphiql.min.js": "graphiql/graphiql.min.js",
    "graphiql.min.css": "graphiql/graphiql.min.css",
    "react.production.min.js": "react/umd/react.production.min.js",
    "react-dom.production.min.js": "react-dom/umd/react-dom.production.min.js",
    "plugin-explorer.umd.js": "@graphiql/plugin-explorer/dist/index.umd.js",
    "plugin-explorer.css": "@graphiql/plugin-explorer/dist/style.css",
}
MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}

EXAMPLE_HEADERS = json.dumps(
    {"Authorization": "Bearer <paste a token from `rewards dev-token --uid demo-member`>"},
    indent=2,
)


def find_node_modules(start: Path) -> Path | None:
    """The nearest node_modules directory at or above start (the repo root holds it), or None."""
    start = start.resolve()
    for directory in [start, *start.parents]:
        candidate = directory / "node_modules"
        if candidate.is_dir():
            return candidate
    return None


def missing_assets(node_modules: Path | None) -> list[str]:
    """The whitelisted files that are not installed under node_modules."""
    if node_modules is None:
        return list(ASSETS.values())
    return [rel for rel in ASSETS.values() if not (node_modules / rel).is_file()]


def _asset_file(node_modules: Path | None, name: str) -> Path | None:
    """The installed file behind a whitelisted public name, or None."""
    rel = ASSETS.get(name)
    if node_modules is None or rel is None:
        return None
    path = node_modules / rel
    return path if path.is_file() else None


def graphiql_asset_mount(node_modules: Path | None) -> Mount:
    """A Mount at /graphiql-assets serving only the whitelisted GraphiQL files."""

    async def asset(request: Request) -> Response:
        """Serve one whitelisted file, or 404."""
        name = request.path_params["name"]
        path = _asset_file(node_modules, name)
        if path is None:
            return PlainTextResponse("Not Found", status_code=404)
        headers = {"Cache-Control": CACHE_CONTROL, "X-Content-Type-Options": "nosniff"}
        return FileResponse(path, media_type=MEDIA_TYPES[path.suffix], headers=headers)

    return Mount(ASSET_PREFIX, routes=[Route("/{name}", asset)], name="graphiql-assets")


def _asset_version(node_modules: Path) -> str:
    """A short digest of the installed assets' sizes and mtimes, to bust browser caches."""
    stats = [(node_modules / rel).stat() for rel in ASSETS.values()]
    digest = hashlib.sha256(repr([(s.st_size, s.st_mtime_ns) for s in stats]).encode())
    return digest.hexdigest()[:12]


def _script_json(value: object) -> str:
    """JSON that is safe to inline in a <script> element."""
    text = json.dumps(value)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _missing_page(title: str, missing: list[str]) -> str:
    """A short plain page explaining how to install the missing assets."""
    items = "".join(f"<li><code>{html.escape(rel)}</code></li>" for rel in missing)
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title></head><body>"
        f"<h1>GraphiQL assets are missing: run the setup command</h1>"
        f"<p>Run <code>{SETUP_COMMAND}</code> (or just <code>npm ci</code>) in the repository "
        f"root, then reload. Not found under node_modules:</p><ul>{items}</ul>"
        f"<p>The API itself still answers POST {GRAPHQL_PATH}.</p></body></html>"
    )


def render_graphiql_page(
    *,
    title: str,
    default_query: str,
    example_headers: str,
    node_modules: Path | None = None,
) -> str:
    """The GraphiQL page (or a setup hint when assets are missing); blank headers get the hint."""
    node_modules = node_modules or find_node_modules(Path(__file__).parent)
    missing = missing_assets(node_modules)
    if node_modules is None or missing:
        return _missing_page(title, missing)
    config = {
        "endpoint": GRAPHQL_PATH,
        "defaultQuery": default_query,
        "defaultHeaders": example_headers.strip() or EXAMPLE_HEADERS,
    }
    values = {
        "TITLE": html.escape(title),
        "ASSETS": ASSET_PREFIX,
        "VERSION": _asset_version(node_modules),
        "CONFIG": _script_json(config),
    }
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], TEMPLATE.read_text(encoding="utf-8"))
