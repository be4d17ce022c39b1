"""Helpers shared by the tests: GraphQL clients, row counts, a statement counter."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from tortoise import Tortoise
from websockets.asyncio.client import ClientConnection, connect

from myco_graph.domain import accounts
from myco_graph.domain.models import AccountKind

PASSWORD = "correct horse battery"
GRAPHQL_RESPONSE = "application/graphql-response+json"
WS_PROTOCOL = "graphql-transport-ws"


class StatementCounter(logging.Handler):
    """Counts the statements the ORM sends, by listening to its query log."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        # The ORM also logs opening and closing connections on this logger.
        if not str(record.msg).startswith(("Created connection", "Closed connection")):
            self.statements.append(record.getMessage())

    @property
    def count(self) -> int:
        return len(self.statements)


@contextlib.contextmanager
def count_statements() -> Iterator[StatementCounter]:
    """Counts SQL statements run inside the block (the server runs in-process).

    The records stop here: they carry statement parameters, which are
    personal values, so they never reach another handler.
    """
    logger = logging.getLogger("tortoise.db_client")
    counter = StatementCounter()
    saved = logger.level, logger.propagate
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    logger.addHandler(counter)
    try:
        yield counter
    finally:
        logger.removeHandler(counter)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]


async def row_counts() -> dict[str, int]:
    """The number of rows of every table, to prove that nothing was stored."""
    assert Tortoise.apps is not None
    return {
        model._meta.db_table: await model.all().count()
        for model in Tortoise.apps.get_models_iterable()
    }


async def create_admin(handle: str = "root") -> str:
    """Creates an admin through the domain (there is no mutation for it)."""
    await accounts.sign_up(
        accounts.SignUp(
            email=f"{handle}@example.org",
            password=PASSWORD,
            handle=handle,
            display_name=handle.title(),
            kind=AccountKind.ADMIN,
        )
    )
    return f"{handle}@example.org"


@dataclass
class Response:
    status: int
    body: dict[str, Any]
    headers: httpx.Headers

    @property
    def data(self) -> dict[str, Any]:
        assert "errors" not in self.body, self.body.get("errors")
        return self.body["data"]  # type: ignore[no-any-return]

    @property
    def errors(self) -> list[dict[str, Any]]:
        return self.body.get("errors", [])  # type: ignore[no-any-return]

    @property
    def codes(self) -> list[str]:
        return [error["extensions"]["code"] for error in self.errors]


@dataclass
class GraphQLClient:
    """Posts GraphQL operations to the running server."""

    http: httpx.AsyncClient
    headers: dict[str, str] = field(default_factory=dict)

    async def __call__(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        accept: str | None = None,
    ) -> Response:
        headers = dict(self.headers)
        if token is not None:
            headers["authorization"] = f"Bearer {token}"
        if accept is not None:
            headers["accept"] = accept
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers
        )
        return Response(response.status_code, response.json(), response.headers)

    async def sign_up(
        self, handle: str, *, email: str | None = None, account_type: str = "MEMBER"
    ) -> str:
        """Opens an account and returns its session token."""
        result = await self(
            SIGN_UP,
            {
                "input": {
                    "email": email or f"{handle.lower()}@example.org",
                    "password": PASSWORD,
                    "handle": handle,
                    "displayName": handle.title(),
                    "accountType": account_type,
                }
            },
        )
        payload = result.data["signUp"]
        assert payload["userErrors"] == [], payload["userErrors"]
        return payload["token"]  # type: ignore[no-any-return]

    async def log_in(self, email: str, password: str = PASSWORD) -> str:
        """Signs in and returns the new session token."""
        result = await self(LOG_IN, {"input": {"email": email, "password": password}})
        payload = result.data["logIn"]
        assert payload["userErrors"] == [], payload["userErrors"]
        return payload["token"]  # type: ignore[no-any-return]

    async def subscribe_shares(self, token: str, shares: int) -> dict[str, Any]:
        """Subscribes shares and returns the mutation's payload."""
        result = await self(
            SUBSCRIBE_SHARES, {"input": {"shares": shares}}, token=token
        )
        return result.data["subscribeShares"]  # type: ignore[no-any-return]


@dataclass
class Subscriptions:
    """A graphql-transport-ws connection to the running server."""

    socket: ClientConnection

    async def send(self, message: dict[str, Any]) -> None:
        await self.socket.send(json.dumps(message))

    async def receive(self, seconds: float = 5.0) -> dict[str, Any]:
        raw = await asyncio.wait_for(self.socket.recv(), seconds)
        return json.loads(raw)  # type: ignore[no-any-return]

    async def start(self, operation_id: str, query: str) -> None:
        await self.send(
            {"id": operation_id, "type": "subscribe", "payload": {"query": query}}
        )


def websocket_url(server: str) -> str:
    return server.replace("http://", "ws://", 1) + "/graphql"


@contextlib.asynccontextmanager
async def websocket(
    server: str, *, origin: str | None = None
) -> AsyncIterator[Subscriptions]:
    """Opens a graphql-transport-ws connection without initialising it."""
    async with connect(
        websocket_url(server),
        subprotocols=[WS_PROTOCOL],
        origin=origin,
        open_timeout=5,
    ) as socket:
        yield Subscriptions(socket)


@contextlib.asynccontextmanager
async def subscriptions(server: str, token: str | None) -> AsyncIterator[Subscriptions]:
    """An initialised connection, authenticated with ``token`` when given."""
    payload = {"Authorization": f"Bearer {token}"} if token else {}
    async with websocket(server) as connection:
        await connection.send({"type": "connection_init", "payload": payload})
        assert (await connection.receive())["type"] == "connection_ack"
        yield connection


SIGN_UP = """
mutation SignUp($input: SignUpInput!) {
  signUp(input: $input) {
    token
    account { id handle }
    userErrors { field message code }
  }
}
"""

LOG_IN = """
mutation LogIn($input: LogInInput!) {
  logIn(input: $input) {
    token
    account { id handle }
    userErrors { field message code }
  }
}
"""

SUBSCRIBE_SHARES = """
mutation Subscribe($input: SubscribeSharesInput!) {
  subscribeShares(input: $input) {
    entry { id shares amountCents }
    holding { shares amountCents votes }
    userErrors { field message code }
  }
}
"""
