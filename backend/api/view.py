"""The GraphQL HTTP/WebSocket endpoint: authenticates once per request, before any resolver runs."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL

from backend.api.context import Context, Services
from backend.api.loaders import Loaders
from backend.rewards.ports import AuthenticationError, Principal


def bearer_token(headers: Any) -> str | None:
    """The token of an `Authorization: Bearer …` header, if any."""
    value = headers.get("authorization")
    if not value:
        return None
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def auth_error_response(error: AuthenticationError) -> JSONResponse:
    """A GraphQL-shaped 401 for a token that was refused."""
    body = {
        "data": None,
        "errors": [{"message": error.message, "extensions": {"code": error.code}}],
    }
    return JSONResponse(body, status_code=401, headers={"WWW-Authenticate": "Bearer"})


class RewardsGraphQL(GraphQL[Context, None]):
    """Strawberry's ASGI view with authentication in front and a typed context."""

    def __init__(self, schema: Any, services: Services, render_ide: Any = None) -> None:
        super().__init__(schema, graphql_ide="graphiql" if render_ide else None)
        self.services = services
        self._render_ide = render_ide

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Verify the bearer token of an HTTP request; refuse a bad one with 401 straight away."""
        if scope["type"] == "http":
            token = bearer_token(Request(scope).headers)
            principal: Principal | None = None
            if token is not None:
                try:
                    if not token:
                        raise AuthenticationError(
                            "INVALID_TOKEN", "Use `Authorization: Bearer <ID token>`."
                        )
                    principal = await self.services.verifier.verify(token)
                except AuthenticationError as error:
                    await auth_error_response(error)(scope, receive, send)
                    return
            scope.setdefault("state", {})["auth"] = (principal, token)
        try:
            await super().__call__(scope, receive, send)
        finally:
            context = scope.get("state", {}).pop("context", None)
            if context is not None:
                await context.loaders.close()

    async def get_context(self, request: Any, response: Any) -> Context:
        """Build the request's context from what `__call__` verified."""
        principal, token = request.scope.get("state", {}).get("auth", (None, None))
        context = Context(
            services=self.services,
            principal=principal,
            token=token,
            loaders=Loaders(self.services.database, self.services.rules, self.services.clock.now()),
            request=request,
            response=response,
        )
        request.scope.setdefault("state", {})["context"] = context  # closed by __call__
        return context

    async def render_graphql_ide(self, request: Request) -> Response:
        """Serve GraphiQL from local assets (no CDN)."""
        from starlette.responses import HTMLResponse

        return HTMLResponse(self._render_ide())
