"""One allow-list of origins: CORS for HTTP, the origin check for websockets."""

from __future__ import annotations

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from tests.helpers import websocket

ALLOWED = "https://app.coop.test"
OTHER = "https://elsewhere.test"


async def preflight(http: httpx.AsyncClient, origin: str) -> httpx.Response:
    return await http.options(
        "/graphql",
        headers={
            "origin": origin,
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization, content-type",
        },
    )


async def test_preflight_from_an_allowed_origin_is_granted(
    http: httpx.AsyncClient,
) -> None:
    response = await preflight(http, ALLOWED)

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert "authorization" in response.headers["access-control-allow-headers"]


async def test_preflight_from_another_origin_is_refused(
    http: httpx.AsyncClient,
) -> None:
    response = await preflight(http, OTHER)

    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


async def test_allowed_origin_can_read_the_request_id(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/graphql", json={"query": "{ viewer { id } }"}, headers={"origin": ALLOWED}
    )

    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert "x-request-id" in response.headers["access-control-expose-headers"]


async def test_another_origin_gets_no_cors_headers(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/graphql", json={"query": "{ viewer { id } }"}, headers={"origin": OTHER}
    )

    assert "access-control-allow-origin" not in response.headers


async def test_websocket_from_an_allowed_origin_is_accepted(server: str) -> None:
    async with websocket(server, origin=ALLOWED) as connection:
        await connection.send({"type": "connection_init", "payload": {}})

        assert (await connection.receive())["type"] == "connection_ack"


async def test_websocket_from_another_origin_is_refused(server: str) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with websocket(server, origin=OTHER):
            pass

    assert refused.value.response.status_code == 403


async def test_websocket_without_an_origin_is_accepted(server: str) -> None:
    async with websocket(server) as connection:
        await connection.send({"type": "connection_init", "payload": {}})

        assert (await connection.receive())["type"] == "connection_ack"
