"""Run a use case for the signed-in caller in its own unit of work; refusals become typed errors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from backend.api.context import Info
from backend.rewards.errors import DomainError
from backend.rewards.ports import Principal
from backend.rewards.uow import UnitOfWork

T = TypeVar("T")


async def perform(
    info: Info, use_case: Callable[[UnitOfWork, Principal], Awaitable[T]], error_type: Any
) -> tuple[T | None, list[Any]]:
    """Run a use case for the caller in its own unit of work; a refusal becomes a typed error."""
    principal = info.context.principal
    assert principal is not None  # the field's permission class lets only signed-in callers in
    try:
        return await info.context.uows.run(lambda uow: use_case(uow, principal)), []
    except DomainError as error:
        return None, [error_type.of(error)]
