"""The planned executor: graphql-core's execution of an object's fields, by a plan made once.

graphql-core executes each field of each object in a chain of calls: the response path, the field
definition looked up, an `Info`, the arguments, the resolver, then `complete_value` descending
through non-null, list and object wrappers to `complete_object_value`, the sub-fields collected
(memoized per request) and executed the same way. For a document without variables the executor
keeps each object's collected sub-fields and a `Plan` of them (`backend.api.plan`), so a request
runs the plan: a plain attribute is read and coerced, an object or list of objects of the
expected class goes straight to its sub-fields' plan (no `Info` when a plain attribute gave it),
other fields resolve with what the plan knows. The steps and their order are graphql-core's, and
so are the answers and errors: whatever the plan does not expect (an error value, a null in a
non-null field, another class, a middleware, `@defer`) takes graphql-core's own path, which only
ever repeats attribute reads and coercions (no side effects), never a resolver call.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from graphql import GraphQLObjectType, Undefined
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from backend.api.checked import lasting
from backend.api.plan import OBJECT, SCALAR, Plan, Step

PLAIN = frozenset({str, int, float, bool})  # coerced values that are never awaitable
SUBFIELDS_KEPT = 4096  # collected sub-field sets kept across requests, then forgotten at once


class PlannedExecutor(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's executor that collects and plans the sub-fields of documents without
    variables once, and runs the plans."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """graphql-core's executor; plans run unless a middleware must see every field."""
        super().__init__(*args, **kwargs)
        manager = self.middleware_manager
        self.planned = manager is None or not manager.middlewares

    # (id of the type, ids of the field nodes) -> (the type, the nodes, the collected fields): the
    # type and nodes are kept with their ids, so no other object can take those ids meanwhile.
    subfields: ClassVar[dict[tuple[int, ...], tuple[Any, tuple[Any, ...], Any]]] = {}
    # id of a kept grouped field set -> its plan (which keeps the set, and so its id)
    plans: ClassVar[dict[int, Plan]] = {}

    def collect_subfields(self, return_type: GraphQLObjectType, field_details_list: Any) -> Any:
        """The sub-fields of an object, collected and planned once per document when nothing
        varies them (no variables, no `@defer`); graphql-core's own collection otherwise."""
        if self.operation.variable_definitions or any(
            d.defer_usage or d.fragment_variable_values for d in field_details_list
        ):
            return super().collect_subfields(return_type, field_details_list)
        nodes = tuple(details.node for details in field_details_list)
        key = (id(return_type), *map(id, nodes))
        kept = self.subfields.get(key)
        if kept is not None:
            return kept[2]
        collected = super().collect_subfields(return_type, field_details_list)
        if not collected.new_defer_usages and not collected.forbidden_directive_instances:
            if len(self.subfields) >= SUBFIELDS_KEPT:
                self.subfields.clear()
                self.plans.clear()
            self.subfields[key] = (return_type, nodes, collected)
            fields = collected.grouped_field_set
            self.plans[id(fields)] = Plan(return_type, fields)
        return collected

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: Any,
        position_context: Any,
    ) -> Any:
        """The fields by their plan when there is one, else graphql-core's way."""
        plan = self.plans.get(id(grouped_field_set)) if position_context is None else None
        if (
            plan is None
            or path is None
            or not self.planned
            or plan.fields is not grouped_field_set
            or plan.parent_type is not parent_type
        ):
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        return self._run(plan, source_value, path)

    def _run(self, plan: Plan, source: Any, path: Path) -> Any:
        """graphql-core's `execute_fields` over a plan: plain attributes read and coerced here."""
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        typename = plan.typename
        try:
            for step in plan.steps:
                name = step.name
                leaf = step.leaf
                if leaf is not None:
                    try:
                        value = getattr(source, leaf[0])
                        if value is None:
                            if leaf[2]:
                                results[name] = None
                                continue
                        elif not isinstance(value, Exception):
                            coerced = leaf[1].coerce_output_value(value)
                            if coerced is not None and coerced is not Undefined:
                                results[name] = coerced
                                if type(coerced) not in PLAIN and is_awaitable(coerced):
                                    awaitable_fields.append(name)
                                continue
                    except Exception:  # graphql-core raises it again below, and reports it
                        pass
                if step.field is None or leaf is not None:
                    result = super().execute_field(
                        plan.parent_type, source, step.details, Path(path, name, typename), None
                    )
                else:
                    result = self._execute_step(step, source, Path(path, name, typename))
                if result is not Undefined:
                    results[name] = result
                    if is_awaitable(result):
                        awaitable_fields.append(name)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[field] for field in awaitable_fields])
            raise
        if not awaitable_fields:
            return results
        return self._gather_fields(results, awaitable_fields)

    async def _gather_fields(self, results: dict[str, Any], awaitable: list[str]) -> Any:
        """The results with their awaitable values awaited, as graphql-core gathers them."""
        if len(awaitable) == 1:
            field = awaitable[0]
            results[field] = await results[field]
        else:
            awaited = await gather_with_cancel(*(results[field] for field in awaitable))
            results.update(zip(awaitable, awaited, strict=True))
        return results

    def _execute_step(self, step: Step, source: Any, path: Path) -> Any:
        """graphql-core's `execute_field` with what the plan knows; an object or list read from
        a plain attribute completes without an `Info` (nothing reads it)."""
        return_type = step.return_type
        details = step.details
        if step.attribute is not None and step.completion >= OBJECT:
            try:
                value = getattr(source, step.attribute)
            except Exception:  # graphql-core reads it again below, and reports it
                value = Undefined
            if value is None and step.nullable:
                return None
            completed: Any = Undefined
            try:
                if value is not Undefined:
                    completed = self._complete_known(step, path, value)
                if completed is not Undefined:
                    if self.is_awaitable(completed):
                        return self._await_completed(completed, return_type, details, path)
                    return completed
            except Exception as raw_error:
                self.handle_field_error(raw_error, return_type, details, path)  # type: ignore[arg-type]
                return None
        info = self.build_resolve_info(step.field, step.nodes, step.parent_type, path)  # type: ignore[arg-type]
        try:
            args = self._arguments(step) if step.needs_args else {}
            result = step.resolve(source, info, **args)  # type: ignore[misc]
            if self.is_awaitable(result):
                return self._complete_awaitable(step, info, path, result)
            completed = self._complete(step, info, path, result)
            if self.is_awaitable(completed):
                return self._await_completed(completed, return_type, details, path)
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, details, path)  # type: ignore[arg-type]
            return None
        return completed

    def _arguments(self, step: Step) -> dict[str, Any]:
        """graphql-core's argument values of the step's field. Without variables they depend
        only on the document: lasting ones (`checked.lasting`) are kept on the step (the
        resolver gets them unpacked into a dict of its own)."""
        if step.arguments is not None:
            return step.arguments
        first = step.details[0]
        args = get_argument_values(
            step.field,  # type: ignore[arg-type]
            first.node,
            self.variable_values,
            first.fragment_variable_values,
            self.hide_suggestions,
        )
        if lasting(args.values()):
            step.arguments = args
        return args

    async def _complete_awaitable(self, step: Step, info: Any, path: Path, result: Any) -> Any:
        """graphql-core's `complete_awaitable_value` with the plan's completion."""
        try:
            resolved = await self.with_abort_signal(result)
            completed = self._complete(step, info, path, resolved)
            if self.is_awaitable(completed):
                completed = await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, step.return_type, step.details, path)  # type: ignore[arg-type]
            completed = None
        return completed

    async def _await_completed(
        self, completed: Any, return_type: Any, details: Any, path: Path
    ) -> Any:
        """An awaitable completion awaited, its error handled as graphql-core handles it."""
        try:
            return await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, details, path)
            return None

    def _complete(self, step: Step, info: Any, path: Path, result: Any) -> Any:
        """A resolved value completed as the plan expects, else by graphql-core's `complete_value`."""
        completion = step.completion
        if completion == SCALAR:
            if result is None:
                if step.nullable:
                    return None
            elif not isinstance(result, Exception):
                try:
                    coerced = step.kind.coerce_output_value(result)  # type: ignore[union-attr]
                except Exception:  # graphql-core coerces it again below, and reports it
                    coerced = None
                if coerced is not None and coerced is not Undefined:
                    return coerced
        elif completion:
            if result is None and step.nullable:
                return None
            completed = self._complete_known(step, path, result)
            if completed is not Undefined:
                return completed
        return self.complete_value(step.return_type, step.details, info, path, result, None)  # type: ignore[arg-type]

    def _complete_known(self, step: Step, path: Path, value: Any) -> Any:
        """An object or a list of objects of the expected class completed by the sub-fields'
        plan, or Undefined when the value is anything else (nothing was run then)."""
        try:
            known = self._known(step, value)
        except Exception:  # graphql-core checks it again, and reports it
            known = False
        if not known:
            return Undefined
        if step.completion == OBJECT:
            return self._sub_fields(step, path, value)
        return self._list(step, path, value)

    @staticmethod
    def _known(step: Step, value: Any) -> bool:
        """Whether the value is an object, or a list of objects, of the step's class (and type)."""
        classes = step.classes
        is_type_of = step.is_type_of
        if step.completion == OBJECT:
            return type(value) in classes and (not is_type_of or is_type_of(value, None) is True)
        return type(value) is list and all(
            type(item) in classes and (not is_type_of or is_type_of(item, None) is True)
            for item in value
        )

    def _sub_fields(self, step: Step, path: Path, value: Any) -> Any:
        """graphql-core's `collect_and_execute_subfields` for a checked object: its plan run."""
        child = step.child
        if child is None:
            child = step.child = self._child_plan(step)
        if child is False:
            return self.collect_and_execute_subfields(
                step.object_type,  # type: ignore[arg-type]
                step.details,
                path,
                value,
                None,
            )
        return self._run(child, value, path)

    def _child_plan(self, step: Step) -> Plan | Literal[False]:
        """The plan of the step's sub-fields, or False when they are collected each time."""
        collected = self.collect_subfields(step.object_type, step.details)  # type: ignore[arg-type]
        child = self.plans.get(id(collected.grouped_field_set))
        if child is None or child.fields is not collected.grouped_field_set:
            return False
        return child

    def _list(self, step: Step, path: Path, items: list[Any]) -> Any:
        """graphql-core's `complete_iterable_value` for a list of checked objects."""
        is_awaitable = self.is_awaitable
        item_type = step.item_type
        details = step.details
        completed: list[Any] = []
        awaitable_indices: list[int] = []
        try:
            for index, item in enumerate(items):
                item_path = Path(path, index, None)
                try:
                    value = self._sub_fields(step, item_path, item)
                    if is_awaitable(value):
                        completed.append(
                            self._await_completed(value, item_type, details, item_path)
                        )
                        awaitable_indices.append(index)
                    else:
                        completed.append(value)
                except Exception as raw_error:
                    self.handle_field_error(raw_error, item_type, details, item_path)  # type: ignore[arg-type]
                    completed.append(None)
        except Exception:
            pending = [completed[index] for index in awaitable_indices]
            if pending:
                self.settle_in_background(pending)
            raise
        if not awaitable_indices:
            return completed
        return self._gather_items(completed, awaitable_indices)

    async def _gather_items(self, completed: list[Any], indices: list[int]) -> list[Any]:
        """The list with its awaitable items awaited, as graphql-core gathers them."""
        if len(indices) == 1:
            index = indices[0]
            completed[index] = await completed[index]
        else:
            awaited = await gather_with_cancel(*(completed[index] for index in indices))
            for index, item in zip(indices, awaited, strict=True):
                completed[index] = item
        return completed
