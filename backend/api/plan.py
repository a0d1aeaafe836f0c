"""Execution plans: what the lean executor knows of an object's sub-fields before it runs them.

Without variables, the sub-fields an object gets depend only on the document, so for each set of
collected sub-fields the executor keeps, it also keeps a plan made once: per response field its
definition, field nodes, resolver, whether it has arguments, and how its value completes (a plain
attribute of a scalar or enum type; a scalar or enum; an object of a known class; a list of
those). Running a plan then only resolves and completes; whatever the plan does not expect (an
error, a null in a non-null field, another class, an abstract type, a directive on a list field)
goes to graphql-core's own steps.
"""

from __future__ import annotations

from typing import Any, Literal

from graphql import (
    GraphQLField,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    is_leaf_type,
)
from strawberry.schema.schema_converter import GraphQLCoreConverter

LEAVES = "rewards.lean_leaves"  # an object type's extension: its plain scalar and enum attributes
# strawberry's own `is_type_of` (for types with interfaces) ignores its `info` argument
STRAWBERRY_IS_TYPE_OF = "._get_is_type_of.<locals>.is_type_of"

# How a resolved value completes, when the plan knows (else graphql-core's `complete_value`).
SCALAR = 1  # a scalar or enum: `kind` coerces it
OBJECT = 2  # an object of one of `classes`: the sub-fields' plan runs on it
LIST = 3  # a list of such objects


class Step:
    """One response field of a plan."""

    __slots__ = (
        "arguments",
        "attribute",
        "child",
        "classes",
        "completion",
        "details",
        "field",
        "is_type_of",
        "item_type",
        "kind",
        "leaf",
        "name",
        "needs_args",
        "nodes",
        "nullable",
        "object_type",
        "parent_type",
        "resolve",
        "return_type",
    )

    def __init__(self, parent_type: GraphQLObjectType, name: str, details: Any) -> None:
        self.parent_type = parent_type
        self.name = name
        self.details = details
        self.nodes = [d.node for d in details]
        field_name = self.nodes[0].name.value
        self.leaf: tuple[str, GraphQLLeafType, bool] | None = parent_type.extensions.get(
            LEAVES, {}
        ).get(field_name)
        field = None if field_name.startswith("__") else parent_type.fields.get(field_name)
        if field is not None and field.resolve is None:
            field = None  # the executor's default resolver: graphql-core's way
        self.field: GraphQLField | None = field
        self.resolve = field.resolve if field else None
        self.return_type: GraphQLOutputType | None = field.type if field else None
        self.needs_args = bool(field and (field.args or self.nodes[0].arguments))
        self.arguments: dict[str, Any] | None = None  # the lasting argument values, once known
        self.attribute: str | None = None
        if self.resolve is not None and getattr(self.resolve, "_is_default", False):
            self.attribute = getattr(self.resolve, "attribute", None)
        self.child: Plan | Literal[False] | None = None  # the sub-fields' plan; False: none
        self.completion = 0
        self.nullable = True
        self.kind: GraphQLLeafType | None = None
        self.object_type: GraphQLObjectType | None = None
        self.item_type: GraphQLOutputType | None = None
        self.classes: frozenset[type] = frozenset()
        self.is_type_of: Any = None
        if self.return_type is not None:
            self._plan_completion(self.return_type)

    def _plan_completion(self, return_type: GraphQLOutputType) -> None:
        """Note how the field's value completes, when it is a kind the plan handles."""
        self.nullable = not isinstance(return_type, GraphQLNonNull)
        inner = return_type if self.nullable else return_type.of_type  # type: ignore[union-attr]
        if is_leaf_type(inner):
            self.completion, self.kind = SCALAR, inner
            return
        if isinstance(inner, GraphQLList):
            if any(node.directives for node in self.nodes):  # `@stream` is graphql-core's
                return
            self.item_type = item = inner.of_type
            inner = item.of_type if isinstance(item, GraphQLNonNull) else item
            if self._known_object(inner):
                self.completion = LIST
            return
        if self._known_object(inner):
            self.completion = OBJECT

    def _known_object(self, kind: Any) -> bool:
        """Whether `kind` is an object type of known classes whose check is strawberry's own."""
        if not isinstance(kind, GraphQLObjectType):
            return False
        definition = kind.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
        concrete = getattr(definition, "concrete_of", None)  # a generic's specialization
        classes: set[Any] = {getattr(d, "origin", None) for d in (definition, concrete) if d}
        check = kind.is_type_of
        if not classes or not all(_plain_class(c) for c in classes):
            return False
        if check is not None and not check.__qualname__.endswith(STRAWBERRY_IS_TYPE_OF):
            return False
        self.object_type, self.classes, self.is_type_of = kind, frozenset(classes), check
        return True


def _plain_class(origin: Any) -> bool:
    """Whether instances of `origin` are neither errors nor awaitables (graphql-core's checks)."""
    return (
        isinstance(origin, type)
        and not issubclass(origin, BaseException)
        and not hasattr(origin, "__await__")
    )


class Plan:
    """The steps of one set of collected sub-fields of an object type, in response order."""

    __slots__ = ("fields", "parent_type", "steps", "typename")

    def __init__(self, parent_type: GraphQLObjectType, grouped_field_set: Any) -> None:
        self.parent_type = parent_type
        self.typename = parent_type.name
        self.fields = grouped_field_set  # kept: plans are found by its id
        self.steps = tuple(Step(parent_type, n, d) for n, d in grouped_field_set.items())
