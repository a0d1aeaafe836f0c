"""Fakes for the ports: a token verifier that trusts `role:uid` tokens, a push port that records."""

from __future__ import annotations

from backend.rewards.ports import (
    AuthenticationError,
    Principal,
    PushMessage,
    PushOutcome,
    PushResult,
    Role,
)


class FakeVerifier:
    """Accepts tokens written `role:uid` (e.g. `member:alice`); `expired` has expired; others are refused."""

    def __init__(self) -> None:
        self.revoked: set[str] = set()
        self.active_checks = 0
        self.checks: list[tuple[str, bool]] = []  # (uid, allow_cached) of every active check

    async def verify(self, token: str) -> Principal:
        """Parse a fake token."""
        if token == "expired":
            raise AuthenticationError("TOKEN_EXPIRED", "The token has expired.")
        role_name, _, uid = token.partition(":")
        role = Role.from_claim(role_name)
        if not uid or role is None:
            raise AuthenticationError("INVALID_TOKEN", "The token is not valid.")
        return Principal(uid=uid, role=role, email=f"{uid}@example.com")

    async def ensure_active(
        self, principal: Principal, token: str, *, allow_cached: bool = False
    ) -> None:
        """Refuse revoked users (never from a cache: tests see every check)."""
        self.active_checks += 1
        self.checks.append((principal.uid, allow_cached))
        if principal.uid in self.revoked:
            raise AuthenticationError("TOKEN_REVOKED", "The token was revoked.")


class RecordingPush:
    """A push port that records every message and says each was sent."""

    max_batch = 500

    def __init__(self) -> None:
        self.messages: list[PushMessage] = []

    async def send(self, messages: list[PushMessage]) -> list[PushResult]:
        """Record the messages."""
        self.messages += messages
        return [PushResult(PushOutcome.SENT, message_id=f"m/{len(self.messages)}")] * len(messages)
