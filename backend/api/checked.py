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
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, cast

import strawberry
from strawberry.exceptions import PermissionReturnedNonBooleanError
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.schema.schema_converter import get_arguments
from strawberry.types.field import StrawberryField
from strawberry.utils.await_maybe import await_maybe

Resolve = Callable[..., Any]


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


def _arguments(field: StrawberryField, schema: strawberry.Schema) -> Callable[..., Any]:
    """Strawberry's conversion of a field's arguments: (positional, keyword) for its function."""
    config = schema.config
    registry = schema.schema_converter.scalar_registry

    def arguments(source: Any, info: Any, kwargs: dict[str, Any]) -> Any:
        return get_arguments(
            field=field,
            source=source,
            info=info,
            kwargs=kwargs,
            config=config,
            scalar_registry=registry,
        )

    return arguments


def _converted(field: StrawberryField, schema: strawberry.Schema) -> Resolve:
    """A sync field without extensions: its function with the converted arguments."""
    function = cast(Callable[..., Any], field.base_resolver.wrapped_func)  # type: ignore[union-attr]
    info_class = schema.config.info_class
    arguments = _arguments(field, schema)

    def resolve(source: Any, info: Any, **kwargs: Any) -> Any:
        args, kwargs = arguments(source, info_class(_raw_info=info, _field=field), kwargs)
        return function(*args, **kwargs)

    resolve._is_default = False  # type: ignore[attr-defined]
    return resolve


def _awaited(field: StrawberryField, schema: strawberry.Schema) -> Resolve:
    """An async field without extensions: its function's result, awaited."""
    function = cast(Callable[..., Any], field.base_resolver.wrapped_func)  # type: ignore[union-attr]
    info_class = schema.config.info_class
    arguments = _arguments(field, schema)

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
    arguments = _arguments(field, schema)

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
