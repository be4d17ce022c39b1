from __future__ import annotations

import logging
import secrets

import pytest
from arq.connections import RedisSettings, create_pool
from arq.worker import create_worker

from myco_graph.infrastructure.config import Settings
from myco_graph.infrastructure.jobs import (
    ArqJobs,
    InProcessJobs,
    job,
    job_name,
    periodic,
    registry,
)
from myco_graph.worker import worker_settings

seen: list[int] = []


@job()
async def remember(value: int) -> None:
    seen.append(value)


@job()
async def explode() -> None:
    raise RuntimeError("boom")


@pytest.fixture(autouse=True)
def forget() -> None:
    seen.clear()


def test_job_registers_under_its_module_and_name() -> None:
    assert registry[job_name(remember)] is remember
    assert job_name(remember) == "tests.infrastructure.test_jobs.remember"


def test_purge_runs_every_hour() -> None:
    [purge] = [p for p in periodic if p.name.endswith("purge_stale_rows")]

    assert purge.every.total_seconds() == 3600


async def test_in_process_jobs_run_a_registered_job() -> None:
    jobs = InProcessJobs()

    await jobs.enqueue(remember, value=3)
    await jobs.drain()

    assert seen == [3]


async def test_a_failing_job_is_logged_and_the_queue_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    jobs = InProcessJobs()

    await jobs.enqueue(explode)
    await jobs.enqueue(remember, value=4)
    await jobs.close()

    assert seen == [4]
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert record.getMessage() == "job failed"
    assert record.exc_info is not None


def test_worker_runs_every_registered_job_and_the_periodic_ones() -> None:
    settings = worker_settings(Settings(redis_url="redis://127.0.0.1:6379/0"))

    names = {function.name for function in settings.functions}  # type: ignore[attr-defined]
    crons = {cron.name: cron for cron in settings.cron_jobs}  # type: ignore[attr-defined]

    assert set(registry) <= names
    purge = crons["myco_graph.domain.maintenance.purge_stale_rows"]
    assert purge.minute == {0}
    assert "myco_graph.domain.maintenance.sweep_orphaned_file_bytes" in crons


@pytest.mark.filterwarnings("ignore:Call to deprecated close:DeprecationWarning")
async def test_arq_worker_runs_a_job_enqueued_through_redis(redis_url: str) -> None:
    # A queue of its own, so that another test run on this Redis cannot steal
    # the job.
    queue_name = f"test:queue:{secrets.token_hex(4)}"
    pool = await create_pool(
        RedisSettings.from_dsn(redis_url), default_queue_name=queue_name
    )
    await ArqJobs(pool).enqueue(remember, value=5)
    # The worker's start-up opens the database and installs the queue and
    # the bus; in this process the test server already holds all three.
    worker = create_worker(
        worker_settings(Settings(redis_url=redis_url)),
        queue_name=queue_name,
        burst=True,
        poll_delay=0.05,
        handle_signals=False,
        on_startup=None,
        on_shutdown=None,
    )

    await worker.main()
    await worker.close()
    await pool.aclose()

    assert seen == [5]
