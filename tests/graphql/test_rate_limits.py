"""Rate limits, through apps with low limits on the suite's running backends.

The limits live in each app's settings and the counts in the process's
limiter (Redis when configured), so an app with low limits shares the real
counting backend without slowing the rest of the suite. Anonymous requests
of the whole suite share one address, so these tests count per token or per
account.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest

from myco_graph.app import create_app
from myco_graph.infrastructure.config import Settings
from tests.helpers import PASSWORD, GraphQLClient

LOG_IN = """
mutation($input: LogInInput!) { logIn(input: $input) { token userErrors { message } } }
"""
VIEWER = {"query": "{ viewer { id } }"}


@contextlib.asynccontextmanager
async def client_of(
    settings: Settings, **limits: int
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app with these limits, on the running backends."""
    app = create_app(settings.model_copy(update=limits))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://coop.test"
    ) as client:
        yield client


@pytest.fixture
async def strict(settings: Settings, server: str) -> AsyncIterator[httpx.AsyncClient]:
    """Three requests a minute per token."""
    async with client_of(settings, requests_per_minute=3) as client:
        yield client


@pytest.fixture
async def guarded(settings: Settings, server: str) -> AsyncIterator[httpx.AsyncClient]:
    """Two sign-in attempts a minute per address and per account."""
    async with client_of(settings, login_attempts_per_minute=2) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def test_requests_over_the_limit_get_429_with_retry_after(
    api: GraphQLClient, strict: httpx.AsyncClient
) -> None:
    token = await api.sign_up("alice")

    answers = [
        await strict.post("/graphql", json=VIEWER, headers=bearer(token))
        for _ in range(4)
    ]

    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    refused = answers[-1]
    assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert 0 < int(refused.headers["retry-after"]) <= 60


async def test_one_token_over_its_limit_leaves_others_alone(
    api: GraphQLClient, strict: httpx.AsyncClient
) -> None:
    alice, bob = await api.sign_up("alice"), await api.sign_up("bob")
    for _ in range(4):
        await strict.post("/graphql", json=VIEWER, headers=bearer(alice))

    answer = await strict.post("/graphql", json=VIEWER, headers=bearer(bob))

    assert answer.status_code == 200


async def test_password_guessing_is_slowed_even_with_the_right_password(
    api: GraphQLClient, guarded: httpx.AsyncClient
) -> None:
    await api.sign_up("alice")
    wrong = {"email": "alice@example.org", "password": "not the password"}
    right = {"email": "alice@example.org", "password": PASSWORD}
    for _ in range(2):
        await guarded.post(
            "/graphql", json={"query": LOG_IN, "variables": {"input": wrong}}
        )

    answer = await guarded.post(
        "/graphql", json={"query": LOG_IN, "variables": {"input": right}}
    )

    body = answer.json()
    assert body["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert 0 < body["errors"][0]["extensions"]["retryAfter"] <= 60
    assert body["data"] is None
