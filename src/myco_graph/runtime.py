"""One process's runtime: database, job queue and event bus, opened together."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import myco_graph.domain.maintenance
import myco_graph.federation.activities  # registers its event recorder
import myco_graph.federation.delivery  # noqa: F401  (registers its jobs)
from myco_graph.errors import ConfigurationError
from myco_graph.infrastructure import db, events, jobs, ratelimit
from myco_graph.infrastructure.config import Settings, install_settings


@contextlib.asynccontextmanager
async def running(settings: Settings, *, periodic: bool = False) -> AsyncIterator[None]:
    """Opens the database, the job queue and the event bus for one process.

    ``periodic`` starts the periodic jobs in-process on the embedded default;
    in production the arq worker runs them.
    """
    await db.open_database(settings)
    try:
        if not settings.uses_postgres:
            await db.migrate(settings)
        elif pending := await db.pending_migrations(settings):
            raise ConfigurationError(
                f"the database lacks {len(pending)} migration(s): "
                "run myco-graph migrate"
            )
        if settings.redis_url is None:
            in_process = jobs.InProcessJobs()
            if periodic:
                in_process.start_periodic()
            queue: jobs.JobQueue = in_process
            bus: events.EventBus = events.MemoryBus()
            limiter: ratelimit.Limiter = ratelimit.MemoryLimiter()
        else:
            queue = await jobs.ArqJobs.connect(settings.redis_url)
            bus = await events.RedisBus.connect(settings.redis_url)
            limiter = ratelimit.RedisLimiter.connect(settings.redis_url)
        install_settings(settings)
        jobs.install_queue(queue)
        events.install_bus(bus)
        ratelimit.install_limiter(limiter)
        try:
            yield
        finally:
            await queue.close()
            await bus.close()
            await limiter.close()
            install_settings(None)
            jobs.install_queue(None)
            events.install_bus(None)
            ratelimit.install_limiter(None)
    finally:
        await db.close_database()
