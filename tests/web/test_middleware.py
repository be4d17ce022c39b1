from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.helpers import row_counts


def sign_up_body(padding: int) -> dict[str, object]:
    return {
        "query": "mutation($i: SignUpInput!) { signUp(input: $i) { token } }",
        "variables": {
            "i": {
                "email": "alice@example.org",
                "password": "correct horse battery",
                "handle": "alice",
                "displayName": "Alice",
            },
            "padding": "x" * padding,
        },
    }


async def test_valid_request_id_is_kept(http: httpx.AsyncClient) -> None:
    response = await http.get("/healthz", headers={"x-request-id": "abc123DEF"})

    assert response.headers["x-request-id"] == "abc123DEF"


@pytest.mark.parametrize("given", ["has spaces", "semi;colon", "x" * 65])
async def test_unsafe_request_id_is_replaced(
    http: httpx.AsyncClient, given: str
) -> None:
    response = await http.get("/healthz", headers={"x-request-id": given})

    assert response.headers["x-request-id"] != given
    assert len(response.headers["x-request-id"]) == 16


async def test_request_without_an_id_gets_one(http: httpx.AsyncClient) -> None:
    first = await http.get("/healthz")
    second = await http.get("/healthz")

    assert first.headers["x-request-id"] != second.headers["x-request-id"]


async def test_oversized_body_is_refused_with_413_and_stores_nothing(
    http: httpx.AsyncClient,
) -> None:
    before = await row_counts()

    response = await http.post("/graphql", json=sign_up_body(padding=300_000))

    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT"}
    assert await row_counts() == before


async def test_oversized_streamed_body_is_refused_with_413(
    http: httpx.AsyncClient,
) -> None:
    before = await row_counts()

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"query": "{ viewer { id } }", "padding": "'
        for _ in range(30):
            yield b"x" * 10_000
        yield b'"}'

    response = await http.post(
        "/graphql", content=chunks(), headers={"content-type": "application/json"}
    )

    assert response.status_code == 413
    assert await row_counts() == before


async def test_body_just_under_the_limit_is_served(http: httpx.AsyncClient) -> None:
    response = await http.post("/graphql", json=sign_up_body(padding=190_000))

    assert response.status_code == 200
    assert response.json()["data"]["signUp"]["token"]
