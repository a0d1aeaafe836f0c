"""Checked resolvers: strawberry's argument conversion and permission classes in one call.

On every call of a field with arguments or permission classes, strawberry builds its `Info`,
converts the arguments, then chains the field's extensions through `reduce`, `partial` and a
wrapper per step (each permission extension awaiting the next), before `get_result` and the
resolver object call the field's function: about a dozen Python calls. For a field whose only
extensions are permission classes (on an async field), or that has none, the resolver here makes
the same calls in the same order: the `Info`, strawberry's own `get_arguments`, each permission's
`has_permission` (with the same arguments, the first refusal answering with the permission's
`on_unauthorized`, a non-boolean refused with strawberry's error), then the function. Anything
else (other extensions, `fail_silently`, a sync field with permissions) keeps strawberry's.

Arguments that are plain immutable values (whole numbers, strings, booleans, nulls, enum
members) convert to the same values every time: their conversion is kept per field and each call
gets a fresh dict of it (`Arguments`), so a document's unchanging arguments convert once.
"""

from __future__ import annotations

import enum
import inspect
from collections.abc import Callable
from typing import Any, cast

import strawberry
from strawberry.exceptions import PermissionReturnedNonBooleanError
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.schema.schema_converter import get_arguments
from strawberry.types.arguments import convert_arguments
from strawberry.types.field import StrawberryField
from strawberry.utils.await_maybe import await_maybe

Resolve = Callable[..., Any]
# Types whose values nothing can change, nor mistake for another type's equal value (floats are
# left out: 0.0 and -0.0 are equal keys yet different answers).
LASTING = frozenset({int, str, bool, type(None)})
CONVERSIONS_KEPT = 256  # kept argument conversions per field, then forgotten at once
NOT_KEPT = object()


def lasting(values: Any) -> bool:
    """Whether every value is immutable and told apart from others by type and equality."""
    return all(type(v) in LASTING or isinstance(v, enum.Enum) for v in values)


def checked(field: StrawberryField | None, schema: strawberry.Schema) -> Resolve | None:
    """A resolver that converts the arguments and checks the permission classes as strawberry
    does (the same calls, in the same order) and calls the function, for a field whose only
    extensions are permission classes (on an async field) or that has none; else None."""
    if not isinstance(field, StrawberryField) or field.base_resolver is None:
        return None
    extensions = field.extensions
    if extensions and not (
        field.is_async
        and all(type(e) is PermissionExtension and not e.fail_silently for e in extensions)
    ):
        return None
    resolver = field.base_resolver
    sources = (resolver.parent_parameter, resolver.root_parameter)
    names = {a.python_name for a in field.arguments} | {p.name for p in sources if p}
    if not callable(resolver.wrapped_func) or "_source" in names:  # strawberry's own name clash
        return None
    # strawberry nests the extensions so that the last one listed checks first
    permissions = tuple(p for e in reversed(extensions) for p in e.permissions)  # type: ignore[attr-defined]
    if not field.is_async:
        return _converted(field, schema)
    return _permitted(field, schema, permissions) if permissions else _awaited(field, schema)


class Arguments:
    """Strawberry's `get_arguments` for one field: (positional, keyword) for its function.

    The conversion of lasting argument values (`lasting`) is kept by the values, with their
    types, and placed as strawberry places it (the source as `self` or by its parent or root
    parameter's name, the `Info` by its parameter's name); any other conversion is strawberry's
    own on every call.
    """

    __slots__ = ("_by_self", "_config", "_field", "_info_name", "_kept", "_registry", "_sources")

    def __init__(self, field: StrawberryField, schema: strawberry.Schema) -> None:
        resolver = field.base_resolver
        assert resolver is not None
        self._field = field
        self._config = schema.config
        self._registry = schema.schema_converter.scalar_registry
        self._kept: dict[tuple[Any, ...], dict[str, Any] | None] = {}  # None: not lasting
        self._by_self = resolver.self_parameter is not None
        self._sources = [p.name for p in (resolver.parent_parameter, resolver.root_parameter) if p]
        self._info_name = resolver.info_parameter.name if resolver.info_parameter else None

    def __call__(self, source: Any, info: Any, kwargs: dict[str, Any]) -> Any:
        """The function's positional and keyword arguments, as strawberry passes them."""
        if not lasting(kwargs.values()):
            return self._strawberry(source, info, kwargs)
        key = tuple((name, type(value), value) for name, value in kwargs.items())
        converted = self._kept.get(key, NOT_KEPT)
        if converted is NOT_KEPT:
            field = self._field
            found = convert_arguments(kwargs, field.arguments, self._registry, self._config, info)
            converted = found if lasting(found.values()) else None  # e.g. a `GlobalID`: None
            if len(self._kept) >= CONVERSIONS_KEPT:
                self._kept.clear()
            self._kept[key] = converted
        if converted is None:  # converted to something the function could change
            return self._strawberry(source, info, kwargs)
        kwargs = dict(converted)  # the function's own: it may change it
        for extension in self._field.extensions:
            kwargs = extension.map_arguments(kwargs)
        for name in self._sources:
            kwargs[name] = source
        if self._info_name is not None:
            kwargs[self._info_name] = info
        return ([source] if self._by_self else []), kwargs

    def _strawberry(self, source: Any, info: Any, kwargs: dict[str, Any]) -> Any:
        """Strawberry's own conversion and placement of the arguments."""
        return get_arguments(
            field=self._field,
            source=source,
            info=info,
            kwargs=kwargs,
            config=self._config,
            scalar_registry=self._registry,
        )


def _converted(field: StrawberryField, schema: strawberry.Schema) -> Resolve:
    """A sync field without extensions: its function with the converted arguments."""
    function = cast(Callable[..., Any], field.base_resolver.wrapped_func)  # type: ignore[union-attr]
    info_class = schema.config.info_class
    arguments = Arguments(field, schema)

    def resolve(source: Any, info: Any, **kwargs: Any) -> Any:
        args, kwargs = arguments(source, info_class(_raw_info=info, _field=field), kwargs)
        return function(*args, **kwargs)

    resolve._is_default = False  # type: ignore[attr-defined]
    return resolve


def _awaited(field: StrawberryField, schema: strawberry.Schema) -> Resolve:
    """An async field without extensions: its function's result, awaited."""
    function = cast(Callable[..., Any], field.base_resolver.wrapped_func)  # type: ignore[union-attr]
    info_class = schema.config.info_class
    arguments = Arguments(field, schema)

    async def resolve(source: Any, info: Any, **kwargs: Any) -> Any:
        args, kwargs = arguments(source, info_class(_raw_info=info, _field=field), kwargs)
        return await await_maybe(function(*args, **kwargs))

    resolve._is_default = False  # type: ignore[attr-defined]
    return resolve


def _permitted(
    field: StrawberryField, schema: strawberry.Schema, permissions: tuple[BasePermission, ...]
) -> Resolve:
    """An async field with permission classes: strawberry's `PermissionExtension.resolve_async`
    (each class in turn, the first refusal answers) before the function."""
    function = cast(Callable[..., Any], field.base_resolver.wrapped_func)  # type: ignore[union-attr]
    info_class = schema.config.info_class
    arguments = Arguments(field, schema)

    async def resolve(source: Any, info: Any, **kwargs: Any) -> Any:
        strawberry_info = info_class(_raw_info=info, _field=field)
        args, kwargs = arguments(source, strawberry_info, kwargs)
        with_info = "info" in kwargs
        if with_info:  # as strawberry: the permissions get the arguments without the `Info`
            del kwargs["info"]
        for permission in permissions:
            allowed = await await_maybe(
                permission.has_permission(source, strawberry_info, **kwargs)
            )
            if not isinstance(allowed, bool):
                if inspect.iscoroutine(allowed):
                    allowed.close()
                raise PermissionReturnedNonBooleanError(permission, allowed)
            if not allowed:
                return permission.on_unauthorized()
        if with_info:
            kwargs["info"] = strawberry_info
        result = function(*args, **kwargs)
        return result if inspect.isasyncgen(result) else await result

    resolve._is_default = False  # type: ignore[attr-defined]
    return resolve
