"""The project page: GraphQL against a hand-written raw endpoint, side by side.

The page is one project with its members and the fields they share with it,
the 20 latest messages with their authors, and the open polls and pools.
Both servers run as separate uvicorn processes on the same PostgreSQL
database; the raw one builds the same JSON with asyncpg and orjson, applies
the same consent rule in SQL and folds the same access-log row, so the ratio
is what the GraphQL layers cost, not what consent costs.

    python -m bench.project_page [--members 50] [--seconds 10] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time
from typing import Any

import httpx

from bench.common import bench_instance
from bench.project_data import PAGE_QUERY, populate
from myco_graph.app import make_services
from myco_graph.graphql.context import Context
from myco_graph.graphql.schema import build_schema
from myco_graph.infrastructure.config import Settings

# The load is given in this many rounds per server, alternating.
ROUNDS = 10


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(app: str, port: int, settings: Settings, extra: dict[str, str]) -> Any:
    """A uvicorn process serving ``app`` with the benchmark's settings."""
    env = {
        **os.environ,
        "MYCO_DATABASE_URL": settings.database_url or "",
        "MYCO_REDIS_URL": settings.redis_url or "",
        "MYCO_SECRET_KEY": settings.secret_key or "",
        "MYCO_LOG_LEVEL": "WARNING",
        "MYCO_MAX_PAGE_SIZE": str(settings.max_page_size),
        # The limiter still counts every request; it must not refuse them.
        "MYCO_REQUESTS_PER_MINUTE": "100000000",
        **extra,
    }
    command = [
        sys.executable, "-m", "uvicorn", app, "--factory",
        "--host", "127.0.0.1", "--port", str(port),
        "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = root
    return subprocess.Popen(command, env=env, cwd=root)


async def wait_ready(client: httpx.AsyncClient, url: str) -> None:
    for _ in range(200):
        try:
            if (await client.get(url)).status_code < 500:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


async def load(
    send: Any, *, seconds: float, concurrency: int, limit: int = 100_000
) -> tuple[int, float]:
    """Requests completed by ``concurrency`` loops in ``seconds``, bounded."""
    done = 0
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()

    async def loop() -> None:
        nonlocal done
        while time.perf_counter() < deadline and done < limit:
            await send()
            done += 1

    await asyncio.gather(*(loop() for _ in range(concurrency)))
    return done, time.perf_counter() - started


async def same_page(
    client: httpx.AsyncClient, graphql_port: int, raw_port: int, data: Any, members: int
) -> None:
    """Both servers answer the same JSON, or the comparison means nothing."""
    headers = {"authorization": f"Bearer {data.token}"}
    variables = {"project": data.project_global_id, "members": members}
    graphql = await client.post(
        f"http://127.0.0.1:{graphql_port}/graphql",
        json={"query": PAGE_QUERY, "variables": variables},
        headers=headers,
    )
    raw = await client.get(
        f"http://127.0.0.1:{raw_port}/page/{data.project_id}", headers=headers
    )
    assert graphql.json() == raw.json(), "the two pages differ"


async def statements_for(settings: Settings, members: int) -> int:
    """SQL statements of one page with ``members`` members, run in-process."""
    import logging

    from tests.helpers import count_statements

    services = make_services(settings)
    data = await populate(members, tag=f"s{members}", token_issuer=services.issuer)
    schema = build_schema(settings)
    variables = {"project": data.project_global_id, "members": 200}
    context = Context(services=services, request=None, viewer=data.viewer)  # type: ignore[arg-type]
    warm = await schema.execute(
        PAGE_QUERY, variable_values=variables, context_value=context
    )
    assert not warm.errors, warm.errors
    logging.getLogger("tortoise").setLevel(logging.WARNING)
    with count_statements() as counter:
        context = Context(services=services, request=None, viewer=data.viewer)  # type: ignore[arg-type]
        result = await schema.execute(
            PAGE_QUERY, variable_values=variables, context_value=context
        )
    assert not result.errors, result.errors
    edges = result.data["node"]["members"]["edges"]  # type: ignore[index]
    assert len(edges) == members, len(edges)
    return counter.count


async def main(members: int, seconds: float, concurrency: int) -> None:
    async with bench_instance("project_page", max_page_size=200) as settings:
        statements_10 = await statements_for(settings, 10)
        statements_200 = await statements_for(settings, 200)
        data = await populate(
            members, tag="page", token_issuer=make_services(settings).issuer
        )
        graphql_port, raw_port = free_port(), free_port()
        servers = [
            start("myco_graph.app:app_factory", graphql_port, settings, {}),
            start("bench.raw_page:app_factory", raw_port, settings, {}),
        ]
        try:
            async with httpx.AsyncClient(timeout=30) as client:
                await wait_ready(client, f"http://127.0.0.1:{graphql_port}/healthz")
                await wait_ready(client, f"http://127.0.0.1:{raw_port}/healthz")
                headers = {"authorization": f"Bearer {data.token}"}
                variables = {"project": data.project_global_id, "members": members}

                async def graphql() -> None:
                    response = await client.post(
                        f"http://127.0.0.1:{graphql_port}/graphql",
                        json={"query": PAGE_QUERY, "variables": variables},
                        headers=headers,
                    )
                    body = response.json()
                    assert response.status_code == 200 and "errors" not in body, body

                # Both answers are read and checked alike: the client's work,
                # which shares the machine, is the same for both servers.
                async def raw() -> None:
                    response = await client.get(
                        f"http://127.0.0.1:{raw_port}/page/{data.project_id}",
                        headers=headers,
                    )
                    body = response.json()
                    assert response.status_code == 200 and "errors" not in body, body

                await same_page(client, graphql_port, raw_port, data, members)
                await load(graphql, seconds=1, concurrency=concurrency)
                await load(raw, seconds=1, concurrency=concurrency)
                # Short rounds, each order in turn, so that drift on the
                # machine hits both servers alike.
                totals = {graphql: [0, 0.0], raw: [0, 0.0]}
                for round_ in range(ROUNDS):
                    pair = (graphql, raw) if round_ % 2 == 0 else (raw, graphql)
                    for send in pair:
                        done, spent = await load(
                            send, seconds=seconds / ROUNDS, concurrency=concurrency
                        )
                        totals[send][0] += done
                        totals[send][1] += spent
                (g_done, g_time), (r_done, r_time) = totals[graphql], totals[raw]
        finally:
            for server in servers:
                server.terminate()
                server.wait(timeout=10)

    g_rps, r_rps = g_done / g_time, r_done / r_time
    print(f"project page: {members} members, 20 messages, open polls and pools")
    print(f"{ROUNDS} alternating rounds per server, concurrency {concurrency}")
    print(f"{'server':<12}{'requests':>10}{'seconds':>10}{'req/s':>10}")
    print(f"{'graphql':<12}{g_done:>10}{g_time:>10.1f}{g_rps:>10.1f}")
    print(f"{'raw':<12}{r_done:>10}{r_time:>10.1f}{r_rps:>10.1f}")
    print(f"project_page_vs_raw = {g_rps / r_rps:.3f}")
    print(f"statements_10 = {statements_10}")
    print(f"statements_200 = {statements_200}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=4)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.members, arguments.seconds, arguments.concurrency))
