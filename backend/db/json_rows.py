"""A select's rows as one JSON text column of another statement, and back as the same rows.

A read of a few rows of one member (their categories, due lots, a page of history) costs a
round trip of its own. `JsonRows` carries them as a correlated column of the member's statement
instead: on PostgreSQL `json_agg(json_build_array(...) ORDER BY ...)`, on SQLite
`json_group_array(json_array(...))` over the select's ordered (and limited) rows, `'[]'` when
there are none. `JsonDecoder` turns the text back into what `prepared.rows` gives for the select
itself: the same row class, each value through the column type's own result processor after
the JSON value is made what the driver hands for that column (ISO text to dates and times,
numeric text to `Decimal` or, on SQLite where numerics are stored as floats, to `float`).

Numerics travel as text (SQLite's JSON writes floats with 15 digits, which loses the last bits;
its `printf('%!.17g')` gives them back exactly below about 1e186, far above `Numeric(18, 4)`);
a select without an ORDER BY, or with a column of a kind not listed here, is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

import orjson
from sqlalchemy import (
    BindParameter,
    Boolean,
    Column,
    Date,
    DateTime,
    Integer,
    Numeric,
    Select,
    String,
    Text,
    bindparam,
    case,
    cast,
    func,
    literal_column,
    null,
    select,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.engine.result import SimpleResultMetaData
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.util import ClauseAdapter
from sqlalchemy.sql.visitors import InternalTraversal

from backend.db.prepared import made_rows, row_class

Convert = Callable[[Any], Any]
_KINDS = (Integer, String, Boolean, Numeric, DateTime, Date)  # what the decoders know
# What each driver hands for a column of a kind, from its JSON value (absent: the value itself),
# and the type code its cursor reports (asyncpg's numeric processor picks by it).
_NATIVE: dict[str, dict[Any, tuple[Convert | None, Any]]] = {
    "sqlite": {Numeric: (float, None)},
    "postgresql": {
        Numeric: (Decimal, 1700),
        DateTime: (datetime.fromisoformat, None),
        Date: (date.fromisoformat, None),
    },
}


class JsonRows(ColumnElement[str]):
    """The rows of `rows` (a select with an ORDER BY, correlated on the enclosing statement)
    as JSON text: an array of one array a row, in the select's order."""

    __visit_name__ = "json_rows"
    _traverse_internals = [("rows", InternalTraversal.dp_clauseelement)]
    inherit_cache = True
    type = Text()

    def __init__(self, rows: Select[Any]) -> None:
        if not rows._order_by_clauses:
            raise ValueError("rows carried as JSON need an ORDER BY: their order is the answer's")
        for column in rows.selected_columns:
            if not issubclass(column.type._type_affinity or type(None), _KINDS):
                raise TypeError(f"column {column.key} of kind {column.type} is not decoded")
        self.rows = rows


def carried_rows(
    statement: Select[Any], prefix: str, correlated: dict[str, Column[Any]]
) -> JsonRows:
    """`statement`'s rows as JSON, the bind parameters named in `correlated` replaced by those
    outer columns (written by name, so no select around them adds their table to its FROM),
    the others named apart as `{prefix}{name}`."""

    def replace(element: Any) -> Any:
        """A bind parameter's replacement; None keeps the element (and visits inside it)."""
        if not isinstance(element, BindParameter) or element.unique:
            return None
        if element.key in correlated:
            outer = correlated[element.key]
            return literal_column(f"{outer.table.name}.{outer.name}", outer.type)
        return bindparam(
            prefix + element.key, element.value, type_=element.type, required=element.required
        )

    replaced: Select[Any] = visitors.replacement_traverse(statement, {}, replace)  # type: ignore[call-overload]
    return JsonRows(replaced)


@compiles(JsonRows)
def _json_rows_sqlite(element: JsonRows, compiler: Any, **kw: Any) -> str:
    """SQLite (no ORDER BY inside an aggregate before 3.44): `json_group_array` reads the
    ordered subquery in its order, as SQLite does not flatten an ordered subquery into an
    aggregate (pinned by `tests/integration/test_rows_folds.py`)."""
    rows = element.rows.subquery("r")
    values = [
        case((c.is_(None), null()), else_=func.printf("%!.17g", c)) if _numeric(c) else c
        for c in rows.c
    ]
    found = func.json_group_array(func.json_array(*values))
    return str(compiler.process(select(found).select_from(rows).scalar_subquery(), **kw))


@compiles(JsonRows, "postgresql")
def _json_rows_postgresql(element: JsonRows, compiler: Any, **kw: Any) -> str:
    """PostgreSQL: the aggregate orders by the select's own ORDER BY, on its subquery."""
    rows = element.rows.subquery("r")
    order = [ClauseAdapter(rows).traverse(c) for c in element.rows._order_by_clauses]
    values = [cast(c, Text) if _numeric(c) else c for c in rows.c]
    found = func.json_agg(aggregate_order_by(func.json_build_array(*values), *order))
    text = func.coalesce(cast(found, Text), literal_column("'[]'"))
    return str(compiler.process(select(text).select_from(rows).scalar_subquery(), **kw))


def _numeric(column: Any) -> bool:
    """Whether a column is a numeric (sent as text)."""
    return issubclass(column.type._type_affinity or type(None), Numeric)


class JsonDecoder:
    """`JsonRows` text back to the rows `prepared.rows` gives for the select, per dialect."""

    def __init__(self, rows: Select[Any]) -> None:
        keys = [str(column.key) for column in rows.selected_columns]
        row = row_class(keys)
        if row is None:
            raise ValueError(f"columns {keys} cannot all be row attributes")
        self.row = row
        self.meta = SimpleResultMetaData(keys)
        self.types = [column.type for column in rows.selected_columns]
        self._plans: dict[str, _Decoding] = {}

    def rows(self, dialect: Dialect, text: str) -> list[Any]:
        """The rows of one JSON text."""
        plan = self._plans.get(dialect.name) or self._plan(dialect)
        data = orjson.loads(text)  # a few times faster than `json.loads`, the same values
        for index, to_driver in plan.natives:
            for values in data:
                if values[index] is not None:
                    values[index] = to_driver(values[index])
        return made_rows(self.meta, plan.processors, self.row, data)

    def _plan(self, dialect: Dialect) -> _Decoding:
        """How the columns decode on this dialect, worked out once."""
        native = _NATIVE.get(dialect.name, {})
        natives: list[tuple[int, Convert]] = []
        processors = []
        for index, kind in enumerate(self.types):
            to_driver, code = native.get(kind._type_affinity, (None, None))
            if to_driver is not None:
                natives.append((index, to_driver))
            processors.append(kind._cached_result_processor(dialect, code))
        plan = _Decoding(tuple(natives), processors if any(processors) else None)
        self._plans[dialect.name] = plan
        return plan


class _Decoding(NamedTuple):
    """A dialect's decoding: the columns whose JSON values become the driver's (by index), and
    the result processors (None: none has one)."""

    natives: tuple[tuple[int, Convert], ...]
    processors: list[Any] | None
