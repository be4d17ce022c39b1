"""GraphQL over HTTP and websockets, as the GraphQL-over-HTTP spec asks.

Strawberry's ASGI view does the transport; this subclass adds bearer-token
authentication, ``application/graphql-response+json`` with 4xx statuses for
request errors, and JSON bodies for transport errors.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

import orjson
from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse, process_result
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types import ExecutionResult

from myco_graph import errors
from myco_graph.graphql.context import Context, Services
from myco_graph.graphql.errors import (
    HTTP_STATUS,
    client_extensions,
    code_of,
    is_request_error,
)
from myco_graph.graphql.schema import Schema
from myco_graph.infrastructure import ratelimit

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"


def bearer_token(value: str | None) -> str | None:
    """The token in an ``Authorization: Bearer …`` value; None when absent."""
    if value is None or value == "":
        return None
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise errors.Unauthenticated(
            "Send the token as 'Authorization: Bearer <token>'."
        )
    return token.strip()


LANGUAGES = ("en", "fr")


def preferred_language(header: str | None) -> str:
    """The best of our languages for an ``Accept-Language`` header."""
    best, best_weight = LANGUAGES[0], 0.0
    for part in (header or "").split(","):
        tag, _, params = part.strip().partition(";")
        language = tag.strip().lower().split("-")[0]
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        if language in LANGUAGES and weight > best_weight:
            best, best_weight = language, weight
    return best


def client_address(request: Request | WebSocket) -> str:
    return request.client.host if request.client else "unknown"


def accepts_graphql_response(request: Request) -> bool:
    return GRAPHQL_RESPONSE in request.headers.get("accept", "")


def error_body(message: str, extensions: dict[str, Any]) -> bytes:
    return orjson.dumps({"errors": [{"message": message, "extensions": extensions}]})


class GraphQLView(GraphQL[Context, None]):
    """The ``/graphql`` endpoint for HTTP and graphql-transport-ws."""

    def __init__(self, schema: Schema, services: Services) -> None:
        settings = services.settings
        super().__init__(
            schema,
            graphql_ide="graphiql" if settings.graphiql else None,
            allowed_origins=settings.cors_origins,
            subscription_protocols=("graphql-transport-ws",),
            # Files arrive as the GraphQL multipart request spec says; the
            # body limit lets such requests be as large as an upload.
            multipart_uploads_enabled=True,
        )
        self.services = services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            if scope["type"] == "http":
                await self._count_request(Request(scope))
            await super().__call__(scope, receive, send)
        except errors.Unauthenticated as exc:
            response = Response(
                error_body(exc.message, client_extensions(exc)),
                status_code=HTTP_STATUS[code_of(exc)],
                media_type=JSON,
                headers={"www-authenticate": "Bearer"},
            )
            await response(scope, receive, send)
        except errors.RateLimited as exc:
            response = Response(
                error_body(exc.message, client_extensions(exc)),
                status_code=HTTP_STATUS[code_of(exc)],
                media_type=JSON,
                headers={"retry-after": str(math.ceil(exc.retry_after))},
            )
            await response(scope, receive, send)

    async def _count_request(self, request: Request) -> None:
        """Counts the request against its token, or its address when anonymous."""
        token = request.headers.get("authorization")
        if token:
            key = "token:" + hashlib.sha256(token.encode()).hexdigest()[:32]
        else:
            key = "address:" + client_address(request)
        limit = self.services.settings.requests_per_minute
        wait = await ratelimit.limiter().hit(key, limit, 60)
        if wait is not None:
            raise errors.RateLimited(
                "Too many requests; wait and retry.", retry_after=wait
            )

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        context = Context(
            services=self.services,
            request=request,
            response=response,
            language=preferred_language(request.headers.get("accept-language")),
        )
        if isinstance(request, Request):
            await self._authenticate(context, request.headers.get("authorization"))
        return context

    async def on_ws_connect(self, context: Context) -> None:
        params = context.connection_params or {}
        value = params.get("Authorization") or params.get("authorization")
        try:
            await self._authenticate(context, value if isinstance(value, str) else None)
        except errors.Unauthenticated as exc:
            raise ConnectionRejectionError({"message": exc.message}) from exc

    async def _authenticate(self, context: Context, header: str | None) -> None:
        token = bearer_token(header)
        if token is not None:
            issuer = self.services.issuer
            context.viewer, context.token = await issuer.authenticate(token)

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        sub_response = await super().get_sub_response(request)
        request.state.sub_response = sub_response
        return sub_response

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        body = process_result(result)
        request_error = result.data is None and any(
            is_request_error(error) for error in result.errors or ()
        )
        if request_error:
            # Nothing was executed: the spec wants no "data" entry at all.
            body.pop("data", None)
        if accepts_graphql_response(request):
            sub_response: Response = request.state.sub_response
            sub_response.media_type = GRAPHQL_RESPONSE
            if request_error:
                sub_response.status_code = 400
        return body

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        return Response(
            self.encode_json(response_data),
            status_code=sub_response.status_code or 200,
            media_type=sub_response.media_type or JSON,
            headers={
                key: value
                for key, value in sub_response.headers.items()
                if key not in {"content-type", "content-length"}
            },
        )

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    async def run(
        self, request: Any, context: Any = None, root_value: Any = None
    ) -> Any:
        try:
            return await super().run(request)
        except HTTPException as exc:
            status, headers = exc.status_code, {}
            if request.method == "GET" and isinstance(
                exc.__cause__, InvalidOperationTypeError
            ):
                # GraphQL over HTTP, section "GET": a mutation sent with GET
                # is answered 405, where strawberry says 400.
                status, headers = 405, {"allow": "POST"}
            return Response(
                error_body(exc.reason, {"code": "BAD_USER_INPUT"}),
                status_code=status,
                media_type=JSON,
                headers=headers,
            )
        finally:
            if isinstance(request, Request):
                # Strawberry never closes a multipart form: its uploads would
                # hold open temporary files until garbage collection.
                await request.close()
