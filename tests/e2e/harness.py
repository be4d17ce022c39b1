"""Real instances as separate processes, for tests across instances.

Each instance is ``myco-graph serve`` on its own loopback port with its own
database: a PostgreSQL database of its own when ``MYCO_TEST_DATABASE_URL`` is
set, else SQLite in its own data folder. With ``MYCO_TEST_REDIS_URL`` it also
gets a Redis database of its own and a ``myco-graph worker`` that sends its
deliveries, as in production. Every process is bounded in time and always
stopped; its output goes to a log file the tests print when they fail.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx

from tests.helpers import GraphQLClient

MYCO_GRAPH = str(Path(sys.executable).parent / "myco-graph")
# Redis databases the instances use, one each; the test run owns them.
REDIS_DATABASES = (8, 9, 10)
START_SECONDS = 60.0
STOP_SECONDS = 10.0
# How long a delivery may take to show on the other side.
DELIVERY_SECONDS = 20.0
LOG_TAIL = 200

T = TypeVar("T")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def with_path(url: str, path: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=path))


@dataclass
class Instance:
    """One running instance: its URL, its environment, its processes and logs."""

    name: str
    folder: Path
    port: int
    database_url: str | None
    redis_url: str | None
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)
    client: httpx.AsyncClient | None = None
    # Every process of the instance shares it, as production requires.
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(40))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def domain(self) -> str:
        """The part after ``@`` in addresses of this instance: host and port."""
        return f"127.0.0.1:{self.port}"

    @property
    def sqlite_path(self) -> Path:
        return self.folder / "data" / "myco.sqlite3"

    @property
    def api(self) -> GraphQLClient:
        assert self.client is not None, "the instance is not started"
        return GraphQLClient(self.client)

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MYCO_")}
        env |= {
            "MYCO_BASE_URL": self.url,
            "MYCO_DATA_DIR": str(self.folder / "data"),
            "MYCO_SECRET_KEY": self.secret,
            "MYCO_FEDERATION_ALLOW_PRIVATE_ADDRESSES": "true",
            "MYCO_LOG_FORMAT": "text",
            "MYCO_LOG_LEVEL": "INFO",
            "MYCO_LOGIN_ATTEMPTS_PER_MINUTE": "1000",
            "MYCO_REQUESTS_PER_MINUTE": "100000",
        }
        if self.database_url is not None:
            env["MYCO_DATABASE_URL"] = self.database_url
        if self.redis_url is not None:
            env["MYCO_REDIS_URL"] = self.redis_url
        return env

    def spawn(self, role: str, *arguments: str) -> subprocess.Popen[bytes]:
        log = self.folder / f"{role}.log"
        self.logs.append(log)
        with log.open("ab") as out:
            process = subprocess.Popen(
                [MYCO_GRAPH, *arguments],
                env=self.environment(),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.processes.append(process)
        return process

    def migrate(self) -> None:
        process = self.spawn("migrate", "migrate")
        try:
            code = process.wait(START_SECONDS)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{self.name}: migrate did not finish") from None
        if code != 0:
            raise AssertionError(f"{self.name}: migrate failed\n{self.log_text()}")

    async def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.migrate()
        self.spawn("serve", "serve", "--host", "127.0.0.1", "--port", str(self.port))
        if self.redis_url is not None:
            self.spawn("worker", "worker")
        self.client = httpx.AsyncClient(base_url=self.url, timeout=30)
        await self.wait_ready()

    async def wait_ready(self) -> None:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            for process in self.processes[1:]:
                if process.poll() is not None:
                    raise AssertionError(
                        f"{self.name}: a process exited\n{self.log_text()}"
                    )
            with contextlib.suppress(httpx.HTTPError):
                assert self.client is not None
                if (await self.client.get("/readyz")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
        raise AssertionError(f"{self.name}: not ready in time\n{self.log_text()}")

    async def stop(self) -> None:
        if self.client is not None:
            await self.client.aclose()
        for process in self.processes:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(STOP_SECONDS)

    def log_text(self, tail: int = LOG_TAIL) -> str:
        parts = []
        for log in self.logs:
            lines = log.read_text(errors="replace").splitlines() if log.exists() else []
            parts.append(f"--- {self.name} {log.name} ---\n" + "\n".join(lines[-tail:]))
        return "\n".join(parts)

    async def database_text(self) -> str:
        """Every text value stored by this instance, to search for a value."""
        if self.database_url is None:
            # iterdump reads through the SQL engine: rows still in the
            # write-ahead log are included.
            with sqlite3.connect(self.sqlite_path) as conn:
                return "\n".join(conn.iterdump())
        conn = await asyncpg.connect(self.database_url)
        try:
            return await _all_text(conn)
        finally:
            await conn.close()


async def _all_text(conn: asyncpg.Connection) -> str:
    """Each row of each table of the public schema, as text."""
    tables = await conn.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
    )
    dumps = []
    for table in tables:
        # Table names come from the catalogue, quoted as identifiers.
        name = '"' + table["tablename"].replace('"', '""') + '"'
        rows = await conn.fetch(f"SELECT t::text AS row FROM {name} AS t")  # noqa: S608
        dumps.extend(row["row"] for row in rows)
    return "\n".join(dumps)


@dataclass
class Cluster:
    """Several instances started together, stopped together."""

    instances: list[Instance]
    admin_url: str | None

    def log_text(self) -> str:
        return "\n".join(instance.log_text() for instance in self.instances)


async def _admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _flush_redis(url: str) -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(url)
    try:
        await client.flushdb()
    finally:
        await client.aclose()


@contextlib.asynccontextmanager
async def cluster(
    folder: Path,
    names: tuple[str, ...],
    *,
    admin_url: str | None,
    redis_url: str | None,
) -> AsyncIterator[Cluster]:
    """Starts one instance per name; stops them and drops their databases after."""
    run = secrets.token_hex(3)
    instances = []
    for index, name in enumerate(names):
        database = f"myco_e2e_{run}_{name}"
        instances.append(
            Instance(
                name=name,
                folder=folder / name,
                port=free_port(),
                database_url=with_path(admin_url, f"/{database}")
                if admin_url
                else None,
                redis_url=(
                    with_path(redis_url, f"/{REDIS_DATABASES[index]}")
                    if redis_url
                    else None
                ),
            )
        )
    started = Cluster(instances, admin_url)
    try:
        for instance in instances:
            if admin_url is not None:
                await _admin(admin_url, f'CREATE DATABASE "{_database(instance)}"')
            if instance.redis_url is not None:
                await _flush_redis(instance.redis_url)
            await instance.start()
        yield started
    finally:
        for instance in instances:
            await instance.stop()
        if admin_url is not None:
            for instance in instances:
                await _admin(
                    admin_url,
                    f'DROP DATABASE IF EXISTS "{_database(instance)}" WITH (FORCE)',
                )


def _database(instance: Instance) -> str:
    assert instance.database_url is not None
    return urlsplit(instance.database_url).path.lstrip("/")


async def eventually(
    probe: Callable[[], Awaitable[T]],
    done: Callable[[T], bool],
    *,
    seconds: float = DELIVERY_SECONDS,
    what: str = "the change",
) -> T:
    """Polls ``probe`` until ``done`` holds for its result, for a bounded time."""
    deadline = time.monotonic() + seconds
    while True:
        result = await probe()
        if done(result):
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not arrive in {seconds} s: {result!r}")
        await asyncio.sleep(0.2)
