"""Contract-test fixtures: one real Firebase Auth emulator per test session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from scripts.firebase_emulator import AuthEmulator, free_port, require_firebase_cli, start_emulator


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
