"""Errors as data: one error type and code enum per mutation, and the few top-level errors."""

# No `from __future__ import annotations`: the error types are built at run time and
# strawberry must see real annotation objects, not names local to payload_error.
import enum
from collections.abc import Iterable
from typing import Any

import strawberry
from graphql import GraphQLError

from backend.rewards.errors import DomainError


class PublicError(Exception):
    """A top-level error the client may see (unauthenticated, forbidden); everything else is masked."""

    def __init__(self, code: str, message: str, **extensions: Any) -> None:
        super().__init__(message)
        self.extensions = {"code": code, **extensions}


def should_mask(error: GraphQLError) -> bool:
    """Mask unexpected exceptions; keep syntax, validation and public errors readable."""
    original = error.original_error
    return original is not None and not isinstance(original, PublicError)


def payload_error(name: str, codes: Iterable[str], what: str) -> Any:
    """Build `<name>ErrorCode` and `<name>Error { code field message }` for one mutation."""
    code_enum = strawberry.enum(
        enum.Enum(f"{name}ErrorCode", {c: c for c in codes}),  # type: ignore[misc]
        description=f"Why {what} was refused.",
    )

    @strawberry.type(
        name=f"{name}Error", description=f"A reason {what} was refused; nothing was changed."
    )
    class PayloadError:
        code: code_enum = strawberry.field(description="Machine-readable reason.")  # type: ignore[valid-type]
        field: str | None = strawberry.field(
            description="The input field at fault (dotted path, camelCase), if one is."
        )
        message: str = strawberry.field(description="Human-readable explanation, safe to show.")

        @classmethod
        def of(cls, error: DomainError) -> Any:
            """Convert a domain error; a code the mutation does not declare is a bug."""
            return cls(code=code_enum[error.code], field=error.field, message=error.message)

    return PayloadError
