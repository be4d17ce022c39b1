"""Inbound activities, one handler each, through the real inbox over HTTP.

The peer on 127.0.0.1 plays Mastodon, Lemmy and Mobilizon with recorded
payloads, signs as the actor each activity names, and serves that actor's
document; this instance serves its federation routes on a loopback URL the
payloads can name. Each refusal is checked to store nothing.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from myco_graph.domain.models import (
    Message,
    OutboxActivity,
    Project,
)
from myco_graph.infrastructure.config import Settings
from tests.federation.conftest import Peer, member, project
from tests.federation.exchange import (
    Instance,
    deliver,
    follow,
    instance_serving,
    recorded,
)
from tests.helpers import row_counts

GROUP_PATH = "/c/gardening"
AUTHOR_PATH = "/u/ana"


@pytest.fixture(scope="module")
async def instance(server: str, settings: Settings) -> Any:
    async with instance_serving(settings) as serving:
        yield serving


async def gardeners_followed_by_zoe(
    client: httpx.AsyncClient, peer: Peer, instance: Instance
) -> Project:
    gardens = await project(await member("olga"), "gardeners")
    await follow(client, peer, instance)
    return gardens


def note_by_zoe(peer: Peer, instance: Instance, **changes: Any) -> dict[str, Any]:
    """Mastodon's Create of a post mentioning our Group, with some fields changed."""
    activity = recorded("mastodon_create_note.json", peer, instance)
    activity["object"].update(changes)
    return activity


async def refused_with(
    response: httpx.Response, status: int, before: dict[str, int]
) -> None:
    """The activity was refused with ``status`` and nothing at all was stored."""
    assert response.status_code == status, response.text
    assert response.json()["error"]
    after = await row_counts()
    # Keys (the signer's, fetched; our instance's, made on first need) and
    # remote actors are caches, kept whatever becomes of the activity.
    for cache in ("remote_keys", "remote_actors", "actor_keys"):
        after.pop(cache), before.pop(cache, None)
    assert after == {table: before.get(table, 0) for table in after}


# Posting in a Group ----------------------------------------------------------


async def test_a_followers_post_becomes_a_message_and_is_announced_unchanged(
    instance: Instance, peer: Peer, peer_client: httpx.AsyncClient
) -> None:
    gardens = await gardeners_followed_by_zoe(peer_client, peer, instance)
    activity = note_by_zoe(peer, instance)

    response = await deliver(peer_client, f"{instance.url}/inbox", activity)

    assert response.status_code == 202, response.text
    [message] = await Message.all().select_related("remote_author")
    assert message.project_id == gardens.id
    assert message.author_id is None
    assert message.remote_author is not None
    assert message.remote_author.url == peer.actor
    assert message.remote_author.handle == "zoe"
    assert message.ap_id == activity["object"]["id"]
    assert message.body == (
        "@gardeners Tomatoes are up & the beans too!\n\nSee you on Sunday.\nZoé"
    )
    [announce] = await OutboxActivity.filter(type="Announce")
    assert announce.document["object"] == activity
    assert announce.document["actor"].endswith("/groups/gardeners")
    assert [d.inbox for d in await announce.deliveries] == [f"{peer.url}/inbox"]


async def test_markup_never_reaches_a_message(
    instance: Instance, peer: Peer, peer_client: httpx.AsyncClient
) -> None:
    await gardeners_followed_by_zoe(peer_client, peer, instance)
    content = (
        '<p onclick="x()">Hi <script>alert(1)</script><img src=x onerror=y>'
        "<b>there</b> &lt;3</p><style>p{}</style>"
    )
    activity = note_by_zoe(peer, instance, content=content)

    response = await deliver(peer_client, f"{instance.url}/inbox", activity)

    assert response.status_code == 202
    assert (await Message.get()).body == "Hi there <3"


async def test_a_post_by_a_non_follower_is_forbidden(
    instance: Instance, peer: Peer, peer_client: httpx.AsyncClient
) -> None:
    await project(await member("olga"), "gardeners")
    peer.publish_actor()
    before = await row_counts()

    response = await deliver(
        peer_client, f"{instance.url}/inbox", note_by_zoe(peer, instance)
    )

    await refused_with(response, 403, before)


async def test_a_post_to_no_group_of_ours_is_acknowledged_and_ignored(
    instance: Instance, peer: Peer, peer_client: httpx.AsyncClient
) -> None:
    await gardeners_followed_by_zoe(peer_client, peer, instance)
    activity = note_by_zoe(peer, instance, cc=[], tag=[])
    activity["cc"] = []

    response = await deliver(peer_client, f"{instance.url}/inbox", activity)

    assert response.status_code == 202
    assert await Message.all().count() == 0
