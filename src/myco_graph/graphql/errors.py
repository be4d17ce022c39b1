"""The one table from an error to what a GraphQL client sees.

Client errors keep their message and gain ``extensions.code``; anything else
is logged with its traceback and masked as ``INTERNAL`` with the request id,
so a driver message (which may quote a member's value) never leaves.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, ParamSpec, TypeVar, get_type_hints

import strawberry
from graphql import GraphQLError
from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.extensions import SchemaExtension
from strawberry.types.execution import StreamExecutionResult

from myco_graph import errors
from myco_graph.infrastructure.logs import request_id

log = logging.getLogger(__name__)

CODES: dict[type[errors.ClientError], str] = {
    errors.Unauthenticated: "UNAUTHENTICATED",
    errors.Forbidden: "FORBIDDEN",
    errors.NotFound: "NOT_FOUND",
    errors.BadUserInput: "BAD_USER_INPUT",
    errors.ConsentRequired: "CONSENT_REQUIRED",
    errors.RateLimited: "RATE_LIMITED",
}

HTTP_STATUS: dict[str, int] = {
    "UNAUTHENTICATED": 401,
    "FORBIDDEN": 403,
    "NOT_FOUND": 404,
    "BAD_USER_INPUT": 400,
    "RATE_LIMITED": 429,
    "INTERNAL": 500,
}


def code_of(error: errors.ClientError) -> str:
    for cls in type(error).__mro__:
        if cls in CODES:
            return CODES[cls]
    return "BAD_USER_INPUT"


def client_extensions(error: errors.ClientError) -> dict[str, Any]:
    """``extensions`` for a client error: its code and its typed details."""
    extensions: dict[str, Any] = {"code": code_of(error)}
    if isinstance(error, errors.ConsentRequired):
        extensions["reason"] = error.reason
    if isinstance(error, errors.RateLimited):
        extensions["retryAfter"] = round(error.retry_after, 1)
    if isinstance(error, errors.BadUserInput) and error.field:
        extensions["field"] = error.field
    return extensions


def is_request_error(error: GraphQLError) -> bool:
    """True for parse, validation and variable errors: nothing was executed."""
    return error.path is None and error.original_error is None


# graphql-core and strawberry quote the rejected value when a variable
# cannot be coerced ("Variable '$input' has invalid value at .a.b: … 'x'",
# "… got invalid value 'x' at 'input.a'"); the value may be personal, so
# only the variable and the path are kept.
INVALID_VARIABLE = re.compile(r"^Variable '\$(?P<name>\w+)' (?:got|has) invalid value")
VARIABLE_PATH = re.compile(r" at '?(?P<path>[\w.\[\]]+)'?[:;]")


def _without_value(message: str) -> str:
    match = INVALID_VARIABLE.match(message)
    if match is None:
        return message
    # The path comes before the value in strawberry's wording, after it in
    # graphql-core's: taking the one on the far side of the value keeps a
    # value that looks like " at x:" from being taken for the path.
    paths = VARIABLE_PATH.findall(message)
    path = paths[0] if message.startswith("has", match.end("name") + 2) else None
    if path is None and paths:
        path = paths[-1]
    where = f" at {path}" if path else ""
    return f"Variable '${match['name']}' has an invalid value{where}."


def is_input_error(error: GraphQLError) -> bool:
    """Input the client sent could not be read: its own fault, not our bug."""
    original = error.original_error
    return isinstance(original, StrawberryInputCoercionError | GraphQLError) or (
        original is not None and INVALID_VARIABLE.match(error.message) is not None
    )


def present(error: GraphQLError) -> GraphQLError:
    """The error as the client may see it."""
    original = error.original_error
    if isinstance(original, errors.ClientError):
        return _with(error, original.message, client_extensions(original))
    if original is None or is_input_error(error):
        code = (error.extensions or {}).get("code", "BAD_USER_INPUT")
        return _with(error, _without_value(error.message), {"code": code})
    return _with(
        error,
        "Internal server error.",
        {"code": "INTERNAL", "requestId": request_id.get()},
    )


def _with(
    error: GraphQLError, message: str, extensions: dict[str, Any]
) -> GraphQLError:
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=error.original_error,
        extensions=extensions,
    )


def log_unexpected(graphql_errors: list[GraphQLError]) -> None:
    """Logs errors we did not raise on purpose, with their traceback."""
    for error in graphql_errors:
        original = error.original_error
        if original is None or isinstance(original, errors.ClientError):
            continue
        if is_input_error(error):
            continue
        log.error(
            "unexpected error in resolver",
            exc_info=(type(original), original, original.__traceback__),
            extra={"path": error.path},
        )


class ErrorPolicy(SchemaExtension):
    """Rewrites every error of a result through :func:`present`.

    Over websockets each result goes out through ``on_stream_result`` before
    the operation ends, so both hooks apply the policy, each result once.
    """

    def on_operation(self) -> Iterator[None]:
        self._streamed = False
        yield
        if not self._streamed:
            _present_errors(self.execution_context.result)

    def on_stream_result(self, result: StreamExecutionResult) -> Iterator[None]:
        self._streamed = True
        _present_errors(result)
        yield


def _present_errors(result: Any) -> None:
    if result is not None and getattr(result, "errors", None):
        result.errors = [present(error) for error in result.errors]


@strawberry.type
class UserError:
    """A problem with one part of a mutation's input."""

    message: str
    code: str
    field: list[str] | None = None


P = ParamSpec("P")
R = TypeVar("R")


def user_errors(
    resolver: Callable[P, Awaitable[R]],
) -> Callable[P, Awaitable[R]]:
    """Turns BadUserInput raised by a mutation into its payload's ``userErrors``.

    The payload type is read from the resolver's return annotation and must
    accept ``user_errors`` as its only required argument.
    """
    payload_type = get_type_hints(resolver)["return"]

    @functools.wraps(resolver)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await resolver(*args, **kwargs)
        except errors.BadUserInput as exc:
            field = exc.field.split(".") if exc.field else None
            error = UserError(message=exc.message, code=code_of(exc), field=field)
            return payload_type(user_errors=[error])  # type: ignore[no-any-return]

    return wrapper
