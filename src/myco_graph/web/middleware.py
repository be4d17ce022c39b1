"""ASGI middleware: request ids, access metrics and the request body limit."""

from __future__ import annotations

import logging
import secrets
import time

import orjson
from prometheus_client import Counter, Histogram
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from myco_graph.infrastructure.logs import request_id

log = logging.getLogger(__name__)

REQUESTS = Counter(
    "myco_http_requests_total", "HTTP requests answered", ["method", "path", "status"]
)
LATENCY = Histogram("myco_http_request_seconds", "HTTP request duration", ["path"])

# Metrics are labelled by route, never by raw path, so that ids in paths
# cannot blow up the number of series.
KNOWN_PATHS = {"/graphql", "/healthz", "/readyz", "/metrics"}


class RequestContext:
    """Gives each request an id (kept from ``X-Request-Id`` when sane), times it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in {"http", "websocket"}:
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get("x-request-id", "")
        rid = given if given.isalnum() and len(given) <= 64 else secrets.token_hex(8)
        token = request_id.set(rid)
        path = scope["path"] if scope["path"] in KNOWN_PATHS else "other"
        started = time.perf_counter()
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message).append("x-request-id", rid)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            if scope["type"] == "http":
                REQUESTS.labels(scope["method"], path, str(status)).inc()
                LATENCY.labels(path).observe(elapsed)
            log.debug(
                "request done",
                extra={"path": path, "status": status, "seconds": round(elapsed, 4)},
            )
            request_id.reset(token)


# What the parts of a multipart upload other than the file (the operation,
# its variables, the map of files) may add to the file's own size.
FORM_ALLOWANCE = 64 * 1024


class BodyLimit:
    """Refuses request bodies larger than the limit with 413, streamed or not.

    A ``multipart/form-data`` body carries an upload and may be as large as
    ``max_upload_bytes`` plus :data:`FORM_ALLOWANCE`; any other, ``max_bytes``.
    """

    def __init__(
        self, app: ASGIApp, max_bytes: int, max_upload_bytes: int | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_form_bytes = max_bytes
        if max_upload_bytes is not None:
            self.max_form_bytes = max_upload_bytes + FORM_ALLOWANCE

    def limit(self, headers: Headers) -> int:
        content_type = headers.get("content-type", "").split(";")[0].strip()
        if content_type.lower() == "multipart/form-data":
            return self.max_form_bytes
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        limit = self.limit(headers)
        declared = headers.get("content-length", "0")
        if declared.isdigit() and int(declared) > limit:
            await self._refuse(send, limit)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._refuse(send, limit)

    async def _refuse(self, send: Send, limit: int) -> None:
        body = orjson.dumps(
            {
                "errors": [
                    {
                        "message": f"The request body exceeds {limit} bytes.",
                        "extensions": {"code": "BAD_USER_INPUT"},
                    }
                ]
            }
        )
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    """Raised inside the body limit when the stream passes the limit."""
