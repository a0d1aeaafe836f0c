"""Execution plans and checked resolvers: the same answers and errors as stock strawberry."""

from __future__ import annotations

import asyncio
import enum
from typing import Any, ClassVar

import strawberry
from graphql.execution.executor import Executor
from strawberry import relay
from strawberry.extensions import ParserCache
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.schema.config import StrawberryConfig

from backend.api.lean import LeanExecutor, lean_enum_outputs, lean_resolvers
from backend.api.schema import build_schema


class Refused(Exception):
    """A permission's own refusal, raised before the field's function runs."""


class Allow(BasePermission):
    """Lets everyone in, and notes the arguments it was shown."""

    shown: ClassVar[list[tuple[str, str, dict[str, Any]]]] = []  # every check, in order

    async def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        Allow.shown.append(_check(self, source, kwargs))
        return True


class AllowToo(Allow):
    """Another that lets everyone in."""


class DenyQuietly(BasePermission):
    """Refuses with strawberry's error and this message (closed boxes)."""

    message = "Not for you."

    async def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        Allow.shown.append(_check(self, source, kwargs))
        return source.open


def _check(permission: BasePermission, source: Any, kwargs: dict[str, Any]) -> Any:
    """What a permission was asked about: its name, the box's label, the arguments (a box given
    as an argument by its label)."""
    shown = {k: getattr(v, "label", v) for k, v in kwargs.items()}
    return type(permission).__name__, source.label, shown


class DenyLoudly(BasePermission):
    """Refuses by raising."""

    async def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        raise Refused("Go away.")


class NotABool(BasePermission):
    """Answers something that is not a boolean (strawberry refuses it)."""

    async def has_permission(self, source: Any, info: Any, **kwargs: Any) -> Any:
        return 1


@strawberry.enum(description="A size.")
class Size(enum.Enum):
    SMALL = "small"
    LARGE = "large"


@strawberry.input(description="How to wrap.")
class Wrapping:
    paper: str = strawberry.field(description="Paper.")
    sizes: list[Size] = strawberry.field(description="Sizes.", default_factory=list)


@strawberry.type(description="A leaf.")
class Leaf:
    name: str = strawberry.field(description="Non-null text.")
    size: int | None = strawberry.field(description="Nullable number.")


@strawberry.type(description="Objects and lists of every shape the plans complete.")
class Box:
    label: str = strawberry.field(description="Text.")
    open: strawberry.Private[bool]
    leaf: Leaf = strawberry.field(description="A non-null object attribute.")
    maybe: Leaf | None = strawberry.field(description="A nullable object attribute.")
    leaves: list[Leaf] = strawberry.field(description="A list of non-null objects.")
    holes: list[Leaf | None] | None = strawberry.field(description="A list of nullable objects.")
    fault: strawberry.Private[str | None] = None
    given: ClassVar[list[tuple[Any, ...]]] = []  # the arguments `shown` got, in order

    @strawberry.field(description="An object from a function.")
    def made(self) -> Leaf:
        """The leaf, or the box's fault."""
        if self.fault == "made":
            raise ValueError("made failed")
        return self.leaf

    @strawberry.field(description="An object, awaited.")
    async def later(self) -> Leaf | None:
        """The leaf after a pause, or the box's fault."""
        await asyncio.sleep(0)
        if self.fault == "later":
            raise ValueError("later failed")
        return self.maybe

    @strawberry.field(description="Leaves, each awaited.")
    def pending(self) -> list[Leaf | None]:
        """Awaitable items: graphql-core's way."""

        async def one(leaf: Leaf | None) -> Leaf | None:
            return leaf

        return [one(leaf) for leaf in self.leaves]  # type: ignore[misc]

    @strawberry.field(description="A number from a function.")
    def count(self) -> int:
        """A number, or what the fault asks for."""
        return {"count-null": None, "count-text": "many"}.get(self.fault or "", 3)  # type: ignore[return-value]

    @strawberry.field(description="Arguments converted.")
    def sized(
        self, times: int = 2, word: str | None = None, node: relay.GlobalID | None = None
    ) -> str:
        """The label repeated; the node's id when one is given."""
        return f"{self.label * times}{word or ''}{node.node_id if node else ''}"

    @strawberry.field(description="Arguments, awaited.")
    async def echo(self, word: str = "hi") -> str:
        """The word."""
        return word

    @strawberry.field(description="Arguments as the function got them (which it changes).")
    def shown(
        self,
        size: Size = Size.SMALL,
        wrapping: Wrapping | None = None,
        tags: list[str] | None = None,
        count: int = 1,
    ) -> str:
        """What it was given, each time before it changes its arguments."""
        given = repr((size, wrapping, tags, count))
        Box.given.append((size, wrapping, tags))
        if wrapping is not None:
            wrapping.sizes.append(Size.LARGE)
        if tags is not None:
            tags.append("changed")
        return given

    @strawberry.field(description="Guarded.", permission_classes=[Allow, DenyQuietly])
    async def guarded(self, info: strawberry.Info, times: int = 1) -> str:
        """The label, if the box is open."""
        return self.label * times

    @strawberry.field(
        description="Checked by two extensions (strawberry runs the last one listed first).",
        extensions=[
            PermissionExtension([Allow(), DenyQuietly()]),
            PermissionExtension([AllowToo()]),
        ],
    )
    async def nested(self, root: Any, times: int = 1) -> str:
        """The label, if the box is open."""
        return root.label * times

    @strawberry.field(description="Refused loudly.", permission_classes=[DenyLoudly])
    async def loud(self) -> str | None:
        """Never reached."""
        return "no"

    @strawberry.field(description="Refused oddly.", permission_classes=[NotABool])
    async def odd(self) -> str | None:
        """Never reached."""
        return "no"


def _boxes() -> list[Box]:
    """A good box, then one per way an object or list can be unusual."""
    good = Leaf(name="a", size=1)

    def box(label: str, **change: Any) -> Box:
        fields: dict[str, Any] = {
            "label": label,
            "open": True,
            "leaf": good,
            "maybe": good,
            "leaves": [good, Leaf(name="b", size=None)],
            "holes": [good, None],
        }
        return Box(**{**fields, **change})

    return [
        box("ok"),
        box("closed", open=False),
        box("no-leaf", leaf=None),
        box("leaf-error", leaf=ValueError("leaf broke")),
        box("leaf-dict", leaf={"name": "d", "size": 2}),
        box("no-maybe", maybe=None),
        box("null-item", leaves=[good, None]),
        box("error-item", leaves=[good, ValueError("item broke")]),
        box("bad-name", leaves=[Leaf(name=None, size=1)]),  # type: ignore[arg-type]
        box("hole-name", holes=[Leaf(name=None, size=1), good]),  # type: ignore[arg-type]
        box("tuple", leaves=(good,)),
        box("no-holes", holes=None),
        box("made", fault="made"),
        box("later", fault="later"),
        box("count-null", fault="count-null"),
        box("count-text", fault="count-text"),
    ]


@strawberry.type(description="Root.")
class BoxQuery:
    @strawberry.field(description="Boxes, some broken.")
    def boxes(self) -> list[Box | None]:
        """Every case."""
        return _boxes()  # type: ignore[return-value]

    @strawberry.field(description="The first box, awaited.")
    async def box(self) -> Box:
        """The good box."""
        return _boxes()[0]


EVERYTHING = """
{ boxes {
    label leaf { name size } maybe { name } leaves { name size } holes { name size }
    made { name } later { name } pending { name } count sized sized2: sized(times: 3, word: "!")
    echo(word: "yo") guarded(times: 2) nested loud odd
} box { label leaf { name } leaves { name } } }
"""


def _schema(lean: bool) -> strawberry.Schema:
    """The box schema, stock or lean, parsing each query text once (as the service does)."""
    parser = ParserCache(maxsize=10)
    schema = strawberry.Schema(
        query=BoxQuery,
        execution_context_class=LeanExecutor if lean else None,
        extensions=[lambda: parser],
    )
    if lean:
        lean_resolvers(schema)
        lean_enum_outputs(schema)
    return schema


async def _run(schema: strawberry.Schema, query: str) -> tuple[Any, list[Any]]:
    """The answer, and each error's message, path and original error's type."""
    result = await schema.execute(query)
    errors = [(e.message, e.path, type(e.original_error).__name__) for e in result.errors or []]
    return result.data, errors


async def test_plans_answer_and_fail_exactly_as_stock_strawberry():
    stock, lean = _schema(lean=False), _schema(lean=True)

    expected = await _run(stock, EVERYTHING)
    first = await _run(lean, EVERYTHING)
    planned = await _run(lean, EVERYTHING)  # the second time, by the plans made the first

    assert first == expected
    assert planned == expected
    data, errors = expected
    assert data["boxes"][0]["leaves"] == [{"name": "a", "size": 1}, {"name": "b", "size": None}]
    assert [box and box["label"] for box in data["boxes"]][:3] == ["ok", None, None]
    assert ("Not for you.", ["boxes", 1, "guarded"], "StrawberryGraphQLError") in errors
    assert ("Go away.", ["boxes", 0, "loud"], "Refused") in errors
    assert ["boxes", 6, "leaves", 1] in [path for _message, path, _type in errors]


async def test_bad_arguments_fail_as_in_stock_strawberry():
    stock, lean = _schema(lean=False), _schema(lean=True)
    query = '{ box { label } boxes { sized(node: "not-an-id") } }'

    expected = await _run(stock, query)

    assert await _run(lean, query) == expected
    assert await _run(lean, query) == expected
    assert expected[1][0][2] == "InvalidGlobalIDError"


async def test_permissions_are_checked_in_the_same_order_with_the_same_arguments():
    query = "{ boxes { guarded(times: 3) nested(times: 2) } }"
    seen = []
    for lean in (False, True):
        Allow.shown.clear()
        answer = await _run(_schema(lean), query)
        seen.append((answer, list(Allow.shown)))

    assert seen[0] == seen[1]
    checks = seen[1][1]
    assert checks[:5] == [
        ("Allow", "ok", {"times": 3}),
        ("DenyQuietly", "ok", {"times": 3}),
        ("AllowToo", "ok", {"times": 2, "root": "ok"}),
        ("Allow", "ok", {"times": 2, "root": "ok"}),
        ("DenyQuietly", "ok", {"times": 2, "root": "ok"}),
    ]


async def test_planned_fields_complete_without_graphql_cores_steps(monkeypatch):
    lean = _schema(lean=True)
    query = "{ box { label leaf { name size } maybe { name } leaves { name size } made { name } } }"
    await _run(lean, query)
    completions: list[str] = []
    complete = Executor.complete_value
    monkeypatch.setattr(
        Executor,
        "complete_value",
        lambda self, *a: completions.append(a[2].field_name) or complete(self, *a),
    )

    data, errors = await _run(lean, query)

    assert not errors
    assert data["box"]["leaves"] == [{"name": "a", "size": 1}, {"name": "b", "size": None}]
    assert completions == ["box", "box"]  # the root field (non-null, then its object); no more


def test_the_services_fields_with_permissions_or_arguments_are_checked_in_one_step():
    schema = build_schema(local_mode=False)._schema

    me = schema.query_type.fields["me"].resolve  # type: ignore[union-attr]
    history = schema.type_map["Member"].fields["history"].resolve  # type: ignore[union-attr]

    assert me.__qualname__.startswith("_permitted.")
    assert history.__qualname__.startswith("_converted.")


async def _deliveries(schema: strawberry.Schema, query: str) -> list[Any]:
    """An incremental answer: the first part, then each later part (as sent)."""
    result: Any = await schema.execute(query)
    parts = [result.initial_result.formatted]
    async for part in result.subsequent_results:
        parts.append(part.formatted)
    return parts


async def test_deferred_fragments_are_delivered_as_by_stock_strawberry():
    config = StrawberryConfig(enable_experimental_incremental_execution=True)
    stock = strawberry.Schema(query=BoxQuery, config=config)
    parser = ParserCache(maxsize=10)
    lean = strawberry.Schema(
        query=BoxQuery,
        config=config,
        execution_context_class=LeanExecutor,
        extensions=[lambda: parser],
    )
    lean_resolvers(lean)
    query = """{ box { label ... @defer { leaf { name } made { name } } maybe { name } }
                 boxes { label ... @defer(label: "more") { leaves { name size } } } }"""

    expected = await _deliveries(stock, query)

    assert await _deliveries(lean, query) == expected
    assert await _deliveries(lean, query) == expected
    assert "more" in repr(expected[0]["pending"])
    assert len(expected[1]["incremental"]) > 1


async def test_documents_with_variables_answer_as_stock_strawberry():
    stock, lean = _schema(lean=False), _schema(lean=True)
    query = "query ($n: Int!) { boxes { label sized(times: $n) leaves { name } } }"

    expected = await stock.execute(query, variable_values={"n": 2})

    for _ in range(2):
        answer = await lean.execute(query, variable_values={"n": 2})
        assert (answer.data, answer.errors) == (expected.data, expected.errors)


ARGUMENTS = """{ box {
    shown small: shown(size: SMALL, count: 2) large: shown(size: LARGE)
    wrapped: shown(wrapping: {paper: "red", sizes: [LARGE]}) tagged: shown(tags: ["a"])
    truthy: shown(count: 1) guarded(times: 1) nested(times: 1) sized(node: "Qm94OjE=")
} }"""


async def test_arguments_converted_once_answer_with_equal_independent_values():
    stock, lean = _schema(lean=False), _schema(lean=True)
    Box.given.clear()
    expected = await _run(stock, ARGUMENTS)
    stock_given = list(Box.given)

    for _ in range(3):  # the first request, then by the kept conversions
        Box.given.clear()
        assert await _run(lean, ARGUMENTS) == expected
        assert Box.given == stock_given

    data = expected[0]["box"]
    assert data["shown"] == repr((Size.SMALL, None, None, 1))
    assert data["large"] == repr((Size.LARGE, None, None, 1))
    assert "Wrapping(paper='red', sizes=[<Size.LARGE: 'large'>])" in data["wrapped"]
    assert "['a']" in data["tagged"]
    assert data["sized"] == "okok1"  # a `GlobalID` argument: converted on every call
    first = Box.given  # the last request's: each changed by the function after it answered
    Box.given = []
    await _run(lean, ARGUMENTS)
    assert Box.given[3][1] is not first[3][1] and Box.given[4][2] is not first[4][2]


async def test_arguments_of_equal_values_but_other_types_convert_apart():
    lean = _schema(lean=True)
    await _run(lean, "{ box { shown(count: 1) } }")

    answer = await lean.execute("query ($c: Int!) { box { shown(count: $c) } }", {"c": True})

    assert answer.errors  # a boolean is no Int: graphql-core refuses it, nothing kept answers
    data, _ = await _run(lean, "{ box { shown(count: 1) } }")
    assert data["box"]["shown"].endswith(", 1)")
