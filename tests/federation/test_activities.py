"""What this instance tells the fediverse: outbox rows written with each change.

Changes are made through the domain, as the GraphQL mutations make them; the
activities they cause are read back from the outbox table, where they were
written in the same transaction. ``federation/examples/`` holds one of each,
checked here against what was rendered.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from myco_graph.domain import data_rights, discussion, polls, projects
from myco_graph.domain.models import (
    ActorKind,
    Delivery,
    FollowerState,
    OutboxActivity,
    Project,
    RemoteActor,
    RemoteFollower,
    RemoteMembership,
    RemoteMembershipState,
    Tombstone,
    Visibility,
)
from myco_graph.federation.render import PUBLIC
from myco_graph.infrastructure.config import Settings
from tests.federation.conftest import ISSUER, Peer, member, project
from tests.federation.exchange import Instance, follow, instance_serving
from tests.helpers import PASSWORD

BASE = "http://coop.test"
EXAMPLES = Path(__file__).parents[2] / "federation" / "examples"
ACTIVITY_ID = re.compile(r"/activities/[0-9a-f-]{36}")
# The examples' times: rendered times depend on when the test runs.
TIMES = {
    "published": "2026-03-02T10:15:00Z",
    "updated": "2026-03-02T11:00:00Z",
    "deleted": "2026-03-02T12:00:00Z",
    "endTime": "2026-03-05T10:15:00Z",
    "closed": "2026-03-05T10:15:00Z",
}
EXAMPLE_IDS = (
    "3f2b8c1e-7d4a-4b9e-8f10-2c6a5d9e0b71",
    "b5e0d7a2-41c9-4f3e-9a6d-8c2f1e0b7d34",
)
# The examples checked here; test_protocol_documents checks the actors'.
RENDERED_EXAMPLES = frozenset(
    {
        "note.json",
        "question.json",
        "create-note.json",
        "announce-create.json",
        "update-question.json",
        "delete-note.json",
        "tombstone.json",
        "accept.json",
        "delete-person.json",
    }
)


@pytest.fixture(scope="module")
async def instance(server: str, settings: Settings) -> Any:
    async with instance_serving(settings) as serving:
        yield serving


def normalised(value: Any, hosts: dict[str, str]) -> Any:
    """A rendered document as the examples show it: fixed hosts, ids and times.

    Activity ids are random: each new one gets the next of EXAMPLE_IDS, so
    that an Announce and the activity it wraps keep distinct ids.
    """
    seen: dict[str, str] = {}

    def fixed(found: re.Match[str]) -> str:
        return seen.setdefault(found[0], f"/activities/{EXAMPLE_IDS[len(seen)]}")

    def walk(item: Any, key: str = "") -> Any:
        if isinstance(item, dict):
            return {name: walk(inner, name) for name, inner in item.items()}
        if isinstance(item, list):
            return [walk(inner) for inner in item]
        if key in TIMES and isinstance(item, str):
            return TIMES[key]
        if isinstance(item, str):
            for given, shown in hosts.items():
                item = item.replace(given, shown)
            return ACTIVITY_ID.sub(fixed, item)
        return item

    return walk(value)


def check_example(name: str, document: dict[str, Any], **hosts: str) -> None:
    shown = {BASE: "https://coop.example", **hosts}
    example = json.loads((EXAMPLES / name).read_text())
    assert normalised(document, shown) == example


async def gardeners(**options: Any) -> Project:
    olga, alice = await member("olga"), await member("alice")
    return await project(olga, "gardeners", members=(alice,), **options)


async def followed_by(gardens: Project, *followers: tuple[str, str | None]) -> None:
    """Remote followers of a project, each as (actor, shared inbox)."""
    for actor, shared in followers:
        await RemoteFollower.create(
            project=gardens,
            actor=actor,
            inbox=f"{actor}/inbox",
            shared_inbox=shared,
            follow_id=f"{actor}/follows/1",
            state=FollowerState.ACCEPTED,
        )


async def written(kind: str) -> list[OutboxActivity]:
    return await OutboxActivity.filter(type=kind).order_by("id")


async def inboxes(activity: OutboxActivity) -> set[str]:
    return set(
        await Delivery.filter(activity_id=activity.id).values_list("inbox", flat=True)
    )


# Messages ---------------------------------------------------------------------


async def test_a_message_is_created_by_its_author_and_announced_by_the_group(
    database: None,
) -> None:
    gardens = await gardeners()
    await followed_by(
        gardens,
        ("https://mastodon.example/users/zoe", "https://mastodon.example/inbox"),
        ("https://mastodon.example/users/yann", "https://mastodon.example/inbox"),
        ("https://solo.example/actor", None),
    )
    bob = await member("bob")
    await projects.invite(gardens, bob.id, ISSUER)
    await projects.accept_invitation(gardens, bob, projects.Sharing([]), ISSUER)

    message = await discussion.post(gardens, bob, "Tomatoes are up.\n\nBeans too.")

    [create] = await written("Create")
    [announce] = await written("Announce")
    note = create.document["object"]
    assert note["id"] == f"{BASE}/notes/{message.id}"
    assert note["attributedTo"] == create.document["actor"] == f"{BASE}/users/bob"
    assert note["content"] == "<p>Tomatoes are up.</p><p>Beans too.</p>"
    assert (create.signer_kind, create.signer_id) == (ActorKind.PERSON, bob.id)
    assert await inboxes(create) == set()
    assert announce.document["actor"] == f"{BASE}/groups/gardeners"
    assert announce.document["object"] == create.document
    assert announce.document["to"] == [PUBLIC]
    assert announce.document["cc"] == [f"{BASE}/groups/gardeners/followers"]
    assert (announce.signer_kind, announce.signer_id) == (ActorKind.GROUP, gardens.id)
    assert await inboxes(announce) == {
        "https://mastodon.example/inbox",
        "https://solo.example/actor/inbox",
    }
    check_example("create-note.json", create.document)
    check_example("announce-create.json", announce.document)
    check_example("note.json", note | {"@context": create.document["@context"]})


async def test_nothing_about_a_private_project_leaves(database: None) -> None:
    olga = await member("olga")
    secrets = await project(olga, "secrets", visibility=Visibility.PRIVATE)
    await followed_by(secrets, ("https://mastodon.example/users/zoe", None))

    message = await discussion.post(secrets, olga, "Our secret seed list")
    await discussion.edit(olga, message.id, "Our secret seed list, edited")
    await discussion.delete(olga, message.id)
    closes = datetime.now(UTC) + timedelta(days=1)
    poll = await polls.create(
        secrets, olga, polls.PollDraft("Which seeds?", ["Beans", "Peas"], closes)
    )
    await polls.vote(poll, olga, [0])

    assert await OutboxActivity.all().count() == 0
    assert await Tombstone.all().count() == 0


async def test_an_edit_is_an_update_of_the_note(database: None) -> None:
    olga = await member("olga")
    gardens = await project(olga, "gardeners")
    message = await discussion.post(gardens, olga, "Tomatos")

    await discussion.edit(olga, message.id, "Tomatoes")

    [update] = await written("Update")
    [_, announce] = await written("Announce")
    assert update.document["object"]["content"] == "<p>Tomatoes</p>"
    assert "updated" in update.document["object"]
    assert announce.document["object"] == update.document


async def test_a_deleted_message_becomes_a_tombstone(database: None) -> None:
    gardens = await gardeners()
    wendy = await member("wendy")
    await projects.invite(gardens, wendy.id, ISSUER)
    await projects.accept_invitation(gardens, wendy, projects.Sharing([]), ISSUER)
    message = await discussion.post(gardens, wendy, "Wrong thread")

    await discussion.delete(wendy, message.id)

    [delete] = await written("Delete")
    url = f"{BASE}/notes/{message.id}"
    assert delete.document["actor"] == f"{BASE}/users/wendy"
    assert delete.document["object"] == {
        "id": url,
        "type": "Tombstone",
        "formerType": "Note",
    }
    [_, announce] = await written("Announce")
    assert announce.document["object"] == delete.document
    tombstone = await Tombstone.get(url=url)
    assert tombstone.former_type == "Note"
    check_example("delete-note.json", delete.document)


async def test_a_removed_message_is_deleted_by_the_group(database: None) -> None:
    olga = await member("olga")
    gardens = await project(olga, "gardeners")
    message = await discussion.post(gardens, olga, "Spam")

    await discussion.remove(message, olga)

    [delete] = await written("Delete")
    assert delete.document["actor"] == f"{BASE}/groups/gardeners"
    assert (delete.signer_kind, delete.signer_id) == (ActorKind.GROUP, gardens.id)


# Polls ------------------------------------------------------------------------


async def test_a_poll_is_a_question_and_a_ballot_updates_its_counts_only(
    database: None,
) -> None:
    olga, alice = await member("olga"), await member("alice")
    gardens = await project(olga, "gardeners", members=(alice,))
    await followed_by(gardens, ("https://mastodon.example/users/zoe", None))
    closes = datetime.now(UTC) + timedelta(days=3)
    poll = await polls.create(
        gardens, olga, polls.PollDraft("What to sow?", ["Tomatoes", "Beans"], closes)
    )

    await polls.vote(poll, alice, [1])

    [create] = await written("Create")
    [update] = await written("Update")
    question = update.document["object"]
    assert create.document["object"]["oneOf"][1]["replies"]["totalItems"] == 0
    assert question["id"] == f"{BASE}/questions/{poll.id}"
    assert [option["replies"]["totalItems"] for option in question["oneOf"]] == [0, 1]
    assert question["votersCount"] == 1
    assert "alice" not in json.dumps(update.document)
    assert update.document["actor"] == f"{BASE}/users/olga"
    check_example("question.json", question | {"@context": update.document["@context"]})
    [_, announce] = await written("Announce")
    check_example("update-question.json", update.document)
    assert announce.document["object"] == update.document


# Follows ----------------------------------------------------------------------


async def test_a_follow_is_accepted_at_once(
    instance: Instance, peer: Peer, peer_client: httpx.AsyncClient
) -> None:
    gardens = await project(await member("olga"), "gardeners")

    activity = await follow(peer_client, peer, instance)

    [accept] = await written("Accept")
    assert accept.document["actor"] == instance.group()
    assert accept.document["object"] == {
        "id": activity["id"],
        "type": "Follow",
        "actor": peer.actor,
        "object": instance.group(),
    }
    assert accept.document["to"] == [peer.actor]
    assert (accept.signer_kind, accept.signer_id) == (ActorKind.GROUP, gardens.id)
    assert await inboxes(accept) == {f"{peer.actor}/inbox"}
    follower = await RemoteFollower.get(actor=peer.actor)
    assert follower.state == FollowerState.ACCEPTED
    check_example(
        "accept.json",
        accept.document,
        **{instance.url: "https://coop.example", peer.url: "https://mastodon.example"},
    )


# Erasure ----------------------------------------------------------------------


async def test_erasure_deletes_the_person_where_it_is_known(database: None) -> None:
    olga, alice = await member("olga"), await member("alice")
    gardens = await project(olga, "gardeners", members=(alice,))
    quiet = await project(olga, "quiet")
    await followed_by(
        gardens,
        ("https://mastodon.example/users/zoe", "https://mastodon.example/inbox"),
    )
    await followed_by(quiet, ("https://elsewhere.example/users/ann", None))
    group = await RemoteActor.create(
        url="https://lemmy.example/c/gardening",
        type="Group",
        handle="gardening",
        domain="lemmy.example",
        inbox="https://lemmy.example/c/gardening/inbox",
        shared_inbox="https://lemmy.example/inbox",
        fetched_at=datetime.now(UTC),
    )
    await RemoteMembership.create(
        account=alice,
        group=group,
        follow_id=f"{BASE}/activities/1",
        state=RemoteMembershipState.ACCEPTED,
    )

    await data_rights.erase(alice, PASSWORD)

    [delete] = await written("Delete")
    person = f"{BASE}/users/alice"
    assert delete.document["actor"] == delete.document["object"] == person
    assert (delete.signer_kind, delete.signer_id) == (ActorKind.PERSON, alice.id)
    assert await inboxes(delete) == {
        "https://mastodon.example/inbox",
        "https://lemmy.example/inbox",
    }
    assert (await Tombstone.get(url=person)).former_type == "Person"
    check_example("delete-person.json", delete.document)


async def test_tombstone_example_is_what_a_deleted_note_answers(
    http: httpx.AsyncClient,
) -> None:
    olga = await member("olga")
    gardens = await project(olga, "gardeners")
    message = await discussion.post(gardens, olga, "Gone soon")
    await discussion.delete(olga, message.id)

    response = await http.get(
        f"/notes/{message.id}", headers={"accept": "application/activity+json"}
    )

    assert response.status_code == 410
    check_example("tombstone.json", response.json())
