"""Admission: a burst waits its turn at the door, in arrival order, instead of inside the pools."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

from strawberry.extensions import SchemaExtension


def execution_gate(gate: asyncio.Semaphore) -> Callable[[], SchemaExtension]:
    """A schema extension factory that lets as many operations execute at once as `gate` has
    slots (`CheckedSchema` waits at the same gate when it executes without extensions).

    With hundreds of operations executing, each pooled connection is shared by so many readers
    that a checkout can wait seconds; the rest wait here (FIFO, holding no connection), after
    parsing and validation, so a checkout waits only for the few operations admitted.
    """

    class ExecutionGate(SchemaExtension):
        """Hold one of the process's execution slots while the operation's resolvers run."""

        async def on_execute(self) -> AsyncIterator[None]:
            """Wait for a slot, execute, give the slot back."""
            async with gate:
                yield

    return ExecutionGate
