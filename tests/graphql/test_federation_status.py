from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from tortoise.transactions import in_transaction

from myco_graph.domain.models import (
    ActorKind,
    BreakerState,
    Delivery,
    DeliveryState,
    RemoteHost,
)
from myco_graph.federation import outbox
from tests.helpers import GraphQLClient, create_admin

STATUS = """
{
  federationStatus {
    pending
    oldestPendingSeconds
    hosts(first: 10) {
      edges {
        node {
          host breaker pending oldestPendingAt oldestPendingSeconds
          totalFailures consecutiveFailures probeAt lastSuccessAt lastFailureAt
        }
      }
    }
  }
}
"""


async def post_to(*inboxes: str) -> None:
    document = {
        "id": f"http://coop.test/activities/{len(inboxes)}-{inboxes[0]}",
        "type": "Create",
        "actor": "http://coop.test/users/alice",
    }
    async with in_transaction() as conn:
        await outbox.post(
            conn,
            document,
            object_id=document["id"],
            signer=(ActorKind.PERSON, 1),
            inboxes=inboxes,
        )


@pytest.fixture
async def admin(api: GraphQLClient) -> str:
    return await api.log_in(await create_admin())


async def test_admins_see_each_hosts_backlog_and_breaker(
    api: GraphQLClient, admin: str
) -> None:
    hour_ago = datetime.now(UTC) - timedelta(hours=1)
    await post_to("https://up.example/inbox", "https://down.example:8443/inbox")
    await post_to("https://down.example:8443/inbox")
    await Delivery.filter(host="up.example").update(
        state=DeliveryState.DELIVERED, delivered_at=hour_ago
    )
    await Delivery.filter(host="down.example:8443").update(created_at=hour_ago)
    await RemoteHost.create(host="up.example", last_success_at=hour_ago)
    await RemoteHost.create(
        host="down.example:8443",
        breaker=BreakerState.OPEN,
        consecutive_failures=6,
        total_failures=9,
        probe_at=hour_ago + timedelta(hours=2),
        last_failure_at=hour_ago,
    )

    result = await api(STATUS, token=admin)

    status = result.data["federationStatus"]
    assert status["pending"] == 2
    assert 3590 < status["oldestPendingSeconds"] < 3700
    down, up = [edge["node"] for edge in status["hosts"]["edges"]]
    assert down["host"] == "down.example:8443"
    assert (down["breaker"], down["pending"]) == ("OPEN", 2)
    assert (down["totalFailures"], down["consecutiveFailures"]) == (9, 6)
    assert 3590 < down["oldestPendingSeconds"] < 3700
    assert down["probeAt"] is not None and down["lastFailureAt"] is not None
    assert (up["host"], up["breaker"], up["pending"]) == ("up.example", "CLOSED", 0)
    assert up["oldestPendingAt"] is None and up["lastSuccessAt"] is not None


async def test_with_nothing_sent_the_status_is_empty(
    api: GraphQLClient, admin: str
) -> None:
    result = await api(STATUS, token=admin)

    assert result.data["federationStatus"] == {
        "pending": 0,
        "oldestPendingSeconds": None,
        "hosts": {"edges": []},
    }


async def test_only_admins_see_the_status(api: GraphQLClient) -> None:
    member = await api.sign_up("alice")

    as_member = await api(STATUS, token=member)
    anonymous = await api(STATUS)

    assert as_member.codes == ["FORBIDDEN"]
    assert anonymous.codes == ["UNAUTHENTICATED"]
