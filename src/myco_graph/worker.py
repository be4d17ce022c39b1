"""The arq worker: runs queued jobs and the periodic ones, from Redis."""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any

from arq import cron
from arq.worker import create_worker, func
from redis.exceptions import RedisError

import myco_graph.domain.maintenance
import myco_graph.federation.activities  # registers its event recorder
import myco_graph.federation.delivery  # noqa: F401  (registers its jobs)
from myco_graph.errors import ConfigurationError
from myco_graph.infrastructure import db, events, jobs
from myco_graph.infrastructure.config import Settings, install_settings

log = logging.getLogger(__name__)

POLL_SECONDS = 0.05

# arq's worker stops for good on a Redis error that its connection's retries
# do not cover (one met inside a WATCH is never retried); it is started
# again, up to this many times in a row, this long apart. A run that lasted
# RESTART_RESET_SECONDS counts as healthy and resets the count.
RESTARTS = 60
RESTART_PAUSE_SECONDS = 2.0
RESTART_RESET_SECONDS = 300.0


def _adapt(function: jobs.JobFunction) -> Any:
    """arq passes a context first; our jobs take only their keyword arguments."""

    async def call(ctx: dict[str, Any], **kwargs: Any) -> None:
        await function(**kwargs)

    call.__qualname__ = function.__qualname__
    return call


def _schedule(every: timedelta) -> dict[str, Any]:
    """arq's cron fields for an interval that divides an hour or a day."""
    minutes = int(every.total_seconds() // 60)
    if minutes < 60 and 60 % minutes == 0:
        return {"minute": set(range(0, 60, minutes))}
    hours = minutes // 60
    if minutes % 60 == 0 and 24 % hours == 0:
        return {"minute": {0}, "hour": set(range(0, 24, hours))}
    raise ConfigurationError(f"a periodic job cannot run every {every}")


def worker_settings(settings: Settings) -> type:
    """An arq settings class bound to this instance's settings."""
    assert settings.redis_url is not None

    async def startup(ctx: dict[str, Any]) -> None:
        await db.open_database(settings)
        install_settings(settings)
        jobs.install_queue(jobs.ArqJobs(ctx["redis"]))
        events.install_bus(await events.RedisBus.connect(settings.redis_url or ""))

    async def shutdown(ctx: dict[str, Any]) -> None:
        await events.bus().close()
        events.install_bus(None)
        jobs.install_queue(None)
        install_settings(None)
        await db.close_database()

    return type(
        "WorkerSettings",
        (),
        {
            "functions": [
                func(_adapt(f), name=name) for name, f in jobs.registry.items()
            ],
            "cron_jobs": [
                cron(_adapt(jobs.registry[p.name]), name=p.name, **_schedule(p.every))
                for p in jobs.periodic
            ],
            "on_startup": startup,
            "on_shutdown": shutdown,
            "redis_settings": jobs.worker_redis_settings(settings.redis_url),
            "max_jobs": 50,
            # Deliveries are woken by jobs: half a second between polls of
            # the queue (arq's default) was most of a fan-out's latency.
            "poll_delay": POLL_SECONDS,
            # Our jobs return nothing, and their outcome lives in PostgreSQL.
            "keep_result": 0,
        },
    )


def run_worker(settings: Settings) -> None:
    """Runs the worker until it is stopped by a signal, through Redis outages.

    When arq's worker stops on a lost Redis, it has already let its running
    jobs finish (arq's close waits for them), so a job is never cut off
    half-way; a fresh worker then takes over once Redis answers again.
    """
    failures = 0
    while True:
        started = time.monotonic()
        try:
            create_worker(worker_settings(settings)).run()
            return
        except (RedisError, OSError) as exc:
            if time.monotonic() - started > RESTART_RESET_SECONDS:
                failures = 0
            failures += 1
            if failures > RESTARTS:
                raise
            log.warning(
                "worker lost Redis; starting again",
                extra={"error": type(exc).__name__, "attempt": failures},
            )
            time.sleep(RESTART_PAUSE_SECONDS)
