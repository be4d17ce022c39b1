"""Test set-up: a real database and, when configured, real PostgreSQL and Redis.

With nothing configured the suite runs on the embedded backends (SQLite, jobs
and events in-process). ``MYCO_TEST_DATABASE_URL`` (an admin URL of a
PostgreSQL server) and ``MYCO_TEST_REDIS_URL`` switch to the real services;
the suite then creates, and finally drops, a database of its own.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
import uvicorn
from tortoise import Tortoise, connections

from myco_graph.app import create_app
from myco_graph.domain import consent
from myco_graph.infrastructure import db
from myco_graph.infrastructure.config import Settings
from tests.helpers import GraphQLClient

ADMIN_DATABASE_URL = os.environ.get("MYCO_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("MYCO_TEST_REDIS_URL")


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str | None]:
    """A fresh PostgreSQL database for this run, or None for SQLite."""
    if ADMIN_DATABASE_URL is None:
        yield None
        return
    name = f"myco_test_{secrets.token_hex(4)}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(ADMIN_DATABASE_URL)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    yield with_database(ADMIN_DATABASE_URL, name)
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def settings(
    database_url: str | None, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    data_dir: Path = tmp_path_factory.mktemp("data")
    return Settings(
        database_url=database_url,
        redis_url=REDIS_URL,
        data_dir=data_dir,
        base_url="http://coop.test",
        secret_key=secrets.token_urlsafe(40),
        log_format="text",
        graphiql=True,
        cors_origins=["https://app.coop.test"],
        max_body_bytes=200_000,
        max_page_size=50,
        # High, so that the suite's many requests from one address never
        # trip them; tests of the limits use an app with low ones.
        login_attempts_per_minute=1_000,
        requests_per_minute=100_000,
    )


@pytest.fixture(scope="session")
async def server(settings: Settings) -> AsyncIterator[str]:
    """The real app under uvicorn on a loopback port, in the tests' event loop."""
    if settings.uses_postgres:
        await migrate_first(settings)
    config = uvicorn.Config(
        create_app(settings),
        host="127.0.0.1",
        port=0,
        log_config=None,
        access_log=False,
        lifespan="on",
    )
    instance = uvicorn.Server(config)
    task = asyncio.create_task(instance.serve())
    while not instance.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = instance.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    instance.should_exit = True
    await task


async def migrate_first(settings: Settings) -> None:
    """On PostgreSQL, serving refuses a database without its migrations."""
    await db.open_database(settings)
    try:
        await db.migrate(settings)
    finally:
        await db.close_database()


@pytest.fixture(autouse=True)
async def clean_tables(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """Empties every table after each test that used the server."""
    yield
    if "server" not in request.fixturenames:
        return
    # What the process keeps of the data goes with it.
    consent.forget_kept_grants()
    conn = connections.get("default")
    assert Tortoise.apps is not None
    # Table names come from the models, never from a request.
    tables = [model._meta.db_table for model in Tortoise.apps.get_models_iterable()]
    if conn.capabilities.dialect == "postgres":
        truncate = f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"
        await conn.execute_script(truncate)
    else:
        deletes = "".join(f"DELETE FROM {table};" for table in tables)  # noqa: S608
        await conn.execute_script(
            f"PRAGMA foreign_keys=OFF;{deletes}DELETE FROM sqlite_sequence;"  # noqa: S608
            "PRAGMA foreign_keys=ON;"
        )


@pytest.fixture
async def http(server: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server, timeout=30) as client:
        yield client


@pytest.fixture
def api(http: httpx.AsyncClient) -> GraphQLClient:
    return GraphQLClient(http)


@pytest.fixture
def database(server: str) -> None:
    """The ORM, opened by the running server, for tests of the domain itself."""


@pytest.fixture
def redis_url() -> str:
    """The test Redis; tests of Redis itself are skipped without one."""
    if REDIS_URL is None:
        pytest.skip("set MYCO_TEST_REDIS_URL to test against Redis")
    return REDIS_URL
