"""The arq worker as production runs it: its own process, its own start-up."""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
from datetime import timedelta

from arq.connections import RedisSettings, create_pool

from myco_graph.domain.accounts import now
from myco_graph.domain.maintenance import purge_stale_rows
from myco_graph.domain.models import Token
from myco_graph.infrastructure.config import Settings
from myco_graph.infrastructure.jobs import ArqJobs
from tests.helpers import GraphQLClient

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
