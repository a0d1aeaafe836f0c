"""Contract-test fixtures: one real Firebase Auth emulator per test session."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from scripts.firebase_emulator import AuthEmulator, free_port, require_firebase_cli, start_emulator
from tests.contract.tokens import SigningKey, make_signing_key


@pytest.fixture(scope="session")
def firebase_emulator() -> Iterator[AuthEmulator]:
    """Start the Auth emulator on a free port for the session; fail (never skip) without it."""
    # A missing CLI is a broken setup, not an optional extra: the test command installs it.
    require_firebase_cli()
    emulator = start_emulator(free_port())
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture(scope="module")
def google_key() -> SigningKey:
    """The key the test certificate server publishes."""
    return make_signing_key("test-key-1")


@pytest.fixture(scope="module")
def cert_url(google_key: SigningKey) -> Iterator[str]:
    """Serve {kid: certificate} like Google's securetoken endpoint, on 127.0.0.1."""
    body = json.dumps({google_key.kid: google_key.cert_pem}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Cache-Control", "public, max-age=3600")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/robot/v1/metadata/x509/securetoken"
    server.shutdown()
    server.server_close()
