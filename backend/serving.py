"""How `rewards serve` runs the app: uvicorn, with a deadline for every request head and the
per-WebSocket lines kept out of the log like the per-request ones."""

from __future__ import annotations

import asyncio
import copy
import functools
import logging
from typing import Any

from uvicorn.config import LOGGING_CONFIG
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from backend.settings import Settings


class HeadTimeoutProtocol(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol, closing connections whose request head is not complete in time.

    uvicorn times out idle keep-alive connections, but not a head sent slowly or never
    finished; without a deadline each such connection is held open for good.
    """

    _head_deadline: asyncio.TimerHandle | None = None

    def __init__(self, *args: Any, head_timeout_seconds: float = 10.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.head_timeout_seconds = head_timeout_seconds

    def connection_made(self, transport: Any) -> None:
        """Start the clock as soon as the client connects."""
        super().connection_made(transport)
        self._arm_head_deadline()

    def on_message_begin(self) -> None:
        """A new request on a kept-alive connection gets its own deadline."""
        super().on_message_begin()
        if self._head_deadline is None:
            self._arm_head_deadline()

    def on_headers_complete(self) -> None:
        """The head arrived: the body has its own deadline, kept by the app."""
        self._cancel_head_deadline()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        """Nothing left to time."""
        self._cancel_head_deadline()
        super().connection_lost(exc)

    def _arm_head_deadline(self) -> None:
        """Close the connection unless the head completes in time."""
        self._head_deadline = self.loop.call_later(self.head_timeout_seconds, self._head_timed_out)

    def _cancel_head_deadline(self) -> None:
        """Stop the clock."""
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_timed_out(self) -> None:
        """Drop the connection whose head never came."""
        self._head_deadline = None
        self.logger.info("closing a connection whose request head did not arrive in time")
        if not self.transport.is_closing():
            self.transport.close()


def head_timeout_protocol(seconds: float) -> Any:
    """The protocol factory to pass to uvicorn as `http=`, with this head deadline.

    A partial of a module-level class, so that it pickles into the worker processes.
    """
    return functools.partial(HeadTimeoutProtocol, head_timeout_seconds=seconds)


# What uvicorn and its `websockets` protocol log at INFO for every WebSocket (on "uvicorn.error").
WEBSOCKET_LINES = frozenset(
    {
        '%s - "WebSocket %s" [accepted]',
        '%s - "WebSocket %s" 403',
        '%s - "WebSocket %s" %d',
        "connection open",
        "connection closed",
    }
)


class WebSocketAccessFilter(logging.Filter):
    """Log uvicorn's per-WebSocket lines at DEBUG: they are access lines, one per phone."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Demote a WebSocket line to DEBUG (then shown only if DEBUG is); pass anything else."""
        if record.levelno != logging.INFO or record.msg not in WEBSOCKET_LINES:
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


def log_config(settings: Settings) -> dict[str, Any]:
    """uvicorn's logging; without ACCESS_LOG its per-WebSocket lines are DEBUG like the access log is off."""
    config = copy.deepcopy(LOGGING_CONFIG)
    if not settings.access_log:
        config["filters"] = {"websocket_access": {"()": WebSocketAccessFilter}}
        config["loggers"]["uvicorn.error"]["filters"] = ["websocket_access"]
    return config


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """How uvicorn runs the app for `rewards serve` (and for the benchmark)."""
    return {
        "log_level": "info",
        "log_config": log_config(settings),
        "access_log": settings.access_log,
        "http": head_timeout_protocol(settings.request_header_timeout_seconds),
        "ws_max_size": settings.max_body_bytes,  # a WebSocket message is held to the body limit
    }
