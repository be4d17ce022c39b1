"""Two instances talking: this one on a loopback URL the peer can name, and the peer.

Recorded payloads name their senders' hosts (``mastodon.example``,
``lemmy.example``, ``mobilizon.example``) and ours (``coop.example``);
:func:`recorded` points them at the peer and at this instance. The peer
signs with its one key as whichever of its actors an activity names, and
publishes that actor's document.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.types import ASGIApp

from myco_graph.federation import views
from myco_graph.federation.signatures import SigningKey, sign_request
from myco_graph.infrastructure.config import Settings
from tests.federation.conftest import (
    ACTIVITY_JSON,
    PEER_PRIVATE_PEM,
    PEER_PUBLIC_PEM,
    Peer,
    changed,
    payload,
    serving,
)

SENDERS = (
    "https://mastodon.example",
    "https://lemmy.example",
    "https://mobilizon.example",
)
AP = {"accept": ACTIVITY_JSON}


@dataclass
class Instance:
    """This instance's federation routes on a base URL the peer can name."""

    url: str
    settings: Settings

    def group(self, name: str = "gardeners") -> str:
        return f"{self.url}/groups/{name}"

    def person(self, handle: str) -> str:
        return f"{self.url}/users/{handle}"


@contextlib.asynccontextmanager
async def instance_serving(settings: Settings) -> AsyncIterator[Instance]:
    holder: list[Instance] = []

    def make(base_url: str) -> ASGIApp:
        local = changed(
            settings, base_url=base_url, federation_allow_private_addresses=True
        )
        holder.append(Instance(base_url, local))
        return Starlette(routes=views.routes(local))

    async with serving(make):
        yield holder[0]


def recorded(name: str, peer: Peer, instance: Instance) -> dict[str, Any]:
    """A recorded payload, addressed between the peer and this instance."""
    text = json.dumps(payload(name))
    for sender in SENDERS:
        text = text.replace(sender, peer.url)
    text = text.replace("https://coop.example", instance.url)
    return json.loads(text)  # type: ignore[no-any-return]


def publish(peer: Peer, name: str, path: str) -> str:
    """Serves a recorded actor at ``path`` of the peer, with the peer's key."""
    text = json.dumps(payload(name))
    for sender in SENDERS:
        text = text.replace(sender, peer.url)
    document = json.loads(text)
    document["id"] = f"{peer.url}{path}"
    document["publicKey"] = {
        "id": f"{peer.url}{path}#main-key",
        "owner": f"{peer.url}{path}",
        "publicKeyPem": PEER_PUBLIC_PEM,
    }
    peer.answer_json(path, document)
    return str(document["id"])


def key_of(actor: str) -> SigningKey:
    return SigningKey(f"{actor}#main-key", PEER_PRIVATE_PEM)


async def deliver(
    client: httpx.AsyncClient, url: str, document: dict[str, Any]
) -> httpx.Response:
    """POSTs an activity, signed as its actor with the peer's key."""
    body = json.dumps(document).encode()
    actor = document["actor"]
    headers = sign_request(
        key_of(actor if isinstance(actor, str) else ""), "POST", url, body
    )
    headers["content-type"] = ACTIVITY_JSON
    return await client.post(url, content=body, headers=headers)


async def signed_get(client: httpx.AsyncClient, url: str, actor: str) -> httpx.Response:
    headers = sign_request(key_of(actor), "GET", url)
    return await client.get(url, headers={**headers, **AP})


async def follow(
    client: httpx.AsyncClient, peer: Peer, instance: Instance, group: str = "gardeners"
) -> dict[str, Any]:
    """The peer's Zoé follows one of our Groups, as Mastodon does; accepted."""
    peer.publish_actor()
    activity = recorded("mastodon_follow.json", peer, instance)
    activity["object"] = instance.group(group)
    response = await deliver(client, f"{instance.url}/inbox", activity)
    assert response.status_code == 202, response.text
    return activity
