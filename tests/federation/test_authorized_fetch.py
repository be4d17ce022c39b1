"""Authorized fetch: actors read only with a signature our peer's key verifies.

The peer on 127.0.0.1 signs its requests and publishes its actor document;
this instance fetches that document (signed by its own instance actor) to
check the signature, as two real instances would.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from myco_graph.domain.models import AccessLogEntry, RemoteKey
from myco_graph.federation.keys import generate_pair
from myco_graph.federation.signatures import (
    InboundRequest,
    check_request,
    sign_request,
    verify_request,
)
from tests.federation.conftest import (
    ACTIVITY_JSON,
    PEER_PUBLIC_PEM,
    Peer,
    Secured,
    member,
    project,
    share,
)

AP = {"accept": ACTIVITY_JSON}


async def signed_get(
    client: httpx.AsyncClient,
    url: str,
    peer: Peer,
    private_pem: str | None = None,
    *,
    moment: datetime | None = None,
) -> httpx.Response:
    key = peer.signing_key(private_pem) if private_pem else peer.signing_key()
    headers = sign_request(key, "GET", url, moment=moment)
    return await client.get(url, headers={**headers, **AP})


def key_fetches(peer: Peer) -> int:
    return sum(1 for received in peer.received if received.target == "/users/zoe")


async def test_unsigned_reads_of_members_and_projects_are_refused(
    secured: Secured, peer_client: httpx.AsyncClient
) -> None:
    await project(await member("olga"), "gardeners")

    person = await peer_client.get(f"{secured.url}/users/olga", headers=AP)
    group = await peer_client.get(f"{secured.url}/groups/gardeners", headers=AP)

    assert person.status_code == group.status_code == 401
    assert "not signed" in person.json()["error"]


async def test_instance_actor_stays_readable_unsigned(
    secured: Secured, peer_client: httpx.AsyncClient
) -> None:
    response = await peer_client.get(f"{secured.url}/actor", headers=AP)

    assert response.status_code == 200


async def test_signed_read_is_served_and_logged_under_the_peers_name(
    secured: Secured, peer: Peer, peer_client: httpx.AsyncClient
) -> None:
    alice = await member("alice")
    await share(alice, {"location.city": "Lyon"})
    peer.publish_actor()

    response = await signed_get(peer_client, f"{secured.url}/users/alice", peer)

    assert response.status_code == 200
    assert response.json()["attachment"][0]["value"] == "Lyon"
    [entry] = await AccessLogEntry.filter(subject_id=alice.id)
    assert entry.viewer_key == f"federation:{peer.host}"


async def test_our_key_fetch_is_signed_by_our_instance_actor(
    secured: Secured, peer: Peer, peer_client: httpx.AsyncClient
) -> None:
    await member("alice")
    peer.publish_actor()

    await signed_get(peer_client, f"{secured.url}/users/alice", peer)

    [fetched] = [
        received for received in peer.received if received.target == "/users/zoe"
    ]
    request = InboundRequest("GET", fetched.target, fetched.headers)
    signature = check_request(request, moment=datetime.now(UTC))
    ours = (await peer_client.get(f"{secured.url}/actor", headers=AP)).json()
    assert signature.key_id == ours["publicKey"]["id"]
    assert verify_request(request, signature, ours["publicKey"]["publicKeyPem"])


async def test_cached_key_is_not_fetched_again(
    secured: Secured, peer: Peer, peer_client: httpx.AsyncClient
) -> None:
    await member("alice")
    peer.publish_actor()

    for _ in range(3):
        response = await signed_get(peer_client, f"{secured.url}/users/alice", peer)
        assert response.status_code == 200

    assert key_fetches(peer) == 1


async def test_signature_by_another_key_is_refused(
    secured: Secured, peer: Peer, peer_client: httpx.AsyncClient
) -> None:
    await member("alice")
    peer.publish_actor()
    impostor = generate_pair()

    response = await signed_get(
        peer_client, f"{secured.url}/users/alice", peer, impostor.private_pem
    )

    assert response.status_code == 401
    assert "does not verify" in response.json()["error"]
    # The key was fetched moments ago: a failure does not fetch it again.
    assert key_fetches(peer) == 1


async def test_rotated_key_is_fetched_again(
    secured: Secured, peer: Peer, peer_client: httpx.AsyncClient
) -> None:
    await member("alice")
    rotated = generate_pair()
    await RemoteKey.create(
        key_id=peer.key_id,
        owner=peer.actor,
        public_pem=PEER_PUBLIC_PEM,
        fetched_at=datetime.now(UTC) - timedelta(minutes=5),
    )
    peer.publish_actor(rotated.public_pem)

    response = await signed_get(
        peer_client, f"{secured.url}/users/alice", peer, rotated.private_pem
    )

    assert response.status_code == 200
    stored = await RemoteKey.get(key_id=peer.key_id)
    assert stored.public_pem == rotated.public_pem


async def test_key_that_cannot_be_fetched_is_refused(
    secured: Secured, peer: Peer, peer_client: httpx.AsyncClient
) -> None:
    await member("alice")

    response = await signed_get(peer_client, f"{secured.url}/users/alice", peer)

    assert response.status_code == 401
    assert "cannot be fetched" in response.json()["error"]


async def test_stale_signed_read_is_refused(
    secured: Secured, peer: Peer, peer_client: httpx.AsyncClient
) -> None:
    await member("alice")
    peer.publish_actor()
    stale = datetime.now(UTC) - timedelta(hours=2)

    response = await signed_get(
        peer_client, f"{secured.url}/users/alice", peer, moment=stale
    )

    assert response.status_code == 401
    assert key_fetches(peer) == 0
