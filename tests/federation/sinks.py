"""Remote inboxes played on loopback ports, for the tests of delivery.

Each sink is one port of 127.0.0.1, so one remote host; one uvicorn server
serves them all. A sink checks every POST as a real instance would (Digest,
Date, the draft-cavage signature with the signer's public key) and records
what it received; a test says what it answers, request by request.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from myco_graph.errors import SignatureRefused
from myco_graph.federation.signatures import (
    InboundRequest,
    check_request,
    verify_request,
)


@dataclass(frozen=True)
class Reply:
    """One answer of a sink: a status, headers, and how long it takes."""

    status: int = 202
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass(frozen=True)
class Hit:
    """One POST a sink received and verified."""

    host: str
    path: str
    activity_id: str
    activity_type: str
    key_id: str
    at: float


@dataclass
class Sinks:
    """Inboxes on loopback ports; ``keys`` maps each signer's key id to its PEM."""

    keys: dict[str, str]
    hosts: list[str] = field(default_factory=list)
    hits: list[Hit] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    plans: dict[str, list[Reply]] = field(default_factory=dict)
    arrivals: asyncio.Condition = field(default_factory=asyncio.Condition)

    def inbox(self, index: int) -> str:
        return f"http://{self.hosts[index]}/inbox"

    def plan(self, index: int, *replies: Reply) -> None:
        """The next answers of one sink, in order; then 202 again."""
        self.plans[self.hosts[index]] = list(replies)

    async def until(self, count: int, seconds: float = 30.0) -> None:
        """Waits until ``count`` POSTs were received in all."""
        async with asyncio.timeout(seconds), self.arrivals:
            await self.arrivals.wait_for(lambda: len(self.hits) >= count)

    def received(self, index: int) -> list[Hit]:
        return [hit for hit in self.hits if hit.host == self.hosts[index]]

    async def receive(self, request: Request) -> Response:
        body = await request.body()
        inbound = InboundRequest("POST", request.url.path, dict(request.headers), body)
        try:
            signature = check_request(inbound, moment=datetime.now(UTC))
            public_pem = self.keys[signature.key_id]
            verified = verify_request(inbound, signature, public_pem)
        except (SignatureRefused, KeyError) as exc:
            self.refused.append(type(exc).__name__)
            return Response(status_code=401)
        if not verified:
            self.refused.append("SignatureInvalid")
            return Response(status_code=401)
        host = request.headers["host"]
        reply = self._next_reply(host)
        if reply.delay:
            await asyncio.sleep(reply.delay)
        document = json.loads(body)
        self.hits.append(
            Hit(
                host,
                request.url.path,
                document["id"],
                document["type"],
                signature.key_id,
                time.monotonic(),
            )
        )
        async with self.arrivals:
            self.arrivals.notify_all()
        return Response(status_code=reply.status, headers=reply.headers)

    def _next_reply(self, host: str) -> Reply:
        plan = self.plans.get(host)
        return plan.pop(0) if plan else Reply()


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock


def closed_port_host() -> str:
    """A loopback host:port where nothing listens (connection refused)."""
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    return f"127.0.0.1:{port}"


@contextlib.asynccontextmanager
async def serving_sinks(count: int, keys: dict[str, str]) -> AsyncIterator[Sinks]:
    """Serves ``count`` sinks on ports of 127.0.0.1 for the block's length."""
    sockets = [free_socket() for _ in range(count)]
    sinks = Sinks(keys, hosts=[f"127.0.0.1:{s.getsockname()[1]}" for s in sockets])
    app = Starlette(routes=[Route("/inbox", sinks.receive, methods=["POST"])])
    config = uvicorn.Config(
        app, log_config=None, access_log=False, lifespan="off", backlog=2048
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=sockets))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield sinks
    finally:
        server.should_exit = True
        await task
        for sock in sockets:
            sock.close()
