"""A fake FCM server on 127.0.0.1 speaking the HTTP v1 API as firebase-admin's `send_each` uses it.

`send_each` posts every message on its own to `/v1/projects/<project>/messages:send` (from a
pool of threads), with `{"message": {"token": …, "notification": …, "data": …}}`. The fake
answers by the token's prefix, like FCM would for such tokens:

- `ok-…`: 200 with a message name;
- `gone-…`: 404 UNREGISTERED (an uninstalled app);
- `bad-…`: 400 INVALID_ARGUMENT, "not a valid FCM registration token" (field `message.token`);
- `refused-…`: 400 INVALID_ARGUMENT about the message, not the token;
- `busy-…`: 429 QUOTA_EXCEEDED with `Retry-After: 30` the first time, then 200;
- `down-…`: 500 INTERNAL every time.

It counts deliveries per (notification id, token), so tests can assert "at least once" and
"never twice", and can hold each answer for a while (to stop a sender in the middle of a batch).
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FCM_ERROR = "type.googleapis.com/google.firebase.fcm.v1.FcmError"


class _Server(ThreadingHTTPServer):
    """A threading server with room for firebase-admin's 500 connections at once."""

    request_queue_size = 1024
    daemon_threads = True


class FakeFcm:
    """The server's state: what was delivered and how often, and how slowly to answer."""

    def __init__(self) -> None:
        self.delivered: Counter[tuple[str, str]] = Counter()  # (notificationId, token) -> 200s
        self.requests = 0
        self.delay = 0.0
        self.paths: set[str] = set()
        self._seen: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        """The URL firebase-admin posts to (as `_fcm_url`)."""
        return f"http://127.0.0.1:{self._server.server_port}/v1/projects/demo-rewards/messages:send"

    def start(self) -> FakeFcm:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()

    def answer(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
        """Status, JSON body and headers for one posted message."""
        message = body["message"]
        token = message["token"]
        with self._lock:
            self.requests += 1
            self.paths.add(path)
            self._seen[token] += 1
            first = self._seen[token] == 1
        if token.startswith("gone-"):
            return _error(404, "NOT_FOUND", "Requested entity was not found.", "UNREGISTERED")
        if token.startswith("bad-"):
            return _bad_token()
        if token.startswith("refused-"):
            return _error(400, "INVALID_ARGUMENT", "Message is too big.", "INVALID_ARGUMENT")
        if token.startswith("busy-") and first:
            status, payload, _ = _error(
                429, "RESOURCE_EXHAUSTED", "Quota exceeded.", "QUOTA_EXCEEDED"
            )
            return status, payload, {"Retry-After": "30"}
        if token.startswith("down-"):
            return _error(500, "INTERNAL", "Internal error.", "INTERNAL")
        with self._lock:
            self.delivered[(message.get("data", {}).get("notificationId", ""), token)] += 1
            number = sum(self.delivered.values())
        return 200, {"name": f"projects/demo-rewards/messages/{number}"}, {}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        """The request handler bound to this fake."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as FCM

            def do_POST(self) -> None:
                """Answer one `messages:send`."""
                length = int(self.headers["Content-Length"])
                body = json.loads(self.rfile.read(length))
                if fake.delay:
                    time.sleep(fake.delay)
                status, payload, headers = fake.answer(self.path, body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                """Quiet."""

        return Handler


def _error(
    status: int, code: str, message: str, fcm_code: str, extra: list[dict[str, Any]] | None = None
) -> tuple[int, dict[str, Any], dict[str, str]]:
    """An FCM v1 error body (google.rpc.Status with an FcmError detail)."""
    details = [{"@type": FCM_ERROR, "errorCode": fcm_code}, *(extra or [])]
    return (
        status,
        {"error": {"code": status, "message": message, "status": code, "details": details}},
        {},
    )


def _bad_token() -> tuple[int, dict[str, Any], dict[str, str]]:
    """FCM's answer to a token that is not one."""
    violation = {
        "@type": "type.googleapis.com/google.rpc.BadRequest",
        "fieldViolations": [
            {"field": "message.token", "description": "Invalid registration token"}
        ],
    }
    return _error(
        400,
        "INVALID_ARGUMENT",
        "The registration token is not a valid FCM registration token",
        "INVALID_ARGUMENT",
        [violation],
    )
