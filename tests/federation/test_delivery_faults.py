"""Delivery survives losing Redis in the middle of a fan-out.

A Redis server of the test's own (never the shared one) carries the jobs to
a real ``myco-graph worker`` process. Redis is killed while an activity
fans out to fifty inboxes, activities are posted while it is down, then it
comes back empty, as a Redis without persistence does: the jobs it held and
the wake-ups sent meanwhile are gone, nothing is posted afterwards to wake
delivery again, and the worker's sweeper must find every delivery left
behind. Each inbox must receive each activity once.

The worker waits the outage out (its jobs finish, nothing is sent twice);
the sweeper runs at the start of each minute, so this test takes up to a
minute and a half.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import arq.worker
import pytest
from arq.connections import RedisSettings, create_pool
from tortoise.transactions import in_transaction

from myco_graph.domain.models import ActorKind, Delivery, DeliveryState
from myco_graph.federation import delivery, outbox
from myco_graph.federation.keys import lookup_actor_key
from myco_graph.infrastructure import jobs
from myco_graph.infrastructure.config import Settings, install_settings
from myco_graph.worker import worker_settings
from tests.federation.conftest import changed
from tests.federation.sinks import Reply, Sinks, serving_sinks
from tests.redis_server import REDIS_SERVER, OwnRedis

ACTOR = "http://coop.test/users/alice"
SIGNER = (ActorKind.PERSON, 1)
SINKS = 50
ACTIVITIES = 3
pytestmark = pytest.mark.skipif(
    REDIS_SERVER is None,
    reason="redis-server is not installed: this test runs a Redis of its own",
)


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    redis = OwnRedis(tmp_path / "redis.log")
    redis.start()
    yield redis
    redis.kill()


def worker_environment(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MYCO_")}
    env |= {
        "MYCO_DATA_DIR": str(settings.data_dir),
        "MYCO_REDIS_URL": settings.redis_url or "",
        "MYCO_SECRET_KEY": settings.secret_key or "",
        "MYCO_BASE_URL": str(settings.base_url),
        "MYCO_LOG_FORMAT": "text",
        "MYCO_FEDERATION_ALLOW_PRIVATE_ADDRESSES": "true",
        "MYCO_FEDERATION_DELIVERY_TIMEOUT_SECONDS": "5",
    }
    if settings.database_url is not None:
        env["MYCO_DATABASE_URL"] = settings.database_url
    return env


class Worker:
    """The worker: a ``myco-graph worker`` process on PostgreSQL; on SQLite,
    which one process owns by design, arq's worker in this process."""

    def __init__(self, settings: Settings, redis_url: str, log: Path) -> None:
        self.settings = changed(
            settings,
            redis_url=redis_url,
            federation_allow_private_addresses=True,
            federation_delivery_timeout_seconds=5,
        )
        self.log = log
        self.process: asyncio.subprocess.Process | None = None
        self.in_process: arq.worker.Worker | None = None
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        install_settings(self.settings)
        if self.settings.uses_postgres:
            with self.log.open("ab") as out:
                self.process = await asyncio.create_subprocess_exec(
                    str(Path(sys.executable).parent / "myco-graph"),
                    "worker",
                    env=worker_environment(self.settings),
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            return
        self.in_process = arq.worker.create_worker(
            worker_settings(self.settings),
            on_startup=None,
            on_shutdown=None,
            handle_signals=False,
        )
        self.task = asyncio.create_task(self.in_process.async_run())

    def alive(self) -> bool:
        if self.process is not None:
            return self.process.returncode is None
        return self.task is not None and not self.task.done()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            await self.process.wait()
        if self.in_process is not None and self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
            await self.in_process.pool.aclose()


@pytest.fixture
async def worker(
    settings: Settings, own_redis: OwnRedis, tmp_path: Path
) -> AsyncIterator[Worker]:
    running = Worker(settings, own_redis.url, tmp_path / "worker.log")
    yield running
    await running.stop()
    install_settings(settings)


@pytest.fixture
async def own_queue(own_redis: OwnRedis) -> AsyncIterator[None]:
    """This process enqueues on the test's Redis for the test's length."""
    await own_redis.ready()
    pool = await create_pool(RedisSettings.from_dsn(own_redis.url))
    saved = jobs.queue()
    jobs.install_queue(jobs.ArqJobs(pool))
    yield
    jobs.install_queue(saved)
    with contextlib.suppress(Exception):
        await pool.aclose()


_serial = itertools.count(1)


async def fan_out(sinks: Sinks) -> str:
    """Posts one activity to every sink, then wakes delivery as an event would."""
    activity_id = f"http://coop.test/activities/fault-{next(_serial)}"
    document = {"id": activity_id, "type": "Create", "actor": ACTOR}
    async with in_transaction() as conn:
        await outbox.post(
            conn,
            document,
            object_id=activity_id,
            signer=SIGNER,
            inboxes=[sinks.inbox(i) for i in range(SINKS)],
        )
    await delivery.wake()
    return activity_id


async def all_delivered(expected: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        done = await Delivery.filter(state=DeliveryState.DELIVERED).count()
        if done == expected:
            return
        await asyncio.sleep(0.5)
    states = collections.Counter(await Delivery.all().values_list("state", flat=True))
    raise AssertionError(f"not all delivered in time: {dict(states)}")


async def test_every_delivery_arrives_once_across_a_redis_outage(
    database: None,
    settings: Settings,
    own_redis: OwnRedis,
    own_queue: None,
    worker: Worker,
    tmp_path: Path,
) -> None:
    pair = await lookup_actor_key(*SIGNER)
    async with serving_sinks(SINKS, {f"{ACTOR}#main-key": pair.public_pem}) as sinks:
        for index in range(SINKS):
            sinks.plan(index, *[Reply(202, delay=0.05)] * ACTIVITIES)
        await worker.start()
        posted = [await fan_out(sinks)]
        await sinks.until(SINKS // 2)

        own_redis.kill()
        posted.append(await fan_out(sinks))
        posted.append(await fan_out(sinks))
        own_redis.start()
        await own_redis.ready()

        await all_delivered(SINKS * ACTIVITIES, seconds=120)
        survived = worker.alive()

    received = collections.Counter((hit.host, hit.activity_id) for hit in sinks.hits)
    assert sinks.refused == []
    assert set(received.values()) == {1}
    assert set(received) == {(host, a) for host in sinks.hosts for a in posted}
    assert survived
