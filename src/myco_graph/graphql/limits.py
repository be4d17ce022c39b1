"""Limits checked before execution: depth, tokens, aliases and page sizes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from graphql import (
    FieldNode,
    GraphQLError,
    IntValueNode,
    VariableNode,
    Visitor,
    visit,
)
from strawberry.extensions import (
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)

from myco_graph.infrastructure.config import Settings

PAGE_ARGUMENTS = ("first", "last")


class _PageSizeVisitor(Visitor):
    def __init__(self, limit: int, variables: dict[str, Any]) -> None:
        super().__init__()
        self.limit = limit
        self.variables = variables
        self.errors: list[GraphQLError] = []

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        for argument in node.arguments or ():
            if argument.name.value not in PAGE_ARGUMENTS:
                continue
            size = self._value(argument.value)
            if isinstance(size, int) and size > self.limit:
                self.errors.append(
                    GraphQLError(
                        f"'{argument.name.value}' on '{node.name.value}' asks for "
                        f"{size} items; a page holds at most {self.limit}.",
                        nodes=[argument],
                    )
                )

    def _value(self, value: Any) -> Any:
        if isinstance(value, IntValueNode):
            return int(value.value)
        if isinstance(value, VariableNode):
            return self.variables.get(value.name.value)
        return None


class PageSizeLimiter(SchemaExtension):
    """Refuses a request whose ``first``/``last`` exceeds the page size limit.

    It reads literals and variable values alike, so the check happens before
    any resolver runs.
    """

    def __init__(self, *, max_page_size: int) -> None:
        self.max_page_size = max_page_size

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None and context.pre_execution_errors is None:
            visitor = _PageSizeVisitor(self.max_page_size, context.variables or {})
            visit(document, visitor)
            if visitor.errors:
                context.pre_execution_errors = visitor.errors
        yield


def limit_extensions(settings: Settings) -> list[Callable[[], SchemaExtension]]:
    """Factories of the limit extensions; strawberry makes fresh ones per request."""
    return [
        lambda: MaxTokensLimiter(max_token_count=settings.max_query_tokens),
        lambda: QueryDepthLimiter(max_depth=settings.max_query_depth),
        lambda: MaxAliasesLimiter(max_alias_count=settings.max_query_aliases),
        lambda: PageSizeLimiter(max_page_size=settings.max_page_size),
    ]
