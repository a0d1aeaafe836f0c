"""Execution of a checked document without strawberry's per-request extension machinery.

For every operation strawberry's `Schema.execute` builds an execution context, instantiates
the schema extensions, enters a context manager per hook (operation, parsing, validation,
executing) and a middleware manager, then calls graphql-core's `execute`: on the dashboard about
a tenth of the event loop's work. Our extensions do two things: `CheckedDocuments` parses and
validates each query text once (`DocumentCache`), and the execution gate admits a few
operations at a time. When the cache already holds the text, valid and without introspection
(whose errors depend on the caller), and the operation it names is allowed, `CheckedSchema`
does just that: waits at the same gate, executes with the same executor and arguments, and
hands errors to the same `process_errors`. Everything else (a new text, an invalid document,
a missing or refused operation, subscriptions) takes strawberry's way, which answers it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import GraphQLError, execute, get_operation_ast
from strawberry.execution.is_awaitable import optimized_is_awaitable
from strawberry.types import ExecutionResult
from strawberry.types.execution import ExecutionContext
from strawberry.types.graphql import OperationType

from backend.api.documents import DocumentCache
from backend.api.errors import CodedErrorsSchema


class CheckedSchema(CodedErrorsSchema):
    """The coded-errors schema, executing cached valid documents directly (see the module)."""

    def __init__(
        self, *args: Any, documents: DocumentCache, gate: asyncio.Semaphore, **kwargs: Any
    ):
        super().__init__(*args, **kwargs)
        self.documents = documents
        self.gate = gate

    async def execute(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        """Execute a cached valid document directly; anything else strawberry's way."""
        document = self._direct(
            query, operation_name, allowed_operation_types, operation_extensions
        )
        if document is None:
            return await super().execute(
                query,
                variable_values,
                context_value,
                root_value,
                operation_name,
                allowed_operation_types,
                operation_extensions,
            )
        try:
            async with self.gate:
                result = execute(
                    self._schema,
                    document,
                    root_value=root_value,
                    variable_values=variable_values,
                    operation_name=operation_name,
                    context_value=context_value,
                    is_awaitable=optimized_is_awaitable,
                    executor_class=self.execution_context_class,
                    operation_extensions=None,
                )
                if optimized_is_awaitable(result):
                    result = await result
        except Exception as error:  # as strawberry: a fault of the whole operation
            result = GraphQLExecutionResult(None, [_coerced(error)])
        if result.errors:
            context = ExecutionContext(
                query=query,
                schema=self,
                allowed_operations=allowed_operation_types or (),
                context=context_value,
                root_value=root_value,
                variables=variable_values,
                provided_operation_name=operation_name,
            )
            context.graphql_document = document
            self._process_errors(result.errors, context)
        return ExecutionResult(data=result.data, errors=result.errors, extensions={})

    def _direct(
        self,
        query: str | None,
        operation_name: str | None,
        allowed: Iterable[OperationType] | None,
        operation_extensions: dict[str, Any] | None,
    ) -> Any:
        """The document to execute directly, or None for strawberry's way."""
        if not query or operation_extensions or allowed is None or self.directives:
            return None
        checked = self.documents.get(query)
        if checked is None or checked.errors or checked.introspection_errors:
            return None
        operation = get_operation_ast(checked.document, operation_name)
        kind = OperationType(operation.operation.value) if operation else None
        if kind is None or kind not in allowed or kind is OperationType.SUBSCRIPTION:
            return None
        return checked.document


def _coerced(error: Exception) -> GraphQLError:
    """An exception as a GraphQL error, as strawberry reports one."""
    return (
        error if isinstance(error, GraphQLError) else GraphQLError(str(error), original_error=error)
    )
