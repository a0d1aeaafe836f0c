"""GraphQL over WebSocket (the graphql-transport-ws protocol of `graphql-ws`) at /graphql.

A thin server over `schema.subscribe`: the client opens with `connection_init`, whose payload
carries the same bearer token as HTTP (`{"Authorization": "Bearer <ID token>"}`), checked by the
same verifier and refused-token budget; only members are acknowledged (the one subscription is
the member's own). Each `subscribe` runs as a task of its own; `complete` or the socket closing
ends it. Close codes are the protocol's: 4400 bad message, 4401 subscribe before the ack, 4403
refused (the reason is the error code, e.g. `TOKEN_EXPIRED`; also when the token expires while
connected), 4406 wrong subprotocol, 4408 no `connection_init` in time, 4409 a subscription id
already in use, 4429 a second `connection_init`, too many connection attempts from the address
(`RATE_LIMITED`) or too many open connections of the member or the address
(`TOO_MANY_CONNECTIONS`, `TOO_MANY_ADDRESS_CONNECTIONS`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import time
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect
from strawberry.types.execution import ExecutionResult, PreExecutionError

from backend.api.context import Context
from backend.api.errors import INTERNAL_SERVER_ERROR, MASKED_MESSAGE, PublicError
from backend.api.view import (
    GraphQLEndpoint,
    RequestRefused,
    has_lone_surrogate,
    json_depth,
    verify_bearer,
)
from backend.rewards.ports import ConnectionSlots, Principal, Role

log = logging.getLogger("rewards.api")

PROTOCOL = "graphql-transport-ws"
MAX_ID_LENGTH = 128


@dataclass(frozen=True)
class SocketLimits:
    """How long a client may take to sign in, subscriptions per socket, open sockets per caller."""

    init_timeout_seconds: float = 10.0
    max_subscriptions: int = 10
    max_per_member: int = 5
    max_per_address: int = 500


class Close(Exception):
    """End the connection with this close code and reason."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        # A close reason holds at most 123 bytes of UTF-8.
        self.code, self.reason = code, reason.encode()[:123].decode(errors="ignore")


def bad_message(reason: str = "Invalid message received") -> Close:
    """The protocol's close for a message it does not understand."""
    return Close(4400, reason)


def _token(payload: Any) -> str | None:
    """The bearer token of a `connection_init` payload, "" for another scheme, None for none."""
    if not isinstance(payload, dict):
        return None
    value = payload.get("Authorization", payload.get("authorization"))
    if not isinstance(value, str):
        return None
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


class GraphQLWebSocket:
    """The ASGI endpoint for WebSocket connections to /graphql."""

    def __init__(self, http: GraphQLEndpoint, limits: SocketLimits, slots: ConnectionSlots) -> None:
        self.http = http  # its schema, services, limits and context
        self.limits = limits
        self.slots = slots  # open connections per member and per address, on every worker

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Accept the protocol and serve the connection until either side closes it."""
        websocket = WebSocket(scope, receive, send)
        if PROTOCOL not in websocket.scope.get("subprotocols", []):
            await websocket.accept()
            await websocket.close(4406, "Subprotocol not acceptable")
            return
        await websocket.accept(subprotocol=PROTOCOL)
        await _Connection(self, websocket).serve()


class _Connection:
    """One socket: its principal and its running subscriptions."""

    def __init__(self, endpoint: GraphQLWebSocket, websocket: WebSocket) -> None:
        self.endpoint = endpoint
        self.websocket = websocket
        self.principal: Principal | None = None
        self.token: str | None = None
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.sending = asyncio.Lock()
        self.slots: list[str] = []  # held while the socket is open
        client = websocket.client
        self.address = client.host if client else ""

    async def serve(self) -> None:
        """Sign in, then answer messages until the client leaves, the token expires or a close."""
        try:
            await self.admit()
            try:
                async with asyncio.timeout(self.endpoint.limits.init_timeout_seconds):
                    await self.sign_in()
            except TimeoutError:
                raise Close(4408, "Connection initialisation timeout") from None
            try:
                async with asyncio.timeout(self.seconds_left()):
                    while True:
                        await self.handle(await self.receive())
            except TimeoutError:
                raise Close(4403, "TOKEN_EXPIRED") from None
        except Close as close:
            log.info("websocket closed %s %s", close.code, close.reason)
            with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                await self.websocket.close(close.code, close.reason)
        except WebSocketDisconnect:
            pass
        finally:
            for task in self.tasks.values():
                task.cancel()
            for slot in self.slots:
                await self.endpoint.slots.release(slot)

    async def admit(self) -> None:
        """Count the attempt against the address, and hold one of the address's open slots."""
        limiter = self.endpoint.http.services.limiter
        if await limiter.hit_address("websocket_connect", self.address) is not None:
            raise Close(4429, "RATE_LIMITED")
        limit = self.endpoint.limits.max_per_address
        await self.hold("address", self.address, limit, "TOO_MANY_ADDRESS_CONNECTIONS")

    async def hold(
        self, kind: Literal["member", "address"], who: str, limit: int, code: str
    ) -> None:
        """Hold an open-connection slot, or close with 4429 and the code."""
        slot = await self.endpoint.slots.acquire(kind, who, limit)
        if slot is None:
            raise Close(4429, code)
        self.slots.append(slot)

    async def receive(self) -> dict[str, Any]:
        """The next message: a JSON object with a string `type`, within the HTTP body limits."""
        message = await self.websocket.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        text = message.get("text")
        if text is None:
            raise bad_message("Send text messages")
        limits = self.endpoint.http.limits
        if len(text) > limits.max_body_bytes:
            raise Close(1009, "Message too big")
        if json_depth(text.encode()) > limits.max_json_depth:
            raise bad_message("Message nested too deeply")
        try:
            data = json.loads(text)
        except ValueError:
            raise bad_message() from None
        if not isinstance(data, dict) or not isinstance(data.get("type"), str):
            raise bad_message()
        if has_lone_surrogate(data):
            raise bad_message("Message holds a lone surrogate")
        return data

    async def sign_in(self) -> None:
        """Wait for `connection_init` (answering pings), verify its token, acknowledge a member."""
        while True:
            message = await self.receive()
            kind = message["type"]
            if kind == "connection_init":
                break
            if kind == "subscribe":
                raise Close(4401, "Unauthorized")
            if kind == "ping":
                await self.send({"type": "pong"})
            elif kind != "pong":
                raise bad_message()
        token = _token(message.get("payload"))
        if token is None:
            raise Close(4403, "UNAUTHENTICATED")
        try:
            principal = await verify_bearer(self.endpoint.http.services, token, self.address)
        except RequestRefused as refused:
            raise Close(4403, str(refused.extensions["code"])) from None
        except PublicError as error:
            raise Close(4403, str(error.extensions["code"])) from None
        if principal.role is not Role.MEMBER:
            raise Close(4403, "FORBIDDEN")
        limit = self.endpoint.limits.max_per_member
        await self.hold("member", principal.uid, limit, "TOO_MANY_CONNECTIONS")
        self.principal, self.token = principal, token
        await self.send({"type": "connection_ack"})

    def seconds_left(self) -> float | None:
        """Seconds until the token expires (None if it does not say)."""
        assert self.principal is not None
        expires = self.principal.claims.get("exp")
        if not isinstance(expires, int | float) or not math.isfinite(expires):
            return None
        return max(0.0, float(expires) - time.time())

    async def handle(self, message: dict[str, Any]) -> None:
        """Answer one message after the ack."""
        kind = message["type"]
        if kind == "connection_init":
            raise Close(4429, "Too many initialisation requests")
        if kind == "ping":
            await self.send({"type": "pong"})
        elif kind == "subscribe":
            await self.subscribe(message)
        elif kind == "complete":
            task = self.tasks.pop(str(message.get("id")), None)
            if task is not None:
                task.cancel()
        elif kind != "pong":
            raise bad_message()

    async def subscribe(self, message: dict[str, Any]) -> None:
        """Start a subscription, or answer why not."""
        sub_id, payload = message.get("id"), message.get("payload")
        if not isinstance(sub_id, str) or not 0 < len(sub_id) <= MAX_ID_LENGTH:
            raise bad_message("Invalid subscription id")
        if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
            raise bad_message("Invalid subscribe payload")
        variables, name = payload.get("variables"), payload.get("operationName")
        if not isinstance(variables, dict | None) or not isinstance(name, str | None):
            raise bad_message("Invalid subscribe payload")
        if sub_id in self.tasks:
            raise Close(4409, f"Subscriber for {sub_id} already exists")
        limits, query = self.endpoint.limits, payload["query"]
        if len(self.tasks) >= limits.max_subscriptions:
            await self.refuse(
                sub_id,
                "TOO_MANY_SUBSCRIPTIONS",
                f"At most {limits.max_subscriptions} subscriptions per connection.",
            )
        elif len(query) > self.endpoint.http.limits.max_query_length:
            await self.refuse(sub_id, "QUERY_TOO_LARGE", "The query is too long.")
        else:
            self.tasks[sub_id] = asyncio.create_task(self.run(sub_id, query, variables, name))

    async def run(
        self, sub_id: str, query: str, variables: dict[str, Any] | None, name: str | None
    ) -> None:
        """Stream one subscription's results as `next` messages, then `complete`."""
        request_id = uuid.uuid4().hex
        context = self.context(request_id)
        try:
            results = await self.endpoint.http.schema.subscribe(
                query, variable_values=variables, context_value=context, operation_name=name
            )
            async with contextlib.aclosing(results):
                async for result in results:
                    if isinstance(result, PreExecutionError):
                        errors = [e.formatted for e in result.errors or []]
                        await self.send({"type": "error", "id": sub_id, "payload": errors})
                        return
                    await self.send({"type": "next", "id": sub_id, "payload": _body(result)})
            await self.send({"type": "complete", "id": sub_id})
        except (WebSocketDisconnect, RuntimeError):
            pass  # the client went away mid-send
        except Exception:
            log.exception("Unexpected error in a subscription (request %s)", request_id)
            with contextlib.suppress(WebSocketDisconnect, RuntimeError):
                await self.send({"type": "error", "id": sub_id, "payload": [_fault(request_id)]})
        finally:
            if self.tasks.get(sub_id) is asyncio.current_task():
                del self.tasks[sub_id]

    def context(self, request_id: str) -> Context:
        """A subscription's context: the connection's principal; its loaders stay unused."""
        return self.endpoint.http.context(self.websocket, self.principal, self.token, request_id)

    async def refuse(self, sub_id: str, code: str, message: str) -> None:
        """Answer a subscribe with an `error` (the operation ends; the connection stays)."""
        log.info("refused subscription %s", code)
        error = {"message": message, "extensions": {"code": code}}
        await self.send({"type": "error", "id": sub_id, "payload": [error]})

    async def send(self, message: dict[str, Any]) -> None:
        """Send one message (subscriptions send from their own tasks, one frame at a time)."""
        async with self.sending:
            await self.websocket.send_text(json.dumps(message, ensure_ascii=False))


def _body(result: ExecutionResult) -> dict[str, Any]:
    """The `next` payload of one result."""
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        body["errors"] = [e.formatted for e in result.errors]
    return body


def _fault(request_id: str) -> dict[str, Any]:
    """A masked fault, as an `error` message's payload item."""
    return {
        "message": MASKED_MESSAGE,
        "extensions": {"code": INTERNAL_SERVER_ERROR, "requestId": request_id},
    }
