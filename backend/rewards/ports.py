"""Ports: the small protocols the domain and the API depend on, implemented by adapters and fakes."""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from backend.rewards.events import MemberEvent


class Role(enum.StrEnum):
    """Who is calling: a member (the default), a store system, or staff (marketing, admin, support)."""

    MEMBER = "member"
    INTEGRATION = "integration"
    MARKETING = "marketing"
    ADMIN = "admin"
    SUPPORT = "support"

    @classmethod
    def from_claim(cls, value: object) -> Role | None:
        """Map the `role` custom claim to a role; no claim means member, an unknown one None."""
        if value is None:
            return cls.MEMBER
        try:
            return cls(str(value))
        except ValueError:
            return None

    @property
    def is_staff(self) -> bool:
        """Marketing and admin may steer the program (and change balances)."""
        return self in (Role.MARKETING, Role.ADMIN)

    @property
    def reads_members(self) -> bool:
        """Staff who may look members up and read their data: marketing, admin and support."""
        return self.is_staff or self == Role.SUPPORT


@dataclass(frozen=True)
class Principal:
    """A verified caller: the Firebase uid, its role and the token's claims."""

    uid: str
    role: Role
    email: str | None = None
    claims: dict[str, Any] = field(default_factory=dict)


class AuthenticationError(Exception):
    """A token was missing, malformed, expired, revoked or otherwise not acceptable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class TokenVerifier(Protocol):
    """Verifies bearer ID tokens and, for sensitive actions, that the user is still active."""

    async def verify(self, token: str) -> Principal:
        """Return the principal of a valid token or raise AuthenticationError."""
        ...

    async def ensure_active(
        self, principal: Principal, token: str, *, allow_cached: bool = False
    ) -> None:
        """Raise AuthenticationError if the token was revoked or the user disabled.

        With `allow_cached`, a recent successful check of the same token may stand in for a new one
        (reads); without it the answer is always fresh (changes to balances).
        """
        ...


class Clock(Protocol):
    """The time source; tests move it, production reads the system clock."""

    def now(self) -> datetime:
        """Return the current time, timezone-aware in UTC."""
        ...


class RateLimiter(Protocol):
    """Counts actions per caller and says how long to wait once a caller is over its limit."""

    async def hit(self, action: str, identity: str) -> int | None:
        """Count one `action` by `identity`: None if allowed, else whole seconds to wait."""
        ...

    async def auth_blocked(self, address: str) -> int | None:
        """Seconds a client address must still wait after too many refused tokens, or None."""
        ...

    async def auth_failed(self, address: str) -> int | None:
        """Count a refused token from `address`: seconds to wait if it was one too many, or None."""
        ...

    async def hit_address(self, action: str, address: str) -> int | None:
        """Count one `action` from a client address (an IPv6 one per /64), as `hit` does."""
        ...


class ConnectionSlots(Protocol):
    """Open connections per member or client address, each kind held to a cap."""

    async def acquire(
        self, kind: Literal["member", "address"], identity: str, limit: int
    ) -> str | None:
        """Hold a slot if fewer than `limit` of this identity's are held: its id, else None."""
        ...

    async def release(self, slot: str) -> None:
        """Give a slot back (the connection closed)."""
        ...

    async def close(self) -> None:
        """Give back every slot this process holds and stop."""
        ...


@dataclass(frozen=True)
class PushMessage:
    """One push to one device: the texts, and data the app reads (the notification id to dedupe)."""

    token: str
    title: str
    body: str
    data: dict[str, str]


class PushOutcome(enum.StrEnum):
    """What the push service said about one message."""

    SENT = "sent"
    UNREGISTERED = "unregistered"  # the token is gone or invalid: delete the device
    TRANSIENT = "transient"  # try again later (429, 5xx, unavailable, network)
    FAILED = "failed"  # the message itself was refused: trying again would not help


@dataclass(frozen=True)
class PushResult:
    """The answer for one message: a message id when sent, else why not (and a wait, if asked)."""

    outcome: PushOutcome
    message_id: str | None = None
    error: str | None = None
    retry_after: float | None = None


class PushSender(Protocol):
    """Sends pushes (FCM, or a log line locally); answers one result per message, in order."""

    max_batch: int

    async def send(self, messages: list[PushMessage]) -> list[PushResult]:
        """Send up to `max_batch` messages; a failure of the whole call is a TRANSIENT per message."""
        ...


class EventPublisher(Protocol):
    """Hands the events of a committed transaction to live subscribers (the unit of work's seam)."""

    async def publish(self, events: Sequence[MemberEvent]) -> None:
        """Deliver or forward the events; never raises (a live update is a hint, not a record)."""
        ...


class LiveEvents(EventPublisher, Protocol):
    """Fan-out of member events to the subscriptions open on every worker."""

    def subscribe(self, member_id: int) -> AbstractAsyncContextManager[AsyncIterator[MemberEvent]]:
        """Receive the member's events from now on, until the block is left."""
        ...

    async def close(self) -> None:
        """Stop listening (at shutdown)."""
        ...
