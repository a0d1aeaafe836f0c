"""Read statements run straight on the driver's cursor, with SQLAlchemy's own processing.

`Connection.execute` builds an execution context per statement (compiled-cache lookup, bound
parameters, result metadata): on the dashboard's reads that was most of the reader threads'
time, the database's own work a few per cent. A select given to `rows` (`first`, `one`,
`scalar_one`) is compiled once per dialect and length of its `IN` lists; a run binds the
parameters in the compiled order through the same bind processors, executes on the DBAPI cursor
and makes the same `Row`s through the same result processors. Statement listeners
(`before_cursor_execute`) still see every statement, a driver's error still comes as
SQLAlchemy's `DBAPIError` (a lost connection invalidated), and a connection that has not begun
begins first, as `execute` would (the SQLite writer's `BEGIN IMMEDIATE`). Give it statements
built once (module constants): their plans are kept.

The rows are tuples whose columns read as attributes in one step (`row.kind`): a SQLAlchemy
`Row` finds an attribute only after the ordinary lookup has failed (about ten times a tuple
index), and the hot paths read hundreds a request. They compare, hash, index and unpack as the
`Row`s they are made from, and offer `_mapping`, `_fields` and `_asdict()`; a statement whose
column names could not all be attributes (or would shadow one of `Row`'s) keeps `Row`s.
"""

from __future__ import annotations

import keyword
from collections import namedtuple
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, Select
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.engine.result import SimpleResultMetaData
from sqlalchemy.exc import MultipleResultsFound, NoResultFound
from sqlalchemy.sql.compiler import SQLCompiler

Processor = Any  # a bind or result processor, or None


@dataclass
class _Plan:
    """A select rendered for one dialect and one length of each `IN` list: SQL, where each
    positional parameter comes from, bind processors, row metadata."""

    sql: str
    sources: tuple[tuple[str, int | None], ...]  # (parameter, index in its list or None)
    binds: tuple[Processor, ...]
    values: dict[str, Any]  # the statement's own values (`remaining > 0`): used unless given
    types: tuple[Any, ...]
    meta: SimpleResultMetaData
    row: type[tuple[Any, ...]] | None  # the rows' class (None: SQLAlchemy's `Row`)
    results: list[Processor] | None = None  # known once a cursor has described the columns

    @classmethod
    def of(cls, compiled: SQLCompiler, params: Mapping[str, Any]) -> _Plan:
        """Render `compiled` for the lengths of the lists in `params`."""
        state = compiled.construct_expanded_state(params)
        expanded = {
            new: (old, i)
            for old, news in state.parameter_expansion.items()
            for i, new in enumerate(news)
        }
        names = tuple(state.positiontup or ())
        # the expanded list items' processors come with the state, the others with the statement
        processors = {**compiled._bind_processors, **state.processors}
        columns = compiled._result_columns
        keys = [column.keyname for column in columns]
        return cls(
            sql=state.statement,
            sources=tuple(expanded.get(name, (name, None)) for name in names),
            binds=tuple(processors.get(name) for name in names),
            values={name: b.value for name, b in compiled.binds.items() if not b.required},
            types=tuple(column.type for column in columns),
            meta=SimpleResultMetaData(keys),
            row=row_class(keys),
        )

    def parameters(self, params: Mapping[str, Any]) -> tuple[Any, ...]:
        """The positional parameters of one run, each through its bind processor."""
        given = {**self.values, **params} if self.values else params
        values = (given[n] if i is None else given[n][i] for n, i in self.sources)
        return tuple(
            value if bind is None else bind(value)
            for value, bind in zip(values, self.binds, strict=True)
        )

    def processors(self, dialect: Dialect, description: Any) -> list[Processor] | None:
        """The result processors, from the cursor's description (as `CursorResult` looks them up)."""
        if self.results is None:
            self.results = [
                kind._cached_result_processor(dialect, column[1])
                for kind, column in zip(self.types, description, strict=True)
            ]
        return self.results if any(self.results) else None


@dataclass
class _Statement:
    """A select compiled for one dialect, with its plans by the lengths of its `IN` lists."""

    compiled: SQLCompiler | None  # None: it renders values into the SQL, so it is not planned
    expanding: tuple[str, ...]
    plans: dict[tuple[int, ...], _Plan]

    @classmethod
    def of(cls, statement: Select[Any], dialect: Dialect) -> _Statement:
        """Compile `statement` once."""
        compiled = statement.compile(dialect=dialect)
        if compiled.literal_execute_params:
            return cls(None, (), {})
        return cls(compiled, tuple(p.key for p in compiled.post_compile_params), {})

    def plan(self, params: Mapping[str, Any]) -> _Plan | None:
        """The plan for these parameters' list lengths, made on first use."""
        if self.compiled is None:
            return None
        lengths = tuple(len(params[name]) for name in self.expanding)
        if lengths not in self.plans:
            if len(self.plans) >= _MAX_PLANS:
                return None
            self.plans[lengths] = _Plan.of(self.compiled, params)
        return self.plans[lengths]


_STATEMENTS: dict[tuple[Select[Any], str], _Statement] = {}
_MAX_PLANS = 1024  # statements are built once, at import: more means one is built per call


def _plan(conn: Connection, statement: Select[Any], params: Mapping[str, Any]) -> _Plan | None:
    """The plan of a statement for the connection's dialect and these parameters."""
    key = (statement, conn.dialect.name)
    if key not in _STATEMENTS:
        if len(_STATEMENTS) >= _MAX_PLANS:
            return None
        _STATEMENTS[key] = _Statement.of(statement, conn.dialect)
    return _STATEMENTS[key].plan(params)


def rows(conn: Connection, statement: Select[Any], params: Mapping[str, Any]) -> list[Any]:
    """Every row of a select built once (a module constant), as `conn.execute(...).all()`."""
    plan = _plan(conn, statement, params)
    if plan is None:
        return list(conn.execute(statement, params).all())
    if not conn.in_transaction():
        conn.begin()
    parameters = plan.parameters(params)
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        if conn.dispatch.before_cursor_execute:
            conn.dispatch.before_cursor_execute(conn, cursor, plan.sql, parameters, None, False)
        cursor.execute(plan.sql, parameters)
        data = cursor.fetchall()
        processors = plan.processors(conn.dialect, cursor.description)
    except BaseException as error:
        # As `execute` would: a `DBAPIError` (which units of work retry on), a lost connection
        # invalidated, `handle_error` listeners told.
        conn._handle_dbapi_exception(error, plan.sql, parameters, cursor, None)
    finally:
        cursor.close()
    return made_rows(plan.meta, processors, plan.row, data)


def made_rows(
    meta: SimpleResultMetaData,
    processors: list[Processor] | None,
    row: type[tuple[Any, ...]] | None,
    data: Sequence[Sequence[Any]],
) -> list[Any]:
    """Rows of the driver's values through the result processors: `row` tuples (SQLAlchemy
    `Row`s when None)."""
    index = meta._key_to_index
    if row is None:
        return [Row(meta, processors, index, values) for values in data]
    if processors is None:
        return [tuple.__new__(row, values) for values in data]
    return [tuple.__new__(row, Row(meta, processors, index, values)) for values in data]


def row_class(keys: Sequence[str]) -> type[tuple[Any, ...]] | None:
    """A tuple class reading `keys` as attributes, or None when one could not be an attribute
    (not an identifier, private, repeated) or would shadow one of `Row`'s (`count`, `t`, ...)."""
    if len(set(keys)) != len(keys) or not all(map(_plain_name, keys)):
        return None
    base = namedtuple("PreparedRow", keys)  # type: ignore[misc]
    return type("PreparedRow", (base,), {"__slots__": (), "_mapping": property(_mapping)})


def _plain_name(key: str) -> bool:
    """Whether a column name can be a row attribute without shadowing anything."""
    return (
        key.isidentifier()
        and not keyword.iskeyword(key)
        and not key.startswith("_")
        and not hasattr(Row, key)
    )


def _mapping(row: Any) -> dict[str, Any]:
    """The row's columns by name, as `Row._mapping`."""
    return dict(zip(row._fields, row, strict=True))


def first(conn: Connection, statement: Select[Any], params: Mapping[str, Any]) -> Any:
    """The first row, or None (for statements of at most one row)."""
    found = rows(conn, statement, params)
    return found[0] if found else None


def one(conn: Connection, statement: Select[Any], params: Mapping[str, Any]) -> Any:
    """The only row; NoResultFound or MultipleResultsFound otherwise, as `Result.one()`."""
    found = rows(conn, statement, params)
    if not found:
        raise NoResultFound("No row was found when one was required")
    if len(found) > 1:
        raise MultipleResultsFound("Multiple rows were found when exactly one was required")
    return found[0]


def scalar_one(conn: Connection, statement: Select[Any], params: Mapping[str, Any]) -> Any:
    """The first column of the only row."""
    return one(conn, statement, params)[0]
