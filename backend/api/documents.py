"""Parse and validate each query text once: a byte-bounded cache of checked documents.

Replaces strawberry's ParserCache and ValidationCache, whose caches are keyed by the whole
query text and grow without bound. Every error found here leaves with its `extensions.code`.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from graphql import (
    SKIP,
    ArgumentNode,
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInputType,
    InlineFragmentNode,
    NoSchemaIntrospectionCustomRule,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    ValueNode,
    ValuesOfCorrectTypeRule,
    VisitorAction,
    specified_rules,
    validate,
)
from graphql.pyutils import print_path_list
from graphql.utilities.validate_input_value import validate_input_literal
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter, SchemaExtension
from strawberry.schema.schema import validate_document

from backend.api.errors import BAD_USER_INPUT, tag

INTROSPECTION_DISABLED = "INTROSPECTION_DISABLED"
MAX_REPEATED_FIELDS = 50
# Measured with tracemalloc: a parsed token with its AST share costs ~560 bytes; the source
# text is held once more in token values (4 bytes a character at worst).
BYTES_PER_TOKEN = 700
BYTES_PER_CHARACTER = 8
BYTES_PER_ENTRY = 2048


class _TaggingContext:
    """A validation context whose reported errors get a code."""

    def __init__(self, context: ValidationContext, code: str) -> None:
        self._context = context
        self._code = code

    def report_error(self, error: GraphQLError) -> None:
        """Report the error with this context's code."""
        self._context.report_error(tag(error, self._code))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)


def coded(rule: type[ASTValidationRule], code: str) -> type[ASTValidationRule]:
    """The validation rule, with `extensions.code` on every error it reports."""

    class Coded(rule):  # type: ignore[valid-type,misc]
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(_TaggingContext(context, code))

    Coded.__name__ = Coded.__qualname__ = f"Coded{rule.__name__}"
    return Coded


class BadLiteralRule(ValuesOfCorrectTypeRule):
    """Literals of the wrong type or value are BAD_USER_INPUT, naming the argument and path."""

    argument: str | None = None

    def enter_argument(self, node: ArgumentNode, *_args: Any) -> None:
        """Remember which argument the values belong to."""
        self.argument = node.name.value

    def leave_argument(self, *_args: Any) -> None:
        """Values outside arguments (variable defaults) have no argument."""
        self.argument = None

    def is_valid_value_node(
        self, node: ValueNode, input_type: GraphQLInputType | None
    ) -> VisitorAction:
        """Report each bad value as `Argument 'input' has invalid value at .birthDate: …`."""
        subject = f"Argument '{self.argument}'" if self.argument else "Value"

        def on_error(error: GraphQLError, path: list[str | int]) -> None:
            message = f"{subject} has invalid value{print_path_list(path)}: {error.message}"
            nodes = error.nodes or [node]
            self.report_error(
                tag(
                    GraphQLError(message, nodes, original_error=error.original_error),
                    BAD_USER_INPUT,
                )
            )

        if input_type:
            hide = self.context.hide_suggestions
            validate_input_literal(node, input_type, on_error, None, None, hide)
        return SKIP


class RepeatedFieldsRule(ValidationRule):
    """Refuse a selection set that selects one response name too often (fragments included).

    graphql-core's OverlappingFieldsCanBeMergedRule compares every pair of such fields: 490
    copies of `tiers { code }`, well under the token limit, kept it busy for two seconds.
    """

    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        self.fragments = {
            d.name.value: d.selection_set
            for d in context.document.definitions
            if isinstance(d, FragmentDefinitionNode)
        }
        self.fragment_names: dict[str, Counter[str]] = {}

    def enter_selection_set(self, node: SelectionSetNode, *_args: Any) -> None:
        """Count the response names this selection set merges; report the first over the limit."""
        name, times = (
            self.names(node, frozenset()).most_common(1)[0] if node.selections else ("", 0)
        )
        if times > MAX_REPEATED_FIELDS:
            message = (
                f"'{name}' is selected {times} times in one place (at most {MAX_REPEATED_FIELDS})."
            )
            self.report_error(GraphQLError(message, node))

    def names(self, node: SelectionSetNode, visiting: frozenset[str]) -> Counter[str]:
        """Response names of a selection set, through inline fragments and fragment spreads."""
        names: Counter[str] = Counter()
        for selection in node.selections:
            if isinstance(selection, FieldNode):
                names[(selection.alias or selection.name).value] += 1
            elif isinstance(selection, InlineFragmentNode):
                names.update(self.names(selection.selection_set, visiting))
            elif isinstance(selection, FragmentSpreadNode):
                names.update(self.spread_names(selection.name.value, visiting))
        return names

    def spread_names(self, fragment: str, visiting: frozenset[str]) -> Counter[str]:
        """Response names of a named fragment (memoized; cycles are reported by another rule)."""
        if fragment not in self.fragment_names:
            selection_set = self.fragments.get(fragment)
            if selection_set is None or fragment in visiting:
                return Counter()
            self.fragment_names[fragment] = self.names(selection_set, visiting | {fragment})
        return self.fragment_names[fragment]


@dataclass(frozen=True)
class Rules:
    """Validation in two passes: cheap limits first, so an abusive document skips the rest."""

    limits: tuple[type[ASTValidationRule], ...]
    standard: tuple[type[ASTValidationRule], ...]


def validation_rules(*, max_depth: int, max_aliases: int) -> Rules:
    """The limits, then GraphQL's own rules (bad literals coded) and the introspection check."""
    (depth,) = QueryDepthLimiter(max_depth=max_depth).validation_rules
    (aliases,) = MaxAliasesLimiter(max_alias_count=max_aliases).validation_rules
    limits = (
        coded(depth, "QUERY_TOO_DEEP"),
        coded(aliases, "TOO_MANY_ALIASES"),
        coded(RepeatedFieldsRule, "QUERY_TOO_LARGE"),
    )
    standard = tuple(
        BadLiteralRule if rule is ValuesOfCorrectTypeRule else rule for rule in specified_rules
    )
    return Rules(
        limits, (*standard, coded(NoSchemaIntrospectionCustomRule, INTROSPECTION_DISABLED))
    )


def parse_error_code(error: GraphQLError) -> str:
    """Code a parser error: its limits say "Parsing aborted."; anything else is bad syntax."""
    if "Parsing aborted." not in error.message:
        return "GRAPHQL_PARSE_FAILED"
    return "QUERY_TOO_DEEP" if "nested too deeply" in error.message else "QUERY_TOO_LARGE"


@dataclass(frozen=True)
class CheckedDocument:
    """A parsed document, its validation errors, and the errors to give anonymous callers."""

    document: DocumentNode
    errors: tuple[GraphQLError, ...]
    introspection_errors: tuple[GraphQLError, ...]


def estimated_bytes(query: str, document: DocumentNode) -> int:
    """An upper estimate of the memory a cached document holds (its tokens stay linked)."""
    tokens = 0
    token = document.loc.start_token if document.loc else None
    while token is not None:
        tokens += 1
        token = token.next
    return BYTES_PER_ENTRY + BYTES_PER_CHARACTER * len(query) + BYTES_PER_TOKEN * tokens


class DocumentCache:
    """Checked documents by query text, least recently used first out, bounded in bytes."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self._entries: OrderedDict[str, tuple[CheckedDocument, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, query: str) -> CheckedDocument | None:
        """The checked document for this text, if cached."""
        entry = self._entries.get(query)
        if entry is None:
            return None
        self._entries.move_to_end(query)
        return entry[0]

    def put(self, query: str, checked: CheckedDocument) -> None:
        """Keep a checked document, evicting the least recently used over the budget."""
        cost = estimated_bytes(query, checked.document)
        if cost > self.max_bytes or query in self._entries:
            return
        self._entries[query] = (checked, cost)
        self.size += cost
        while self.size > self.max_bytes:
            _, (_, evicted) = self._entries.popitem(last=False)
            self.size -= evicted


class CheckedDocuments(SchemaExtension):
    """Parse (token-limited) and validate through the cache; introspection only where allowed."""

    def __init__(
        self,
        cache: DocumentCache,
        rules: Rules,
        *,
        max_tokens: int,
        anonymous_introspection: bool,
    ) -> None:
        self.cache = cache
        self.rules = rules
        self.max_tokens = max_tokens
        self.anonymous_introspection = anonymous_introspection
        self.checked: CheckedDocument | None = None

    def on_parse(self) -> Iterator[None]:
        """Reuse a cached document, or let strawberry parse with the token limit."""
        context = self.execution_context
        self.checked = self.cache.get(context.query) if context.query else None
        if self.checked is not None:
            context.graphql_document = self.checked.document
        else:
            context.parse_options["max_tokens"] = self.max_tokens
        yield
        for error in context.pre_execution_errors or ():
            tag(error, parse_error_code(error))

    def on_validate(self) -> Iterator[None]:
        """Validate once per query text; refuse introspection to anonymous callers if asked."""
        context = self.execution_context
        if self.checked is None:
            assert context.graphql_document is not None and context.query is not None
            self.checked = self._check(context.graphql_document)
            self.cache.put(context.query, self.checked)
        errors = list(self.checked.errors)
        if not errors and not self._may_introspect():
            errors = list(self.checked.introspection_errors)
        context.pre_execution_errors = errors
        yield

    def _check(self, document: DocumentNode) -> CheckedDocument:
        """Validate a document, keeping introspection errors apart (they depend on the caller)."""
        schema = self.execution_context.schema._schema
        errors = validate(schema, document, self.rules.limits) or validate_document(
            schema, document, self.rules.standard
        )
        for error in errors:
            tag(error, "GRAPHQL_VALIDATION_FAILED")
        introspection = tuple(e for e in errors if error_is(e, INTROSPECTION_DISABLED))[:1]
        others = tuple(e for e in errors if not error_is(e, INTROSPECTION_DISABLED))
        return CheckedDocument(document, others, introspection)

    def _may_introspect(self) -> bool:
        """Signed-in callers may always introspect; anonymous ones only where configured."""
        principal = getattr(self.execution_context.context, "principal", None)
        return self.anonymous_introspection or principal is not None


def error_is(error: GraphQLError, code: str) -> bool:
    """Whether the error carries this code."""
    return (error.extensions or {}).get("code") == code
