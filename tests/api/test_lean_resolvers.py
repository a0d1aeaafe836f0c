"""Lean resolvers and enum outputs: the same answers with less of strawberry's per-call work."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from enum import Enum
from typing import Any, ClassVar, NewType

import strawberry
from graphql.execution import executor
from strawberry.extensions import ParserCache, SchemaExtension
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema_converter import CustomGraphQLEnumType

from backend.api.lean import LEAVES, LeanExecutor, lean_enum_outputs, lean_resolvers
from backend.api.schema import build_schema


def test_fields_without_arguments_or_permissions_resolve_directly():
    schema = build_schema(local_mode=False)
    fields = schema._schema.type_map

    member = fields["Member"].fields  # type: ignore[attr-defined]
    query = fields["Query"].fields  # type: ignore[attr-defined]
    assert member["points"].resolve.__qualname__.startswith("_call.")
    assert {"cardNumber", "displayName", "enrolledAt"} <= fields["Member"].extensions[LEAVES].keys()  # type: ignore[union-attr]
    assert not {"points", "history", "id"} & fields["Member"].extensions[LEAVES].keys()  # type: ignore[union-attr]
    assert member["cardNumber"].resolve.__qualname__.startswith("_attribute.")
    assert not member["history"].resolve.__qualname__.startswith(("_call.", "_attribute."))
    assert not query["me"].resolve.__qualname__.startswith(("_call.", "_attribute."))


def test_every_enum_member_is_named_as_strawberry_names_it():
    schema = build_schema(local_mode=False)._schema
    enums = [t for t in schema.type_map.values() if isinstance(t, CustomGraphQLEnumType)]

    for enum in enums:
        for member in enum.wrapped_cls:
            assert enum.coerce_output_value(member) == type(enum).coerce_output_value(enum, member)
            assert enum.coerce_output_value(member.value) == type(enum).coerce_output_value(
                enum, member.value
            )
    assert enums


@strawberry.enum(description="A colour.")
class Colour(Enum):
    RED = "red"
    BLUE = "blue"


Label = NewType("Label", str)
CONFIG = StrawberryConfig(
    scalar_map={
        Label: strawberry.scalar(
            name="Label",
            description="Text whose serializer refuses `nothing` (returns null).",
            serialize=lambda value: None if value == "nothing" else value,
            parse_value=str,
        )
    }
)


@strawberry.type(description="Fields of every kind the lean executor reads or leaves alone.")
class Thing:
    name: str = strawberry.field(description="Non-null text.")
    nickname: str | None = strawberry.field(description="Nullable text.")
    colour: Colour = strawberry.field(description="An enum.")
    size: int = strawberry.field(description="Non-null number.")
    when: datetime | None = strawberry.field(description="A scalar with its own serializer.")
    label: Label = strawberry.field(description="A scalar that may serialize to null.")


def _things() -> list[Thing]:
    """One good thing, then one per way a plain attribute can fail."""
    good = Thing(
        name="ok",
        nickname=None,
        colour=Colour.BLUE,
        size=3,
        when=datetime(2026, 1, 2),
        label=Label("x"),
    )
    broken: list[dict[str, Any]] = [
        {"name": None},
        {"size": "x"},
        {"colour": "green"},
        {"when": "later"},  # nullable: the thing stays, its `when` is null
        {"name": ValueError("boom")},
        {"label": "nothing"},
    ]
    return [good, *(replace(good, **change) for change in broken)]


@strawberry.type(description="Root.")
class ThingQuery:
    @strawberry.field(description="Things, some broken.")
    def things(self) -> list[Thing | None]:
        """Every case."""
        return _things()  # type: ignore[return-value]


class SeesFields(SchemaExtension):
    """A middleware: counts the fields it resolves."""

    seen: ClassVar[list[str]] = []

    def resolve(self, _next: Any, root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
        SeesFields.seen.append(info.field_name)
        return _next(root, info, *args, **kwargs)


THINGS = "{ things { name nickname colour size when label } }"


def _run(schema: strawberry.Schema) -> tuple[Any, list[tuple[str, list[Any]]]]:
    """The answer and each error's message and path."""
    result = schema.execute_sync(THINGS)
    errors = sorted((e.message, e.path or []) for e in result.errors or [])
    return result.data, errors  # type: ignore[return-value]


def test_lean_executor_answers_and_fails_exactly_as_graphql_core():
    stock = strawberry.Schema(query=ThingQuery, config=CONFIG)
    lean = strawberry.Schema(query=ThingQuery, config=CONFIG, execution_context_class=LeanExecutor)
    lean_resolvers(lean)
    lean_enum_outputs(lean)

    data, errors = _run(lean)

    assert (data, errors) == _run(stock)
    assert data["things"][0] == {  # type: ignore[index]
        "name": "ok",
        "nickname": None,
        "colour": "BLUE",
        "size": 3,
        "when": "2026-01-02T00:00:00",
        "label": "x",
    }
    good = data["things"][0]  # type: ignore[index]
    assert data["things"][1:] == [None, None, None, {**good, "when": None}, None, None]  # type: ignore[index]
    assert sorted(path for _message, path in errors) == [
        ["things", 1, "name"],
        ["things", 2, "size"],
        ["things", 3, "colour"],
        ["things", 4, "when"],
        ["things", 5, "name"],
        ["things", 6, "label"],
    ]


def test_lean_executor_leaves_fields_to_middleware():
    stock = strawberry.Schema(query=ThingQuery, config=CONFIG, extensions=[SeesFields])
    lean = strawberry.Schema(
        query=ThingQuery,
        config=CONFIG,
        execution_context_class=LeanExecutor,
        extensions=[SeesFields],
    )
    lean_resolvers(lean)
    seen = []
    for schema in (stock, lean):
        SeesFields.seen.clear()
        schema.execute_sync("{ things { name size } }")
        seen.append(list(SeesFields.seen))

    assert seen[0] == seen[1]
    assert seen[1].count("size") == 5  # each thing but those whose `name` broke first


def _parsed_once() -> strawberry.Schema:
    """A lean schema that parses each query text once, as the service's document cache does."""
    parser = ParserCache(maxsize=10)
    return strawberry.Schema(
        query=ThingQuery,
        config=CONFIG,
        execution_context_class=LeanExecutor,
        extensions=[lambda: parser],
    )


def test_sub_fields_are_collected_once_per_document_without_variables(monkeypatch):
    schema = _parsed_once()
    query = "{ things { name ... on Thing { size } } }"
    collections = []
    collect = executor.collect_subfields
    monkeypatch.setattr(
        executor, "collect_subfields", lambda *a: collections.append(a) or collect(*a)
    )

    first = schema.execute_sync(query).data
    collected_first = len(collections)
    second = schema.execute_sync(query).data

    assert first == second
    assert first["things"][0] == {"name": "ok", "size": 3}  # type: ignore[index]
    assert collected_first == 1  # `things`' sub-fields, once for its seven items
    assert len(collections) == collected_first  # none the second time


def test_sub_fields_that_depend_on_variables_are_collected_each_time():
    schema = _parsed_once()
    query = "query ($more: Boolean!) { things { name size @include(if: $more) } }"

    with_size = schema.execute_sync(query, variable_values={"more": True}).data
    without = schema.execute_sync(query, variable_values={"more": False}).data

    assert with_size["things"][0] == {"name": "ok", "size": 3}  # type: ignore[index]
    assert without["things"][0] == {"name": "ok"}  # type: ignore[index]
