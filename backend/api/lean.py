"""Lean resolvers: strawberry's per-call wrapper taken off the fields that use none of it.

On every call of a field, strawberry builds its `Info`, converts the arguments, chains the
field extensions (permission classes) and looks for an exception handler, in about ten Python
calls, before it calls the field's function; a plain attribute goes through three calls to a
`getattr`. The dashboard resolves some eighty fields a request. A field without arguments, field
extensions or exception handlers needs only the `Info`, so once the schema is built such fields
get a resolver that calls their function directly (or reads the attribute). The same function
runs with the same arguments, so answers and errors are unchanged; the schema's types, and so
the printed schema, are untouched. Fields with arguments or permission classes get strawberry's
steps in one call (`backend.api.checked`), or keep strawberry's wrapper when they use more of it.
Enum values are named through a map made once (`lean_enum_outputs`).

Most of those fields are plain attributes of a scalar or enum type (the dashboard: 62 of 77).
graphql-core executes each with an `Info`, a resolver call and a chain of completion calls; the
`LeanExecutor` reads such a field's attribute and coerces it in a few steps, and leaves anything
unusual (a null, an error, a middleware) to graphql-core, which then does all of it again: reading
an attribute and coercing a scalar have no side effects. It also keeps the sub-fields it collects
for an object of a document without variables (which sub-fields an object gets depends only on
the document then), and a plan of them that later requests run (`backend.api.planned`).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any, cast

import strawberry
from graphql import (
    GraphQLLeafType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfoHelpers,
    Undefined,
    is_leaf_type,
)
from strawberry.schema.schema_converter import CustomGraphQLEnumType, GraphQLCoreConverter
from strawberry.types.field import StrawberryField

from backend.api.checked import checked
from backend.api.plan import LEAVES
from backend.api.planned import PlannedExecutor

Resolve = Callable[..., Any]


def lean_resolvers(schema: strawberry.Schema) -> int:
    """Give every field that needs nothing of strawberry's wrapper a direct resolver; how many."""
    if schema.exception_handlers or schema.config.default_resolver is not getattr:
        return 0
    graphql_schema = schema._schema
    leaned = 0
    for named in graphql_schema.type_map.values():
        if not isinstance(named, GraphQLObjectType) or named is graphql_schema.subscription_type:
            continue
        leaves: dict[str, tuple[str, GraphQLLeafType, bool]] = {}
        for name, field in named.fields.items():
            definition = field.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
            lean = _lean(definition, schema.config.info_class) or checked(definition, schema)
            if lean is not None:
                field.resolve = lean
                leaned += 1
                leaf = _leaf(field.type)
                if leaf is not None and lean._is_default:  # type: ignore[attr-defined]
                    leaves[name] = (definition.python_name, *leaf)  # type: ignore[union-attr]
        named.extensions = {**named.extensions, LEAVES: leaves}
    return leaned


def _leaf(kind: GraphQLOutputType) -> tuple[GraphQLLeafType, bool] | None:
    """A scalar or enum type and whether it is nullable, or None for other types."""
    nullable = not isinstance(kind, GraphQLNonNull)
    inner = kind if nullable else kind.of_type  # type: ignore[union-attr]
    return (inner, nullable) if is_leaf_type(inner) else None


def _lean(field: StrawberryField | None, info_class: type[Any]) -> Resolve | None:
    """A direct resolver for a strawberry field, or None when it needs strawberry's wrapper."""
    if not isinstance(field, StrawberryField) or field.extensions or field.arguments:
        return None
    resolver = field.base_resolver
    if resolver is None:
        return _attribute(field.python_name)
    if not callable(resolver.wrapped_func):
        return None
    return _call(field, info_class)


def _attribute(name: str) -> Resolve:
    """A plain attribute, as strawberry's default resolver reads it."""

    def resolve(source: Any, _info: Any) -> Any:
        return getattr(source, name)

    resolve._is_default = True  # type: ignore[attr-defined]  # as strawberry marks it
    resolve.attribute = name  # type: ignore[attr-defined]  # read again freely: no side effects
    return resolve


def _call(field: StrawberryField, info_class: type[Any]) -> Resolve:
    """The field's function called as strawberry calls it: the source as `self` or by its
    `root`/parent parameter's name, the `Info` by its parameter's name."""
    resolver = field.base_resolver
    assert resolver is not None
    function = cast(Callable[..., Any], resolver.wrapped_func)
    by_self = resolver.self_parameter is not None
    sources = [p.name for p in (resolver.parent_parameter, resolver.root_parameter) if p]
    info_name = resolver.info_parameter.name if resolver.info_parameter else None

    def resolve(source: Any, info: Any) -> Any:
        kwargs = dict.fromkeys(sources, source)
        if info_name is not None:
            kwargs[info_name] = info_class(_raw_info=info, _field=field)
        return function(source, **kwargs) if by_self else function(**kwargs)

    resolve._is_default = False  # type: ignore[attr-defined]
    return resolve


def lean_enum_outputs(schema: strawberry.Schema) -> int:
    """Give every strawberry enum a map from its Python members to their GraphQL names; how many.

    Strawberry finds a member's name by comparing its `.value` (a Python property) with each
    GraphQL value in turn, on every enum field of every answer; the map answers in one lookup,
    with the same name (the first whose value matches) and the same fallback for anything else.
    """
    leaned = 0
    for named in schema._schema.type_map.values():
        if isinstance(named, CustomGraphQLEnumType):
            named.coerce_output_value = _enum_output(named)  # type: ignore[method-assign,assignment]
            leaned += 1
    return leaned


def _enum_output(enum_type: CustomGraphQLEnumType) -> Callable[[Any], str]:
    """The enum's output coercion through a member-to-name map, strawberry's for the rest."""
    members: Any = enum_type.wrapped_cls
    names: dict[Any, str] = {}
    for member in members:
        found = (n for n, v in enum_type.values.items() if member.value == v.value)
        name = next(found, None)
        if name is not None:
            names[member] = name
    coerce = enum_type.coerce_output_value

    def coerce_output_value(output_value: Any) -> str:
        if isinstance(output_value, members) and output_value in names:
            return names[output_value]
        return coerce(output_value)

    return coerce_output_value


class LeanExecutor(PlannedExecutor):
    """graphql-core's executor with a short path for plain scalar and enum attributes, and the
    sub-fields of documents without variables collected and planned once (`PlannedExecutor`).

    graphql-core (3.3) keeps `async_helpers` (every resolver's `info.async_helpers`) as two methods
    bound to the executor itself: a reference cycle, so each request's executor and all it refers
    to (the field plan, the context, its loaders and rows) were freed only by the collector. Here
    the helpers call the same methods through a weak reference instead. Only the executor's own
    running methods build infos and call the helpers, and they hold the executor (so do the
    subscription's per-event copies, through the event stream): it is alive whenever they run.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """graphql-core's executor, its resolver helpers bound weakly (see above)."""
        super().__init__(*args, **kwargs)
        self.async_helpers = GraphQLResolveInfoHelpers(
            gather=WeakMethodCall(self.gather_async_work),
            track=WeakMethodCall(self.track_async_work),
        )

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Any,
        position_context: Any,
    ) -> Any:
        """The attribute, coerced, when that is all the field is; else graphql-core's way."""
        leaf = parent_type.extensions.get(LEAVES, {}).get(field_details_list[0].node.name.value)
        if leaf is not None and self.planned:
            attribute, kind, nullable = leaf
            try:
                value = getattr(source, attribute)
                if value is None:
                    if nullable:
                        return None
                elif not isinstance(value, Exception):
                    coerced = kind.coerce_output_value(value)
                    if coerced is not None and coerced is not Undefined:
                        return coerced
            except Exception:  # graphql-core raises it again below, and reports it
                pass
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )


class WeakMethodCall:
    """Calls a bound method through a weak reference to its object (which must be alive): its
    function with the object, as `weakref.WeakMethod` would, without that class's Python-level
    construction on every request."""

    __slots__ = ("_function", "_owner")

    def __init__(self, method: Any) -> None:
        self._owner = weakref.ref(method.__self__)
        self._function = method.__func__

    def __call__(self, *args: Any) -> Any:
        """The method's answer; a clear error if its object is gone."""
        owner = self._owner()
        if owner is None:
            raise RuntimeError("The GraphQL execution these helpers belong to has ended.")
        return self._function(owner, *args)
