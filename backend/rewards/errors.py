"""Domain errors: each carries a stable code the API turns into a typed payload error."""

from __future__ import annotations


class DomainError(Exception):
    """A refused request: nothing was changed; `code` says why, `field` points at the input."""

    def __init__(self, code: str, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


class NotFound(DomainError):
    """The thing asked for does not exist, or is not the caller's to see."""


class IdempotencyConflict(DomainError):
    """The idempotency key (named by `field`) was used before with a different payload."""

    def __init__(self, *, field: str) -> None:
        super().__init__(
            "IDEMPOTENCY_CONFLICT",
            f"This {field} was already used for a different request.",
            field=field,
        )


class InsufficientPoints(DomainError):
    """A debit asked for more points than the member can spend."""

    def __init__(self, *, needed: int, available: int) -> None:
        super().__init__(
            "INSUFFICIENT_POINTS",
            f"{needed} points are needed but only {available} can be spent.",
            field="points",
        )
