"""Helpers shared by the tests: a GraphQL client and a SQL statement counter."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

PASSWORD = "correct horse battery"


class StatementCounter(logging.Handler):
    """Counts the statements the ORM sends, by listening to its query log."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = str(record.msg)
        # The ORM also logs pool creation and closing on this logger.
        if not message.startswith(("Created connection pool", "Closed connection pool")):
            self.statements.append(message)

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
    ) -> Response:
        headers = dict(self.headers)
        if token is not None:
            headers["authorization"] = f"Bearer {token}"
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


SIGN_UP = """
mutation SignUp($input: SignUpInput!) {
  signUp(input: $input) {
    token
    account { id handle }
    userErrors { field message code }
  }
}
"""
