"""Inboxes: signed activities from a peer on 127.0.0.1, taken once or refused.

The peer signs its POSTs with its own key and publishes its actor; this
instance serves its federation routes on a loopback base URL so that the
peer's Follow can name one of its Groups, and fetches the peer's key and
actor as two real instances would.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from myco_graph.domain import instances
from myco_graph.domain.models import (
    FollowerState,
    OutboxActivity,
    ReceivedActivity,
    RemoteFollower,
    RemoteKey,
    Visibility,
)
from myco_graph.federation import lookups
from myco_graph.federation.keys import generate_pair
from myco_graph.federation.signatures import sign_request
from myco_graph.infrastructure.config import Settings
from tests.federation.conftest import (
    ACTOR_PATH,
    PEER_PUBLIC_PEM,
    Peer,
    member,
    payload,
    project,
)
from tests.federation.exchange import Instance, instance_serving


@pytest.fixture(scope="session")
async def instance(server: str, settings: Settings) -> AsyncIterator[Instance]:
    async with instance_serving(settings) as served:
        yield served


def follow(peer: Peer, instance: Instance, group: str = "gardeners") -> dict[str, Any]:
    """The recorded Mastodon Follow, addressed between the peer and us."""
    text = json.dumps(payload("mastodon_follow.json"))
    text = text.replace("https://mastodon.example", peer.url)
    text = text.replace("https://coop.example", instance.url)
    document: dict[str, Any] = json.loads(text)
    document["object"] = f"{instance.url}/groups/{group}"
    return document


async def post(
    client: httpx.AsyncClient,
    url: str,
    peer: Peer,
    body: bytes,
    *,
    private_pem: str | None = None,
    moment: datetime | None = None,
    signed_body: bytes | None = None,
) -> httpx.Response:
    key = peer.signing_key(private_pem) if private_pem else peer.signing_key()
    headers = sign_request(
        key,
        "POST",
        url,
        signed_body if signed_body is not None else body,
        moment=moment,
    )
    headers["content-type"] = "application/activity+json"
    return await client.post(url, content=body, headers=headers)


def encoded(document: dict[str, Any]) -> bytes:
    return json.dumps(document).encode()


def actor_fetches(peer: Peer) -> int:
    return sum(1 for received in peer.received if received.target == ACTOR_PATH)


async def nothing_stored() -> bool:
    received = await ReceivedActivity.all().count()
    followers = await RemoteFollower.all().count()
    return received == followers == 0


# Taken -----------------------------------------------------------------------


async def test_mastodon_follow_of_a_public_group_is_recorded(
    instance: Instance, peer: Peer, peer_client: httpx.AsyncClient
) -> None:
    gardeners = await project(await member("olga"), "gardeners")
    peer.publish_actor()
    activity = follow(peer, instance)

    response = await post(peer_client, f"{instance.url}/inbox", peer, encoded(activity))

    assert response.status_code == 202
    [follower] = await RemoteFollower.all()
    assert follower.project_id == gardeners.id
    assert follower.actor == peer.actor
    assert follower.shared_inbox == f"{peer.url}/inbox"
    assert follower.inbox == f"{peer.actor}/inbox"
    assert follower.follow_id == activity["id"]
    assert follower.state == FollowerState.ACCEPTED
    [received] = await ReceivedActivity.all()
    assert (received.activity_id, received.type) == (activity["id"], "Follow")


async def test_group_inbox_takes_a_follow(
    instance: Instance, peer: Peer, peer_client: httpx.AsyncClient
) -> None:
    await project(await member("olga"), "gardeners")
    peer.publish_actor()
    url = f"{instance.url}/groups/gardeners/inbox"

    response = await post(peer_client, url, peer, encoded(follow(peer, instance)))

    assert response.status_code == 202
    assert await RemoteFollower.all().count() == 1


async def test_same_activity_is_processed_once(
    instance: Instance, peer: Peer, peer_client: httpx.AsyncClient
) -> None:
    await project(await member("olga"), "gardeners")
    peer.publish_actor()
    body = encoded(follow(peer, instance))
    first = await post(peer_client, f"{instance.url}/inbox", peer, body)
    fetched = actor_fetches(peer)

    second = await post(peer_client, f"{instance.url}/inbox", peer, body)

    assert first.status_code == second.status_code == 202
    assert await ReceivedActivity.all().count() == 1
    assert await RemoteFollower.all().count() == 1
    assert actor_fetches(peer) == fetched


async def test_unknown_type_is_acknowledged_and_ignored(
    instance: Instance, peer: Peer, peer_client: httpx.AsyncClient
) -> None:
    peer.publish_actor()
    activity = follow(peer, instance) | {"type": "Like"}

    response = await post(peer_client, f"{instance.url}/inbox", peer, encoded(activity))

    assert response.status_code == 202
    assert await ReceivedActivity.filter(type="Like").count() == 1
    assert await RemoteFollower.all().count() == 0


# Not found -------------------------------------------------------------------


async def test_follow_of_a_private_project_is_not_found(
    instance: Instance, peer: Peer, peer_client: httpx.AsyncClient
) -> None:
    await project(await member("olga"), "secrets", visibility=Visibility.PRIVATE)
    peer.publish_actor()
    activity = follow(peer, instance, group="secrets")

    response = await post(peer_client, f"{instance.url}/inbox", peer, encoded(activity))

    assert response.status_code == 404
    assert await nothing_stored()


async def test_follow_of_an_unknown_group_is_not_found(
    instance: Instance, peer: Peer, peer_client: httpx.AsyncClient
) -> None:
    peer.publish_actor()
    activity = follow(peer, instance, group="nobody")

    response = await post(peer_client, f"{instance.url}/inbox", peer, encoded(activity))

    assert response.status_code == 404
    assert await nothing_stored()


async def test_inbox_of_a_private_project_is_not_found(
    instance: Instance, peer: Peer, peer_client: httpx.AsyncClient
) -> None:
    await project(await member("olga"), "secrets", visibility=Visibility.PRIVATE)
    url = f"{instance.url}/groups/secrets/inbox"

    response = await post(peer_client, url, peer, encoded(follow(peer, instance)))

    assert response.status_code == 404
    assert actor_fetches(peer) == 0


# Refused ---------------------------------------------------------------------


async def test_unsigned_activity_is_refused(
    instance: Instance, peer: Peer, peer_client: httpx.AsyncClient
) -> None:
    await project(await member("olga"), "gardeners")
    peer.publish_actor()

    response = await peer_client.post(
        f"{instance.url}/inbox", content=encoded(follow(peer, instance))
    )

    assert response.status_code == 401
    assert "not signed" in response.json()["error"]
    assert await nothing_stored()


async def test_signature_by_another_key_is_refused(
    instance: Instance, peer: Peer, peer_client: httpx.AsyncClient
) -> None:
    await project(await member("olga"), "gardeners")
    peer.publish_actor()
    impostor = generate_pair()

    response = await post(
        peer_client,
        f"{instance.url}/inbox",
        peer,
        encoded(follow(peer, instance)),
        private_pem=impostor.private_pem,
    )

    assert response.status_code == 401
    assert "does not verify" in response.json()["error"]
    assert await nothing_stored()


async def test_body_not_matching_its_digest_is_refused(
    instance: Instance, peer: Peer, peer_client: httpx.AsyncClient
) -> None:
    await project(await member("olga"), "gardeners")
    peer.publish_actor()
    activity = follow(peer, instance)
    tampered = encoded(activity | {"object": f"{instance.url}/groups/other"})

    response = await post(
        peer_client,
        f"{instance.url}/inbox",
        peer,
        tampered,
        signed_body=encoded(activity),
    )

    assert response.status_code == 401
    assert "Digest" in response.json()["error"]
    assert await nothing_stored()


async def test_stale_date_is_refused(
    instance: Instance, peer: Peer, peer_client: httpx.AsyncClient
) -> None:
    await project(await member("olga"), "gardeners")
    peer.publish_actor()

    response = await post(
        peer_client,
        f"{instance.url}/inbox",
        peer,
        encoded(follow(peer, instance)),
        moment=datetime.now(UTC) - timedelta(hours=2),
    )

    assert response.status_code == 401
    assert "Date" in response.json()["error"]
    assert await nothing_stored()
    assert actor_fetches(peer) == 0


async def test_oversized_body_is_refused(
    instance: Instance, peer: Peer, peer_client: httpx.AsyncClient
) -> None:
    peer.publish_actor()
    activity = follow(peer, instance)
    activity["padding"] = "x" * instance.settings.max_body_bytes

    response = await post(peer_client, f"{instance.url}/inbox", peer, encoded(activity))

    assert response.status_code == 413
    assert "exceeds" in response.json()["error"]
    assert await nothing_stored()


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[]",
        b'{"type": "Follow", "actor": "http://127.0.0.1/users/zoe"}',
        b'{"id": "http://127.0.0.1/1", "actor": "http://127.0.0.1/users/zoe"}',
        b'{"id": "http://127.0.0.1/1", "type": "Follow"}',
    ],
    ids=["not_json", "not_an_object", "no_id", "no_type", "no_actor"],
)
async def test_malformed_activity_is_refused(
    instance: Instance, peer: Peer, peer_client: httpx.AsyncClient, body: bytes
) -> None:
    peer.publish_actor()

    response = await post(peer_client, f"{instance.url}/inbox", peer, body)

    assert response.status_code == 400
    assert response.json()["error"]
    assert await nothing_stored()


async def test_activity_id_on_another_origin_is_refused(
    instance: Instance, peer: Peer, peer_client: httpx.AsyncClient
) -> None:
    peer.publish_actor()
    activity = follow(peer, instance) | {"id": "https://elsewhere.example/1"}

    response = await post(peer_client, f"{instance.url}/inbox", peer, encoded(activity))

    assert response.status_code == 400
    assert await nothing_stored()


async def test_activity_of_another_actor_than_the_signer_is_refused(
    instance: Instance, peer: Peer, peer_client: httpx.AsyncClient
) -> None:
    await project(await member("olga"), "gardeners")
    peer.publish_actor()
    activity = follow(peer, instance) | {"actor": f"{peer.url}/users/mallory"}

    response = await post(peer_client, f"{instance.url}/inbox", peer, encoded(activity))

    assert response.status_code == 401
    assert "actor" in response.json()["error"]
    assert await nothing_stored()


async def test_blocked_instance_is_refused(
    instance: Instance, peer: Peer, peer_client: httpx.AsyncClient
) -> None:
    await project(await member("olga"), "gardeners")
    await instances.block("127.0.0.1")  # what blockInstance does for an admin
    peer.publish_actor()

    response = await post(
        peer_client, f"{instance.url}/inbox", peer, encoded(follow(peer, instance))
    )

    assert response.status_code == 403
    assert await nothing_stored()
    assert actor_fetches(peer) == 0


async def test_app_serves_the_shared_inbox(http: httpx.AsyncClient) -> None:
    response = await http.post("/inbox", content=b"{}")

    assert response.status_code == 400


# More of the same ------------------------------------------------------------


async def test_member_inbox_takes_activities_and_unknown_ones_are_not_found(
    instance: Instance, peer: Peer, peer_client: httpx.AsyncClient
) -> None:
    await member("alice")
    peer.publish_actor()
    body = encoded(follow(peer, instance) | {"type": "Like"})

    known = await post(peer_client, f"{instance.url}/users/alice/inbox", peer, body)
    unknown = await post(peer_client, f"{instance.url}/users/nobody/inbox", peer, body)

    assert (known.status_code, unknown.status_code) == (202, 404)
    assert await ReceivedActivity.all().count() == 1


async def test_follow_of_a_member_is_acknowledged_and_ignored(
    instance: Instance, peer: Peer, peer_client: httpx.AsyncClient
) -> None:
    await member("alice")
    peer.publish_actor()
    activity = follow(peer, instance) | {"object": f"{instance.url}/users/alice"}

    response = await post(peer_client, f"{instance.url}/inbox", peer, encoded(activity))

    assert response.status_code == 202
    assert await RemoteFollower.all().count() == 0


async def test_follow_by_an_actor_that_is_not_a_person_is_rejected(
    instance: Instance, peer: Peer, peer_client: httpx.AsyncClient
) -> None:
    await project(await member("olga"), "gardeners")
    peer.publish_actor()
    document = json.loads(peer.answers[ACTOR_PATH].body) | {"type": "Service"}
    peer.answer_json(ACTOR_PATH, document)

    response = await post(
        peer_client, f"{instance.url}/inbox", peer, encoded(follow(peer, instance))
    )

    assert response.status_code == 202
    assert await RemoteFollower.all().count() == 0
    [answer] = await OutboxActivity.all()
    assert answer.type == "Reject"


async def test_unreachable_follower_is_answered_502_and_kept_for_a_retry(
    instance: Instance, peer: Peer, peer_client: httpx.AsyncClient
) -> None:
    await project(await member("olga"), "gardeners")
    await RemoteKey.create(
        key_id=peer.key_id,
        owner=peer.actor,
        public_pem=PEER_PUBLIC_PEM,
        fetched_at=datetime.now(UTC),
    )
    body = encoded(follow(peer, instance))

    failed = await post(peer_client, f"{instance.url}/inbox", peer, body)
    peer.publish_actor()
    retried = await post(peer_client, f"{instance.url}/inbox", peer, body)

    assert (failed.status_code, retried.status_code) == (502, 202)
    assert await RemoteFollower.all().count() == 1


async def test_rotated_key_is_fetched_again_once(
    instance: Instance, peer: Peer, peer_client: httpx.AsyncClient
) -> None:
    await project(await member("olga"), "gardeners")
    rotated = generate_pair()
    await RemoteKey.create(
        key_id=peer.key_id,
        owner=peer.actor,
        public_pem=PEER_PUBLIC_PEM,
        fetched_at=datetime.now(UTC) - timedelta(minutes=5),
    )
    peer.publish_actor(rotated.public_pem)

    response = await post(
        peer_client,
        f"{instance.url}/inbox",
        peer,
        encoded(follow(peer, instance)),
        private_pem=rotated.private_pem,
    )

    assert response.status_code == 202
    assert (await RemoteKey.get(key_id=peer.key_id)).public_pem == rotated.public_pem


async def test_simultaneous_deliveries_are_processed_once(
    instance: Instance, peer: Peer, peer_client: httpx.AsyncClient
) -> None:
    await project(await member("olga"), "gardeners")
    peer.publish_actor()
    body = encoded(follow(peer, instance))

    responses = await asyncio.gather(
        *(post(peer_client, f"{instance.url}/inbox", peer, body) for _ in range(3))
    )

    assert [response.status_code for response in responses] == [202] * 3
    assert await ReceivedActivity.all().count() == 1
    assert await RemoteFollower.all().count() == 1


def test_a_block_covers_subdomains() -> None:
    domains = lookups.blockable_domains("https://Social.Bad.Example:8443/users/x")

    assert domains == ["social.bad.example", "bad.example", "example"]
    assert lookups.blockable_domains("http://127.0.0.1:9/x") == ["127.0.0.1"]
