"""Limits checked before execution: depth, tokens, aliases and page sizes.

Validation of a document does not depend on its variables, so a document
that passed once is not validated again (a bounded memo per process); the
page-size check, which reads variables, runs on every request from the page
arguments remembered for the document.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    IntValueNode,
    VariableNode,
    Visitor,
    parse,
    visit,
)
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)

from myco_graph.infrastructure.config import Settings

PAGE_ARGUMENTS = ("first", "last")
MEMO_SIZE = 512


@dataclass(frozen=True)
class PageArgument:
    """A ``first``/``last`` argument of a document: a literal or a variable."""

    field: str
    name: str
    literal: int | None
    variable: str | None
    node: object


class _PageArguments(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[PageArgument] = []

    def enter_field(self, node: FieldNode, *_: object) -> None:
        for argument in node.arguments or ():
            if argument.name.value not in PAGE_ARGUMENTS:
                continue
            value = argument.value
            literal = int(value.value) if isinstance(value, IntValueNode) else None
            variable = value.name.value if isinstance(value, VariableNode) else None
            self.found.append(
                PageArgument(
                    node.name.value, argument.name.value, literal, variable, argument
                )
            )


class Memo:
    """A small bounded LRU map, shared by the requests of one process."""

    def __init__(self, size: int = MEMO_SIZE) -> None:
        self.size = size
        self.entries: OrderedDict[str, tuple[PageArgument, ...]] = OrderedDict()

    def get(self, key: str) -> tuple[PageArgument, ...] | None:
        found = self.entries.get(key)
        if found is not None:
            self.entries.move_to_end(key)
        return found

    def put(self, key: str, value: tuple[PageArgument, ...]) -> None:
        self.entries[key] = value
        self.entries.move_to_end(key)
        while len(self.entries) > self.size:
            self.entries.popitem(last=False)


_parse = lru_cache(maxsize=MEMO_SIZE)(parse)


class ParsedOnce(SchemaExtension):
    """Parses each distinct document once per process (bounded).

    Unlike strawberry's ParserCache, a syntax error is left to the normal
    parse step, so it reaches the client through the same error policy.
    """

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.query:
            try:
                context.graphql_document = _parse(
                    context.query, **context.parse_options
                )
            except GraphQLError:
                context.graphql_document = None
        yield


def page_arguments(document: DocumentNode) -> tuple[PageArgument, ...]:
    visitor = _PageArguments()
    visit(document, visitor)
    return tuple(visitor.found)


class ValidatedOnce(SchemaExtension):
    """Skips validation for a document that already passed it, checks page sizes.

    Placed after the limit extensions, whose rules it lets run the first time.
    """

    def __init__(self, *, memo: Memo, max_page_size: int) -> None:
        self.memo = memo
        self.max_page_size = max_page_size

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        key = context.query or ""
        arguments = self.memo.get(key)
        validated = arguments is not None
        if arguments is None and context.graphql_document is not None:
            arguments = page_arguments(context.graphql_document)
        # Set before validation runs: strawberry then stops before executing.
        oversized = self._oversized(arguments or (), context.variables or {})
        if oversized:
            context.pre_execution_errors = oversized
        elif validated:
            context.validation_rules = ()
        yield
        if not validated and arguments is not None and not context.pre_execution_errors:
            self.memo.put(key, arguments)

    def _oversized(
        self, arguments: tuple[PageArgument, ...], variables: dict[str, object]
    ) -> list[GraphQLError]:
        errors = []
        for argument in arguments:
            size = argument.literal
            if argument.variable is not None:
                given = variables.get(argument.variable)
                size = given if isinstance(given, int) else None
            if size is not None and size > self.max_page_size:
                errors.append(
                    GraphQLError(
                        f"'{argument.name}' on '{argument.field}' asks for {size} "
                        f"items; a page holds at most {self.max_page_size}.",
                        nodes=[argument.node],  # type: ignore[list-item]
                    )
                )
        return errors


def limit_extensions(settings: Settings) -> list[Callable[[], SchemaExtension]]:
    """Factories of the limit extensions; strawberry makes fresh ones per request.

    The depth and alias limiters each make their validation rule when they
    are made: they are made once here, and each request gets an extension
    that adds those same rules.
    """
    memo = Memo()
    depth = QueryDepthLimiter(max_depth=settings.max_query_depth).validation_rules
    aliases = MaxAliasesLimiter(settings.max_query_aliases).validation_rules
    return [
        lambda: MaxTokensLimiter(max_token_count=settings.max_query_tokens),
        ParsedOnce,
        lambda: AddValidationRules(depth),
        lambda: AddValidationRules(aliases),
        lambda: ValidatedOnce(memo=memo, max_page_size=settings.max_page_size),
    ]
