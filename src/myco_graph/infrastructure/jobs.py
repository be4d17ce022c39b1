"""A small job interface with two backends: arq on Redis, or in-process.

Jobs are plain async functions registered with :func:`job`; they take JSON
keyword arguments only, so that either backend can carry them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, Protocol

from arq.connections import ArqRedis, RedisSettings, create_pool
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from myco_graph.errors import BackendUnavailable

log = logging.getLogger(__name__)

JobFunction = Callable[..., Awaitable[None]]


class Periodic:
    """A job run on a fixed interval by whichever backend is active."""

    def __init__(self, name: str, every: timedelta) -> None:
        self.name = name
        self.every = every


# How long a worker waits for Redis to come back (about two minutes of
# retries, a few seconds apart) before it gives up and exits.
WORKER_REDIS_RETRIES = 60
WORKER_REDIS_BACKOFF = ExponentialBackoff(cap=2.0, base=0.05)

registry: dict[str, JobFunction] = {}
periodic: list[Periodic] = []


def job(
    every: timedelta | None = None,
) -> Callable[[JobFunction], JobFunction]:
    """Registers an async function as a job, optionally run periodically."""

    def register(func: JobFunction) -> JobFunction:
        name = f"{func.__module__}.{func.__qualname__}"
        registry[name] = func
        if every is not None:
            periodic.append(Periodic(name, every))
        return func

    return register


def worker_redis_settings(redis_url: str) -> RedisSettings:
    """Redis settings for a worker, which waits out a short Redis outage.

    Without retries, arq's worker stops at the first failed Redis command and
    abandons the jobs it is running half-way; a delivery it was sending would
    then be sent again once its lease runs out. With them, running jobs
    finish and the worker carries on once Redis is back. The app's own
    connection fails fast instead: a request must not hang on Redis.
    """
    settings = RedisSettings.from_dsn(redis_url)
    # A refused connection reaches the retry as a bare OSError, which redis
    # retries like its own errors though its annotation names only those.
    settings.retry = Retry(
        WORKER_REDIS_BACKOFF,
        WORKER_REDIS_RETRIES,
        supported_errors=(RedisConnectionError, RedisTimeoutError, OSError),  # type: ignore[arg-type]
    )
    return settings


def job_name(func: JobFunction) -> str:
    return f"{func.__module__}.{func.__qualname__}"


class JobQueue(Protocol):
    async def enqueue(self, func: JobFunction, /, **kwargs: Any) -> None: ...

    async def close(self) -> None: ...


class InProcessJobs:
    """Runs each job as a task of this process's event loop (embedded default)."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()
        self._timers: list[asyncio.Task[None]] = []

    async def enqueue(self, func: JobFunction, /, **kwargs: Any) -> None:
        task = asyncio.create_task(self._run(job_name(func), kwargs))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def start_periodic(self) -> None:
        """Starts a timer task for every periodic job."""
        for entry in periodic:
            self._timers.append(asyncio.create_task(self._every(entry)))

    async def drain(self) -> None:
        """Waits until every enqueued job has finished."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        for timer in self._timers:
            timer.cancel()
        await self.drain()

    async def _every(self, entry: Periodic) -> None:
        while True:
            await asyncio.sleep(entry.every.total_seconds())
            await self._run(entry.name, {})

    async def _run(self, name: str, kwargs: dict[str, Any]) -> None:
        try:
            await registry[name](**kwargs)
        except Exception:
            log.exception("job failed", extra={"job": name})


class ArqJobs:
    """Puts jobs on the arq queue in Redis; ``myco-graph worker`` runs them."""

    def __init__(self, pool: ArqRedis) -> None:
        self._pool = pool

    @classmethod
    async def connect(cls, redis_url: str) -> ArqJobs:
        try:
            pool = await create_pool(RedisSettings.from_dsn(redis_url))
        except (RedisError, OSError) as exc:
            raise BackendUnavailable("Redis cannot be reached") from exc
        return cls(pool)

    async def enqueue(self, func: JobFunction, /, **kwargs: Any) -> None:
        try:
            await self._pool.enqueue_job(job_name(func), **kwargs)
        except (RedisError, OSError) as exc:
            raise BackendUnavailable("the job queue cannot be reached") from exc

    async def close(self) -> None:
        await self._pool.aclose()


_queue: JobQueue | None = None


def install_queue(queue: JobQueue | None) -> None:
    """Makes ``queue`` the process's job queue (set once at start)."""
    global _queue
    _queue = queue


def queue() -> JobQueue:
    if _queue is None:
        raise RuntimeError("no job queue installed: the app or worker did not start")
    return _queue
