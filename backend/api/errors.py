"""Errors as data: one error type and code enum per mutation, and the few top-level errors.

Top-level errors: every client mistake carries `extensions.code` (tagged where it is found: the
parser, the validation rules, variable coercion, `PublicError`); anything without a code is a
real fault, masked as "Unexpected error." with a request id and logged with its traceback.
A database connection that could not be had within `DATABASE_POOL_TIMEOUT_SECONDS` is no fault
of the code: `SERVICE_BUSY`, nothing written, to be retried.
"""

# No `from __future__ import annotations`: the error types are built at run time and
# strawberry must see real annotation objects, not names local to payload_error.
import enum
import logging
from collections.abc import Iterable
from typing import Any

import strawberry
from graphql import GraphQLError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from strawberry.relay.types import InvalidGlobalIDError
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.execution import ExecutionContext

from backend.api.lean import LeanExecutor
from backend.rewards.errors import DomainError

log = logging.getLogger("rewards.api")

BAD_USER_INPUT = "BAD_USER_INPUT"
INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"
MASKED_MESSAGE = "Unexpected error."
SERVICE_BUSY = "SERVICE_BUSY"
BUSY_MESSAGE = "The service is busy; nothing was done. Retry shortly."
# graphql-core raises these itself, with no original exception, when an argument fails coercion
# during execution (e.g. null sent for `$id: ID = "…"` used where `ID!` is expected).
ARGUMENT_ERROR_PREFIXES = ("Argument '", "Variable '$")


class PublicError(Exception):
    """A top-level error the client may see (unauthenticated, forbidden); everything else is masked."""

    def __init__(self, code: str, message: str, **extensions: Any) -> None:
        super().__init__(message)
        self.extensions = {"code": code, **extensions}


def tag(error: GraphQLError, code: str) -> GraphQLError:
    """Give an error its public code (kept if it already has one)."""
    error.extensions = {"code": code, **(error.extensions or {})}
    return error


def error_code(error: GraphQLError) -> str | None:
    """The public code of a client error, or None for a real fault."""
    original = error.original_error
    if isinstance(original, PublicError):
        return str(original.extensions["code"])
    code = (error.extensions or {}).get("code")
    if code:
        return str(code)
    if isinstance(original, InvalidGlobalIDError):  # strawberry decodes ids after coercion
        return BAD_USER_INPUT
    if isinstance(original, InvalidOperationTypeError):  # e.g. a query sent over the WebSocket
        return "BAD_REQUEST"
    if isinstance(original, CannotGetOperationTypeError):
        return "OPERATION_RESOLUTION_FAILURE"
    raised = original if isinstance(original, GraphQLError) else error  # graphql-core's own
    if raised.original_error is None and raised.message.startswith(ARGUMENT_ERROR_PREFIXES):
        return BAD_USER_INPUT
    return None


def public_error(
    error: GraphQLError, request_id: str | None, operation: str | None
) -> GraphQLError:
    """Log an error once (one line for a client error, a traceback for a fault); mask faults."""
    if isinstance(error.original_error, PoolTimeout):
        log.warning("no database connection in time in %s (request %s)", operation, request_id)
        return _replaced(error, BUSY_MESSAGE, {"code": SERVICE_BUSY})
    code = error_code(error)
    if code is not None:
        log.info("client error %s in %s (request %s)", code, operation or "-", request_id)
        return tag(error, code)
    fault = error.original_error or error
    log.error(
        "Unexpected error in %s (request %s)",
        operation or "-",
        request_id,
        exc_info=(type(fault), fault, fault.__traceback__),
    )
    extensions = {"code": INTERNAL_SERVER_ERROR, "requestId": request_id}
    return _replaced(error, MASKED_MESSAGE, {k: v for k, v in extensions.items() if v is not None})


def _replaced(error: GraphQLError, message: str, extensions: dict[str, Any]) -> GraphQLError:
    """`error` at the same place with another message and extensions (its cause left out)."""
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions=extensions,
    )


class CodedErrorsSchema(strawberry.Schema):
    """A schema whose errors leave it coded, logged once and masked when they are faults."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Replace the errors in place: every path, even a crashing extension, passes here once."""
        context = execution_context.context if execution_context else None
        request_id = getattr(context, "request_id", None)
        operation = execution_context.operation_name if execution_context else None
        errors[:] = [public_error(error, request_id, operation) for error in errors]


class CodedCoercionExecutor(LeanExecutor):
    """The lean executor; variables that fail coercion are `BAD_USER_INPUT`."""

    @classmethod
    def build(cls, *args: Any, **kwargs: Any) -> Any:
        """Build the executor; errors returned instead are all about the variables sent."""
        built = super().build(*args, **kwargs)
        if isinstance(built, list):
            for error in built:
                tag(error, BAD_USER_INPUT)
        return built


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
