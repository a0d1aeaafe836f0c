"""GraphQL over HTTP: limits, authentication, negotiation and status codes around `schema.execute`.

One request, in order: method and media types (405/406/415), the declared body size (413), the
bearer token (401, before any resolver or SQL), the body read under a size cap and a deadline
(413/408), JSON checked for depth and lone surrogates before and after parsing (400), the query
length (QUERY_TOO_LARGE), then execution. Every refusal is a GraphQL-shaped JSON body with
`extensions.code`; every response echoes `X-Request-Id`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

import orjson
from graphql import GraphQLError
from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect, HTTPConnection, Request
from starlette.responses import HTMLResponse, Response
from starlette.types import Receive, Scope, Send
from strawberry.exceptions import MissingQueryError
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.execution import ExecutionResult
from strawberry.types.graphql import OperationType

from backend.api.context import Context, Services
from backend.api.errors import INTERNAL_SERVER_ERROR, MASKED_MESSAGE, PublicError, error_code
from backend.api.loaders import Loaders
from backend.rewards.ports import AuthenticationError, Principal

log = logging.getLogger("rewards.api")

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
REQUEST_ID = re.compile(r"[A-Za-z0-9._:/+=-]{1,128}")
LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# A JSON string literal; written as runs of plain characters between escapes, which the regex
# engine scans as runs (one alternative per character took five times as long on a query).
JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
BRACKET_STEP = [1 if b in b"[{" else -1 for b in range(256)]  # used on brackets only
STATUS_OF_CODE = {"RATE_LIMITED": 429, "FORBIDDEN": 403, "UNAUTHENTICATED": 401}


@dataclass(frozen=True)
class HttpLimits:
    """What one request may send, and how long it may take to send it."""

    max_body_bytes: int = 64 * 1024
    max_query_length: int = 20_000
    max_json_depth: int = 32
    body_timeout_seconds: float = 10.0


@dataclass(frozen=True)
class GraphQLParams:
    """The parameters of a GraphQL-over-HTTP request."""

    query: str
    variables: dict[str, Any] | None
    operation_name: str | None


# Expired tokens are routine (apps refresh them); an unreachable Auth service is not the caller's doing.
UNCOUNTED_AUTH_FAILURES = frozenset({"TOKEN_EXPIRED", "AUTH_UNAVAILABLE"})


def _too_many_refused_tokens(wait: int) -> PublicError:
    """The refusal for a client address that sent too many bad tokens."""
    return PublicError(
        "RATE_LIMITED", f"Too many refused tokens; try again in {wait} s.", retryAfter=wait
    )


class RequestRefused(Exception):
    """A request refused before execution: its status, code, message and extra headers."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
        *,
        request_error: bool = False,
        **extensions: Any,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}
        self.request_error = request_error
        self.extensions = {"code": code, **extensions}

    @classmethod
    def of(cls, error: PublicError) -> RequestRefused:
        """Refuse with a public error (e.g. RATE_LIMITED from a limiter in the auth path)."""
        code = error.extensions["code"]
        headers = retry_after_header([error.extensions])
        extensions = {k: v for k, v in error.extensions.items() if k != "code"}
        return cls(STATUS_OF_CODE.get(code, 400), code, str(error), headers, **extensions)

    def response(self, media: str) -> Response:
        """The GraphQL-shaped refusal; a GraphQL request error is a 200 to `application/json`."""
        status = 200 if self.request_error and media == JSON else self.status
        body = {"errors": [{"message": self.message, "extensions": self.extensions}]}
        return json_response(body, status, media, self.headers)


def bad_request(message: str) -> RequestRefused:
    """A 400 for a request that is not well-formed GraphQL over HTTP."""
    return RequestRefused(400, "BAD_REQUEST", message)


def bearer_token(headers: Headers) -> str | None:
    """The token of an `Authorization: Bearer …` header, if any ("" for another scheme)."""
    value = headers.get("authorization")
    if not value:
        return None
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def request_id_of(headers: Headers) -> str:
    """The client's `X-Request-Id` if it is sane, else a new one (random, not secret: no system
    call for it on every request)."""
    given = headers.get("x-request-id", "")
    return given if given and REQUEST_ID.fullmatch(given) else f"{random.getrandbits(128):032x}"


def response_media_type(accept: str | None) -> str | None:
    """The media type to answer in: the client's preference, JSON by default, None if neither."""
    if not accept:
        return JSON
    best, best_q = None, 0.0
    for item in accept.split(","):
        media, *params = (part.strip().lower() for part in item.split(";"))
        offered = GRAPHQL_RESPONSE if media == GRAPHQL_RESPONSE else None
        if media in (JSON, "application/*", "*/*"):
            offered = JSON
        q = next((_quality(p[2:]) for p in params if p.startswith("q=")), 1.0)
        better = q > best_q or (q == best_q and offered == GRAPHQL_RESPONSE)
        if offered and q > 0 and better:
            best, best_q = offered, q
    return best


def _quality(value: str) -> float:
    """An Accept q-value (0 when malformed)."""
    try:
        return float(value)
    except ValueError:
        return 0.0


def json_depth(raw: bytes) -> int:
    """The deepest nesting of arrays and objects in a JSON text, found without parsing it."""
    brackets = JSON_STRING.sub(b"", raw).translate(None, NOT_BRACKETS)
    return max(accumulate(map(BRACKET_STEP.__getitem__, brackets)), default=0)


def has_lone_surrogate(value: Any) -> bool:
    """Whether any string (or key) inside a decoded JSON value holds a lone surrogate."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if LONE_SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def retry_after_header(extensions: list[dict[str, Any]]) -> dict[str, str]:
    """`Retry-After` with the longest wait among RATE_LIMITED errors, if any."""
    waits = [e.get("retryAfter", 1) for e in extensions if e.get("code") == "RATE_LIMITED"]
    return {"Retry-After": str(max(1, math.ceil(max(waits))))} if waits else {}


def json_response(
    body: dict[str, Any], status: int, media: str, headers: dict[str, str] | None = None
) -> Response:
    """A UTF-8 JSON response in the negotiated media type."""
    content = orjson.dumps(body)  # compact UTF-8, as json.dumps(ensure_ascii=False) but faster
    return Response(content, status, headers, media_type=f"{media}; charset=utf-8")


async def verify_bearer(services: Services, token: str, address: str) -> Principal:
    """The principal of a bearer token (HTTP header or WebSocket init), or a 401 refusal.

    Refused tokens count against the client address; an address over its budget is refused
    whatever it sends.
    """
    limiter = services.limiter
    if (wait := await limiter.auth_blocked(address)) is not None:
        raise RequestRefused.of(_too_many_refused_tokens(wait))
    try:
        if not token:
            raise AuthenticationError("INVALID_TOKEN", "Use `Authorization: Bearer <ID token>`.")
        return await services.verifier.verify(token)
    except AuthenticationError as error:
        counted = error.code not in UNCOUNTED_AUTH_FAILURES
        if counted and (wait := await limiter.auth_failed(address)) is not None:
            raise RequestRefused.of(_too_many_refused_tokens(wait)) from None
        raise RequestRefused(
            401, error.code, error.message, {"WWW-Authenticate": "Bearer"}
        ) from None


class GraphQLEndpoint:
    """The ASGI endpoint at /graphql (GET for queries, POST for everything)."""

    def __init__(
        self,
        schema: Any,
        services: Services,
        limits: HttpLimits,
        graphiql_page: Callable[[], str] | None = None,
    ) -> None:
        self.schema = schema
        self.services = services
        self.limits = limits
        self.graphiql_page = graphiql_page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one HTTP request; a fault anywhere is masked and logged with the request id."""
        request = Request(scope, receive)
        request_id = request_id_of(request.headers)
        media = response_media_type(request.headers.get("accept"))
        try:
            try:
                response = await self.respond(request, request_id, media)
            except PublicError as error:
                raise RequestRefused.of(error) from None
        except RequestRefused as refused:
            code = refused.extensions["code"]
            log.info("refused %s %s (request %s)", refused.status, code, request_id)
            response = refused.response(media or JSON)
        except Exception:
            log.exception("Unexpected error (request %s)", request_id)
            body = {"errors": [{"message": MASKED_MESSAGE, "extensions": _fault(request_id)}]}
            response = json_response(body, 500, media or JSON)
        response.headers["X-Request-Id"] = request_id
        await response(scope, receive, send)

    async def respond(self, request: Request, request_id: str, media: str | None) -> Response:
        """Check the request, authenticate, read and execute it."""
        method = request.method
        if (
            method == "GET"
            and self.graphiql_page
            and "text/html" in request.headers.get("accept", "")
        ):
            return HTMLResponse(self.graphiql_page())
        if method not in ("GET", "POST"):
            raise RequestRefused(
                405, "METHOD_NOT_ALLOWED", "Use GET or POST.", {"Allow": "GET, POST"}
            )
        if media is None:
            raise RequestRefused(406, "NOT_ACCEPTABLE", f"Accept {GRAPHQL_RESPONSE} or {JSON}.")
        if method == "POST":
            self._check_post_headers(request.headers)
        principal, token = await self.authenticate(request)
        params = await self._post_params(request) if method == "POST" else self._get_params(request)
        return await self._execute(request, params, principal, token, request_id, media)

    def _check_post_headers(self, headers: Headers) -> None:
        """A JSON body in UTF-8, no larger than allowed (as far as the headers tell)."""
        media, *params = (p.strip().lower() for p in headers.get("content-type", "").split(";"))
        charset = next((p[8:].strip('"') for p in params if p.startswith("charset=")), "utf-8")
        if media != JSON or charset != "utf-8":
            raise RequestRefused(
                415, "UNSUPPORTED_MEDIA_TYPE", "Send the request as application/json (UTF-8)."
            )
        length = headers.get("content-length")
        if length is not None and not length.isdigit():
            raise bad_request("Content-Length is not a number.")
        if length is not None and int(length) > self.limits.max_body_bytes:
            raise self._too_large()

    async def authenticate(self, request: Request) -> tuple[Principal | None, str | None]:
        """Verify the bearer token, if any; a bad one is refused with 401 before anything runs."""
        token = bearer_token(request.headers)
        if token is None:
            return None, None
        address = request.client.host if request.client else ""
        return await verify_bearer(self.services, token, address), token

    async def _read_body(self, request: Request) -> bytes:
        """The body, refused once it exceeds the size cap or misses the deadline."""
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.limits.body_timeout_seconds):
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > self.limits.max_body_bytes:
                        raise self._too_large()
                    chunks.append(chunk)
        except ClientDisconnect:
            raise bad_request("The client went away before sending the whole body.") from None
        except TimeoutError:
            raise RequestRefused(
                408,
                "REQUEST_TIMEOUT",
                f"The body did not arrive within {self.limits.body_timeout_seconds:g} s.",
                {"Connection": "close"},
            ) from None
        return b"".join(chunks)

    def _too_large(self) -> RequestRefused:
        """The 413 for a body over the cap (the connection closes: the rest is not read)."""
        return RequestRefused(
            413,
            "PAYLOAD_TOO_LARGE",
            f"The body is larger than {self.limits.max_body_bytes} bytes.",
            {"Connection": "close"},
        )

    def _json(self, raw: bytes | str, what: str) -> Any:
        """Decode JSON after checking its depth; lone surrogates are refused."""
        data = raw.encode() if isinstance(raw, str) else raw
        limit = self.limits.max_json_depth
        # each level opens a bracket: a text with fewer brackets cannot be nested deeper
        if data.count(b"{") + data.count(b"[") > limit and json_depth(data) > limit:
            raise bad_request(f"The {what} is nested deeper than {self.limits.max_json_depth}.")
        try:
            value = json.loads(data.decode("utf-8"))
        except ValueError:  # also UnicodeDecodeError and over-long numbers
            raise bad_request(f"The {what} is not valid UTF-8 JSON.") from None
        # strict UTF-8 holds no surrogates: only a `\\u` escape can make one
        if b"\\u" in data and has_lone_surrogate(value):
            raise bad_request(f"The {what} holds a lone surrogate (\\ud800-\\udfff).")
        return value

    async def _post_params(self, request: Request) -> GraphQLParams:
        """The parameters of a POST body."""
        body = await self._read_body(request)
        if not body:
            raise bad_request('The body is empty: send {"query": …}.')
        data = self._json(body, "body")
        if not isinstance(data, dict):
            raise bad_request("The body must be a JSON object.")
        return self._params(data)

    def _get_params(self, request: Request) -> GraphQLParams:
        """The parameters of a GET query string (variables and extensions as JSON text)."""
        data: dict[str, Any] = dict(request.query_params)
        for name in ("variables", "extensions"):
            if name in data:
                data[name] = self._json(data[name], name)
        return self._params(data)

    def _params(self, data: dict[str, Any]) -> GraphQLParams:
        """Check the parameter types and the query length."""
        query, variables = data.get("query"), data.get("variables")
        operation_name, extensions = data.get("operationName"), data.get("extensions")
        if not isinstance(query, str) or not query:
            raise bad_request("Send the operation as the string parameter `query`.")
        if not isinstance(variables, dict | None) or not isinstance(extensions, dict | None):
            raise bad_request("`variables` and `extensions` must be JSON objects.")
        if not isinstance(operation_name, str | None):
            raise bad_request("`operationName` must be a string.")
        if has_lone_surrogate([query, operation_name]):
            raise bad_request("The query holds a lone surrogate (\\ud800-\\udfff).")
        if len(query) > self.limits.max_query_length:
            raise RequestRefused(
                400,
                "QUERY_TOO_LARGE",
                f"The query is longer than {self.limits.max_query_length} characters.",
                request_error=True,
            )
        return GraphQLParams(query, variables, operation_name)

    async def _execute(
        self,
        request: Request,
        params: GraphQLParams,
        principal: Principal | None,
        token: str | None,
        request_id: str,
        media: str,
    ) -> Response:
        """Run the operation with a fresh context (its loaders borrow connections per read)."""
        context = self.context(request, principal, token, request_id)
        allowed = (
            {OperationType.QUERY}
            if request.method == "GET"
            else {OperationType.QUERY, OperationType.MUTATION}
        )
        try:
            result = await self.schema.execute(
                params.query,
                variable_values=params.variables,
                context_value=context,
                operation_name=params.operation_name,
                allowed_operation_types=allowed,
            )
        except InvalidOperationTypeError as error:
            if error.operation_type == OperationType.MUTATION:
                raise RequestRefused(
                    405, "METHOD_NOT_ALLOWED", "Mutations need POST.", {"Allow": "POST"}
                ) from None
            raise bad_request(
                "Subscriptions are served over WebSocket (graphql-transport-ws) at this path."
            ) from None
        except CannotGetOperationTypeError as error:
            raise RequestRefused(
                400,
                "OPERATION_RESOLUTION_FAILURE",
                error.as_http_error_reason(),
                request_error=True,
            ) from None
        except MissingQueryError:
            raise bad_request("Send the operation as the string parameter `query`.") from None
        return result_response(result, media)

    def context(
        self,
        request: HTTPConnection,
        principal: Principal | None,
        token: str | None,
        request_id: str,
    ) -> Context:
        """The typed per-request context (a WebSocket's subscriptions get one each)."""
        services = self.services
        return Context(
            services=services,
            principal=principal,
            token=token,
            loaders=Loaders(
                services.database, services.rules, services.clock.now(), services.option_labels
            ),
            request=request,
            request_id=request_id,
            client_ip=request.client.host if request.client else None,
        )


def _fault(request_id: str) -> dict[str, str]:
    """The extensions of a masked fault."""
    return {"code": INTERNAL_SERVER_ERROR, "requestId": request_id}


def result_response(result: ExecutionResult, media: str) -> Response:
    """The response for an execution result, with the status the GraphQL-over-HTTP spec asks."""
    errors: list[GraphQLError] = result.errors or []
    formatted = [error.formatted for error in errors]
    # Errors raised before execution have no response path; then the answer has no data.
    failed_early = result.data is None and bool(errors) and all(e.path is None for e in errors)
    body: dict[str, Any] = {} if failed_early else {"data": result.data}
    if formatted:
        body["errors"] = formatted
    if result.extensions:
        body["extensions"] = result.extensions
    codes = {error_code(error) for error in errors}
    headers = retry_after_header([e.get("extensions") or {} for e in formatted])
    if headers:
        status = 429
    elif failed_early and INTERNAL_SERVER_ERROR in codes:
        status = 500
    elif failed_early and media == GRAPHQL_RESPONSE:
        status = 400
    else:
        status = 200
    return json_response(body, status, media, headers)
