"""What every benchmark shares: its own PostgreSQL database and Redis, timing."""

from __future__ import annotations

import contextlib
import os
import secrets
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg

from myco_graph.infrastructure.config import Settings
from myco_graph.runtime import running

ADMIN_URL = os.environ.get(
    "MYCO_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("MYCO_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


@contextlib.asynccontextmanager
async def bench_instance(name: str, **overrides: object) -> AsyncIterator[Settings]:
    """A fresh database named after the benchmark, migrated and open; dropped after."""
    database = f"myco_bench_{name}_{secrets.token_hex(3)}"
    admin = await asyncpg.connect(ADMIN_URL)
    try:
        await admin.execute(f'CREATE DATABASE "{database}"')
    finally:
        await admin.close()
    base = ADMIN_URL.rsplit("/", 1)[0]
    settings = Settings(
        database_url=f"{base}/{database}",
        redis_url=REDIS_URL,
        secret_key=secrets.token_urlsafe(40),
        log_level="WARNING",
        **overrides,  # type: ignore[arg-type]
    )
    try:
        from myco_graph.infrastructure import db

        await db.open_database(settings)
        await db.migrate(settings)
        await db.close_database()
        async with running(settings):
            yield settings
    finally:
        admin = await asyncpg.connect(ADMIN_URL)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        finally:
            await admin.close()


async def timed(
    work: Callable[[], Awaitable[object]], *, rounds: int, warmup: int = 3
) -> list[float]:
    """Seconds per call of ``work``, after a few unmeasured calls."""
    for _ in range(warmup):
        await work()
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        await work()
        samples.append(time.perf_counter() - started)
    return samples


def summary(samples: list[float]) -> tuple[float, float, float]:
    """Median, 10th and 90th percentile, in milliseconds."""
    ordered = sorted(samples)
    pick = lambda share: ordered[min(len(ordered) - 1, int(share * len(ordered)))]  # noqa: E731
    return (
        statistics.median(ordered) * 1000,
        pick(0.1) * 1000,
        pick(0.9) * 1000,
    )
