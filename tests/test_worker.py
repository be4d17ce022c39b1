"""The arq worker as production runs it: its own process, its own start-up."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from arq.connections import RedisSettings, create_pool

from myco_graph.domain.accounts import now
from myco_graph.domain.maintenance import purge_stale_rows
from myco_graph.domain.models import Token
from myco_graph.infrastructure.config import Settings
from myco_graph.infrastructure.jobs import ArqJobs
from tests.helpers import GraphQLClient
from tests.redis_server import REDIS_SERVER, OwnRedis

BURST_WORKER = """
import sys
from arq.worker import run_worker
from myco_graph.infrastructure.config import load_settings
from myco_graph.worker import worker_settings

settings = worker_settings(load_settings())
run_worker(settings, queue_name=sys.argv[1], burst=True, poll_delay=0.05)
"""


def environment(settings: Settings) -> dict[str, str]:
    """The variables that point a new process at the test instance."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MYCO_")}
    env |= {
        "MYCO_DATA_DIR": str(settings.data_dir),
        "MYCO_REDIS_URL": settings.redis_url or "",
        "MYCO_SECRET_KEY": settings.secret_key or "",
        "MYCO_LOG_FORMAT": "text",
    }
    if settings.database_url is not None:
        env["MYCO_DATABASE_URL"] = settings.database_url
    return env


async def test_worker_process_runs_the_purge_enqueued_through_redis(
    api: GraphQLClient, settings: Settings, redis_url: str
) -> None:
    await api.sign_up("alice")
    await Token.all().update(expires_at=now() - timedelta(days=8))
    # A queue of its own, so that another test run on this Redis cannot steal
    # the job.
    queue_name = f"test:queue:{secrets.token_hex(4)}"
    pool = await create_pool(
        RedisSettings.from_dsn(redis_url), default_queue_name=queue_name
    )
    await ArqJobs(pool).enqueue(purge_stale_rows)
    await pool.aclose()

    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        BURST_WORKER,
        queue_name,
        env=environment(settings),
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(worker.communicate(), 60)

    assert worker.returncode == 0, stderr.decode()
    assert await Token.all().count() == 0


@pytest.mark.skipif(REDIS_SERVER is None, reason="needs redis-server to run its own")
async def test_worker_waits_for_redis_and_runs_jobs_once_it_answers(
    api: GraphQLClient, settings: Settings, tmp_path: Path
) -> None:
    await api.sign_up("alice")
    await Token.all().update(expires_at=now() - timedelta(days=8))
    redis = OwnRedis(tmp_path / "redis.log")
    env = environment(settings) | {"MYCO_REDIS_URL": redis.url}
    log = (tmp_path / "worker.log").open("wb")
    worker = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "myco-graph"),
        "worker",
        env=env,
        stdout=log,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        # A worker may start before Redis does: it waits for it.
        await asyncio.sleep(3)
        assert worker.returncode is None, (tmp_path / "worker.log").read_text()
        redis.start()
        await redis.ready()
        pool = await create_pool(RedisSettings.from_dsn(redis.url))
        await ArqJobs(pool).enqueue(purge_stale_rows)
        await pool.aclose()
        for _ in range(300):
            if await Token.all().count() == 0:
                break
            await asyncio.sleep(0.1)

        assert await Token.all().count() == 0, (tmp_path / "worker.log").read_text()
    finally:
        if worker.returncode is None:
            worker.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(worker.wait(), 30)
        log.close()
        redis.kill()
    assert code == 0, (tmp_path / "worker.log").read_text()
