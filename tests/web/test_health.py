from __future__ import annotations

import httpx

from tests.conftest import REDIS_URL


async def test_healthz_answers_ok(http: httpx.AsyncClient) -> None:
    response = await http.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_checks_the_backends(http: httpx.AsyncClient) -> None:
    response = await http.get("/readyz")

    expected = {"database": True} | ({"redis": True} if REDIS_URL else {})
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": expected}


async def test_metrics_count_requests_by_route(http: httpx.AsyncClient) -> None:
    await http.get("/healthz")
    await http.get("/no/such/page/12345")

    body = (await http.get("/metrics")).text

    assert "myco_http_requests_total" in body
    assert 'myco_http_requests_total{method="GET",path="/healthz",status="200"}' in body
    assert 'path="other",status="404"' in body
    assert "12345" not in body
