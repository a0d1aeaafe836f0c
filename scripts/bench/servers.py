"""The servers the benchmark compares, each run as `python -m scripts.bench.servers KIND PORT`.

- `dashboard`: the real service (production mode, jobs off) on BENCH_DATABASE_URL, run with the
  same uvicorn options as `rewards serve`, with a verifier that trusts `ROLE:UID` tokens;
- `bare`: a Starlette endpoint answering every POST /graphql with the bytes in BENCH_ANSWER_FILE;
- `ceiling`: graphql-core executing the posted query on `schema.graphql` with the answer in
  BENCH_ANSWER_FILE in memory as the root value (parse and validation cached per query text).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from backend.rewards.ports import AuthenticationError, Principal, Role

REPO_ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"


class BenchVerifier:
    """Trusts `ROLE:UID` tokens without I/O or crypto: cheaper than any real (even cached) check."""

    async def verify(self, token: str) -> Principal:
        """Parse a bench token."""
        role, _, uid = token.partition(":")
        if role not in Role.__members__.values() or not uid:
            raise AuthenticationError("INVALID_TOKEN", "Bench tokens are `ROLE:UID`.")
        return Principal(uid=uid, role=Role(role), email=f"{uid}@example.com")

    async def ensure_active(
        self, principal: Principal, token: str, *, allow_cached: bool = False
    ) -> None:
        """Nobody is revoked during a benchmark."""


def bench_settings() -> Any:
    """Production mode, jobs off, integration rate limit out of the way, pushes to the log
    (this machine has no Firebase credentials; members here have no devices anyway)."""
    from backend.settings import Settings

    return Settings(
        mode="production",
        jobs_enabled=False,
        database_url=os.environ["BENCH_DATABASE_URL"],
        rate_limit_integration="100000000/minute",
        push_backend="log",
    )


def dashboard() -> Starlette:
    """The real service (the factory each worker calls)."""
    from backend.main import create_app

    return create_app(bench_settings(), verifier=BenchVerifier())


async def _healthz(_request: Request) -> JSONResponse:
    """Always ready."""
    return JSONResponse({"status": "ok"})


def _answer() -> bytes:
    """The dashboard answer the comparison endpoints serve."""
    return Path(os.environ["BENCH_ANSWER_FILE"]).read_bytes()


def bare() -> Starlette:
    """Starlette returning the dashboard's bytes: the HTTP stack's ceiling."""
    answer = _answer()

    async def endpoint(_request: Request) -> Response:
        """The fixed bytes."""
        return Response(answer, media_type="application/json")

    return Starlette(
        routes=[Route("/graphql", endpoint, methods=["POST"]), Route("/healthz", _healthz)]
    )


def ceiling() -> Starlette:
    """graphql-core over the answer in memory: GraphQL execution's ceiling."""
    from graphql import build_schema, execute, parse, validate

    schema = build_schema((REPO_ROOT / "schema.graphql").read_text())
    root = json.loads(_answer())["data"]
    documents: dict[str, Any] = {}

    def document(query: str) -> Any:
        """Parse and validate a query text once."""
        if query not in documents:
            parsed = parse(query)
            errors = validate(schema, parsed)
            if errors:
                raise ValueError(errors)
            documents[query] = parsed
        return documents[query]

    async def endpoint(request: Request) -> Response:
        """Execute the posted query."""
        params = json.loads(await request.body())
        result = execute(
            schema, document(params["query"]), root, operation_name=params.get("operationName")
        )
        body = {"data": result.data}  # type: ignore[union-attr]
        content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        return Response(content, media_type="application/json")

    return Starlette(
        routes=[Route("/graphql", endpoint, methods=["POST"]), Route("/healthz", _healthz)]
    )


def main() -> None:
    """Serve one kind on 127.0.0.1:PORT with WORKERS processes (default 1)."""
    import uvicorn

    from backend.serving import uvicorn_options

    kind, port = sys.argv[1], int(sys.argv[2])
    workers = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    # The dashboard logs exactly as `rewards serve` does; the others log nothing per request.
    if kind == "dashboard":
        options = uvicorn_options(bench_settings())
    else:
        options = {"log_level": "warning", "access_log": False}
    uvicorn.run(
        f"scripts.bench.servers:{kind}",
        factory=True,
        host=HOST,
        port=port,
        workers=workers,
        **options,
    )


if __name__ == "__main__":
    main()
