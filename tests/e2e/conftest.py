"""Three real instances, a, b and c, for the tests of federation end to end.

They are started once for the session and share nothing but loopback: each
test makes accounts and projects with names of its own. When a test fails,
the logs of every process are added to its report.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import pytest

from tests.e2e.harness import Cluster, cluster

ADMIN_DATABASE_URL = os.environ.get("MYCO_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("MYCO_TEST_REDIS_URL")
CLUSTER_KEY = pytest.StashKey[Cluster]()


@pytest.fixture(scope="session")
async def instances(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> AsyncIterator[Cluster]:
    folder = tmp_path_factory.mktemp("e2e")
    async with cluster(
        folder, ("a", "b", "c"), admin_url=ADMIN_DATABASE_URL, redis_url=REDIS_URL
    ) as started:
        request.config.stash[CLUSTER_KEY] = started
        yield started


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    started = item.config.stash.get(CLUSTER_KEY, None)
    if report.failed and started is not None:
        report.sections.append(("instance logs", started.log_text()))
