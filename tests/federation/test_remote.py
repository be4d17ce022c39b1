"""The local member's side of remote projects, against a peer on 127.0.0.1.

The peer plays a Lemmy-like instance serving a Group; this instance's service
looks it up, joins it, writes and votes in it and reads its members. What
the service sends is read back from the outbox, where delivery picks it up.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from myco_graph.domain import instances
from myco_graph.domain.models import (
    Account,
    ActorKind,
    Delivery,
    OutboxActivity,
    RemoteActor,
    RemoteMembership,
    RemoteMembershipState,
    RemoteNote,
    Tombstone,
)
from myco_graph.errors import BadUserInput, Forbidden, NotFound
from myco_graph.federation import keys, remote
from myco_graph.infrastructure.config import Settings
from tests.federation.conftest import (
    PEER_PUBLIC_PEM,
    Answer,
    Peer,
    member,
    payload,
)

GROUP_PATH = "/c/gardening"
QUESTION_PATH = "/c/gardening/polls/7"

pytestmark = pytest.mark.usefixtures("database")


def on_peer(peer: Peer, name: str) -> dict[str, Any]:
    """A recorded payload, moved onto the peer's address."""
    text = json.dumps(payload(name))
    text = text.replace("https://lemmy.example", peer.url)
    text = text.replace("https://mastodon.example", peer.url)
    return json.loads(text)  # type: ignore[no-any-return]


def serve_group(peer: Peer, **changes: Any) -> dict[str, Any]:
    group = on_peer(peer, "lemmy_community.json")
    group["publicKey"]["publicKeyPem"] = PEER_PUBLIC_PEM
    group |= changes
    peer.answer_json(GROUP_PATH, group)
    peer.answer_json(
        "/.well-known/webfinger",
        {
            "subject": f"acct:gardening@{peer.host}",
            "links": [
                {"rel": "self", "type": "text/html", "href": f"{peer.url}/c/x"},
                {
                    "rel": "self",
                    "type": "application/activity+json",
                    "href": peer.url + GROUP_PATH,
                },
            ],
        },
        media_type="application/jrd+json",
    )
    return group


def serve_question(peer: Peer, **changes: Any) -> str:
    question = on_peer(peer, "mastodon_poll_question.json")
    question["id"] = peer.url + QUESTION_PATH
    question["audience"] = peer.url + GROUP_PATH
    question |= changes
    peer.answer_json(QUESTION_PATH, question)
    return peer.url + QUESTION_PATH


def fetches(peer: Peer, path: str) -> int:
    return sum(1 for r in peer.received if r.target.split("?")[0] == path)


async def joined(
    peer: Peer, settings: Settings, state: RemoteMembershipState
) -> tuple[Account, RemoteActor]:
    """A member whose joining of the peer's Group is in ``state``."""
    serve_group(peer)
    account = await member("ada")
    group = await remote.lookup_remote(f"gardening@{peer.host}", settings)
    membership = await remote.join(account, group, settings)
    await RemoteMembership.filter(id=membership.id).update(state=state)
    # Made on first need; made here, so that row counts compare what matters.
    await keys.lookup_actor_key(ActorKind.PERSON, account.id)
    return account, group


async def row_counts() -> dict[str, int]:
    """Rows of the tables this side writes; delivery jobs of earlier steps
    may still be recording their attempts elsewhere."""
    tables = (RemoteActor, RemoteMembership, RemoteNote, Tombstone, OutboxActivity)
    counts = {table.__name__: await table.all().count() for table in tables}
    return counts | {"Delivery": await Delivery.all().count()}


async def sent(kind: str) -> list[dict[str, Any]]:
    rows = await OutboxActivity.filter(type=kind).order_by("id")
    return [row.document for row in rows]


# Finding a project ----------------------------------------------------------------


async def test_an_address_is_resolved_by_webfinger_and_the_group_cached(
    peer: Peer, loopback_settings: Settings
) -> None:
    serve_group(peer)

    found = await remote.lookup_remote(f"@gardening@{peer.host}", loopback_settings)
    again = await remote.lookup_remote(peer.url + GROUP_PATH, loopback_settings)
    third = await remote.lookup_remote(f"gardening@{peer.host}", loopback_settings)

    assert found.id == again.id == third.id
    assert (found.type, found.handle, found.domain) == ("Group", "gardening", peer.host)
    assert found.name == "Gardening & growing"
    assert found.summary == "Soil, seeds & patience."
    assert found.inbox == f"{peer.url}/c/gardening/inbox"
    assert found.shared_inbox == f"{peer.url}/inbox"
    assert fetches(peer, GROUP_PATH) == 1
    assert fetches(peer, "/.well-known/webfinger") == 1
    webfinger = next(r for r in peer.received if "webfinger" in r.target)
    assert f"resource=acct%3Agardening%40{peer.host.replace(':', '%3A')}" in (
        webfinger.target
    )


async def test_the_group_is_fetched_signed_by_the_instance(
    peer: Peer, loopback_settings: Settings
) -> None:
    serve_group(peer)

    await remote.lookup_remote(peer.url + GROUP_PATH, loopback_settings)

    fetch = next(r for r in peer.received if r.target == GROUP_PATH)
    assert 'keyId="http://coop.test/actor#main-key"' in fetch.headers["signature"]


async def test_a_stale_cache_is_fetched_again(
    peer: Peer, loopback_settings: Settings
) -> None:
    serve_group(peer)
    found = await remote.lookup_remote(peer.url + GROUP_PATH, loopback_settings)
    await RemoteActor.filter(id=found.id).update(
        fetched_at=found.fetched_at - remote.REFRESH_AFTER
    )
    serve_group(peer, name="Gardening, renamed")

    again = await remote.lookup_remote(peer.url + GROUP_PATH, loopback_settings)

    assert again.name == "Gardening, renamed"
    assert await RemoteActor.all().count() == 1


async def test_a_person_is_not_a_project(
    peer: Peer, loopback_settings: Settings
) -> None:
    peer.publish_actor()

    with pytest.raises(BadUserInput, match="Person, not a project"):
        await remote.lookup_remote(peer.actor, loopback_settings)


async def test_an_address_nobody_serves_is_not_found(
    peer: Peer, loopback_settings: Settings
) -> None:
    before = await row_counts()

    with pytest.raises(NotFound):
        await remote.lookup_remote(f"nobody@{peer.host}", loopback_settings)

    assert await row_counts() == before


@pytest.mark.parametrize(
    "address",
    ["", "gardening", "@gardening", "gardening@", "a b@example.org", "x@exa mple.org"],
)
async def test_a_garbled_address_is_refused_before_any_fetch(
    peer: Peer, loopback_settings: Settings, address: str
) -> None:
    with pytest.raises(BadUserInput) as raised:
        await remote.lookup_remote(address, loopback_settings)

    assert raised.value.field == "address"
    assert peer.received == []


async def test_a_private_address_is_refused_without_the_test_setting(
    peer: Peer, settings: Settings
) -> None:
    with pytest.raises(BadUserInput, match="cannot be reached"):
        await remote.lookup_remote(f"gardening@{peer.host}", settings)

    assert peer.received == []


async def test_a_blocked_instance_is_refused(
    peer: Peer, loopback_settings: Settings
) -> None:
    serve_group(peer)
    await instances.block("127.0.0.1")

    with pytest.raises(Forbidden):
        await remote.lookup_remote(peer.url + GROUP_PATH, loopback_settings)

    assert peer.received == []


async def test_a_blocked_instance_gets_no_webfinger_request(
    peer: Peer, loopback_settings: Settings
) -> None:
    serve_group(peer)
    await instances.block("127.0.0.1")

    with pytest.raises(Forbidden):
        await remote.lookup_remote(f"gardening@{peer.host}", loopback_settings)

    assert peer.received == []


async def test_an_unreachable_instance_is_said_so(
    peer: Peer, loopback_settings: Settings
) -> None:
    peer.answer(GROUP_PATH, Answer(b"down", status=503))

    with pytest.raises(NotFound, match="cannot be reached now"):
        await remote.lookup_remote(peer.url + GROUP_PATH, loopback_settings)


# Joining and leaving --------------------------------------------------------------


async def test_joining_sends_a_follow_signed_by_the_member(
    peer: Peer, loopback_settings: Settings
) -> None:
    serve_group(peer)
    account = await member("ada")
    group = await remote.lookup_remote(peer.url + GROUP_PATH, loopback_settings)

    membership = await remote.join(account, group, loopback_settings)
    again = await remote.join(account, group, loopback_settings)

    assert again.id == membership.id
    assert membership.state is RemoteMembershipState.PENDING
    [follow] = await sent("Follow")
    assert follow["id"] == membership.follow_id
    assert follow["id"].startswith("http://coop.test/activities/")
    assert follow["actor"] == "http://coop.test/users/ada"
    assert follow["object"] == group.url
    activity = await OutboxActivity.get(type="Follow")
    assert (activity.signer_kind, activity.signer_id) == (ActorKind.PERSON, account.id)
    [delivery] = await Delivery.filter(activity_id=activity.id)
    assert delivery.inbox == group.inbox


async def test_joining_twice_at_once_makes_one_membership(
    peer: Peer, loopback_settings: Settings
) -> None:
    serve_group(peer)
    account = await member("ada")
    group = await remote.lookup_remote(peer.url + GROUP_PATH, loopback_settings)

    first, second = await asyncio.gather(
        remote.join(account, group, loopback_settings),
        remote.join(account, group, loopback_settings),
    )

    assert first.id == second.id
    assert await RemoteMembership.all().count() == 1
    assert len(await sent("Follow")) == 1


async def test_after_a_refusal_a_member_may_ask_again(
    peer: Peer, loopback_settings: Settings
) -> None:
    account, group = await joined(
        peer, loopback_settings, RemoteMembershipState.REJECTED
    )

    membership = await remote.join(account, group, loopback_settings)

    assert membership.state is RemoteMembershipState.PENDING
    assert len(await sent("Follow")) == 2
    assert await RemoteMembership.all().count() == 1


async def test_leaving_undoes_the_follow(
    peer: Peer, loopback_settings: Settings
) -> None:
    account, group = await joined(
        peer, loopback_settings, RemoteMembershipState.ACCEPTED
    )
    [follow] = await sent("Follow")

    await remote.leave(account, group, loopback_settings)

    [undo] = await sent("Undo")
    assert undo["object"] == {k: v for k, v in follow.items()}
    assert undo["actor"] == "http://coop.test/users/ada"
    assert await RemoteMembership.all().count() == 0
    with pytest.raises(NotFound):
        await remote.leave(account, group, loopback_settings)


async def test_brands_do_not_join_remote_projects(
    peer: Peer, loopback_settings: Settings
) -> None:
    serve_group(peer)
    group = await remote.lookup_remote(peer.url + GROUP_PATH, loopback_settings)
    brand = await member("acme")
    brand.kind = brand.kind.BRAND

    with pytest.raises(Forbidden):
        await remote.join(brand, group, loopback_settings)

    assert await RemoteMembership.all().count() == 0


# Writing ---------------------------------------------------------------------------


async def test_a_post_is_kept_here_and_sent_as_a_note_to_the_group(
    peer: Peer, loopback_settings: Settings
) -> None:
    account, group = await joined(
        peer, loopback_settings, RemoteMembershipState.ACCEPTED
    )

    note = await remote.post_note(
        account, group.id, "  Spores <b>&</b> soil\n\nnext  ", loopback_settings
    )

    assert note.content == "<p>Spores &lt;b&gt;&amp;&lt;/b&gt; soil</p><p>next</p>"
    assert note.ap_id.startswith("http://coop.test/objects/")
    [create] = await sent("Create")
    assert create["to"] == [group.url]
    assert create["audience"] == group.url
    assert create["object"]["id"] == note.ap_id
    assert create["object"]["attributedTo"] == "http://coop.test/users/ada"
    assert create["object"]["audience"] == group.url
    assert create["object"]["content"] == note.content
    assert create["object"]["source"]["content"] == "Spores <b>&</b> soil\n\nnext"
    assert await RemoteNote.filter(group_id=group.id).count() == 1


@pytest.mark.parametrize(
    "state", [RemoteMembershipState.PENDING, RemoteMembershipState.REJECTED]
)
async def test_only_accepted_members_post(
    peer: Peer, loopback_settings: Settings, state: RemoteMembershipState
) -> None:
    account, group = await joined(peer, loopback_settings, state)
    before = await row_counts()

    with pytest.raises(Forbidden):
        await remote.post_note(account, group.id, "hello", loopback_settings)

    assert await row_counts() == before


@pytest.mark.parametrize("body", ["", "   ", "x" * 5_001])
async def test_an_empty_or_overlong_post_is_refused(
    peer: Peer, loopback_settings: Settings, body: str
) -> None:
    account, group = await joined(
        peer, loopback_settings, RemoteMembershipState.ACCEPTED
    )
    before = await row_counts()

    with pytest.raises(BadUserInput) as raised:
        await remote.post_note(account, group.id, body, loopback_settings)

    assert raised.value.field == "body"
    assert await row_counts() == before


async def test_an_edit_sends_the_whole_note_again(
    peer: Peer, loopback_settings: Settings
) -> None:
    account, group = await joined(
        peer, loopback_settings, RemoteMembershipState.ACCEPTED
    )
    note = await remote.post_note(account, group.id, "draft", loopback_settings)

    edited = await remote.edit_note(account, note.id, "final", loopback_settings)

    assert edited.content == "<p>final</p>"
    [update] = await sent("Update")
    assert update["object"]["id"] == note.ap_id
    assert update["object"]["content"] == "<p>final</p>"
    assert "updated" in update["object"]
    stored = await RemoteNote.get(id=note.id)
    assert stored.content == "<p>final</p>"


async def test_a_delete_leaves_a_tombstone_and_sends_it(
    peer: Peer, loopback_settings: Settings
) -> None:
    account, group = await joined(
        peer, loopback_settings, RemoteMembershipState.ACCEPTED
    )
    note = await remote.post_note(account, group.id, "oops", loopback_settings)

    await remote.delete_note(account, note.id, loopback_settings)

    [delete] = await sent("Delete")
    assert delete["object"]["id"] == note.ap_id
    assert delete["object"]["type"] == "Tombstone"
    stored = await RemoteNote.get(id=note.id)
    assert (stored.content, stored.deleted_at is not None) == ("", True)
    assert await Tombstone.filter(url=note.ap_id).exists()
    with pytest.raises(NotFound):
        await remote.edit_note(account, note.id, "again", loopback_settings)


async def test_nobody_edits_or_deletes_another_members_note(
    peer: Peer, loopback_settings: Settings
) -> None:
    account, group = await joined(
        peer, loopback_settings, RemoteMembershipState.ACCEPTED
    )
    note = await remote.post_note(account, group.id, "mine", loopback_settings)
    other = await member("bea")
    await RemoteMembership.create(
        account_id=other.id,
        group_id=group.id,
        follow_id="http://coop.test/activities/other",
        state=RemoteMembershipState.ACCEPTED,
    )

    with pytest.raises(NotFound):
        await remote.edit_note(other, note.id, "theirs", loopback_settings)
    with pytest.raises(NotFound):
        await remote.delete_note(other, note.id, loopback_settings)

    assert (await RemoteNote.get(id=note.id)).content == "<p>mine</p>"


# Polls ------------------------------------------------------------------------------


def test_a_mastodon_question_is_read_with_its_counts() -> None:
    document = payload("mastodon_poll_question.json")

    question = remote.parse_question(document, document["id"])

    assert question.text == "Which substrate?"
    assert [(o.name, o.votes) for o in question.options] == [
        ("straw", 1),
        ("coffee grounds", 2),
    ]
    assert (question.multiple, question.closed) == (False, False)
    assert "https://mastodon.example/users/zoe" in question.parties


async def test_a_ballot_is_one_note_per_choice_to_the_group(
    peer: Peer, loopback_settings: Settings
) -> None:
    account, _ = await joined(peer, loopback_settings, RemoteMembershipState.ACCEPTED)
    url = serve_question(peer, anyOf=payload("mastodon_poll_question.json")["oneOf"])

    await remote.vote(account, url, ["straw", "coffee grounds"], loopback_settings)

    ballots = [create["object"] for create in await sent("Create")]
    assert [b["name"] for b in ballots] == ["straw", "coffee grounds"]
    assert {b["inReplyTo"] for b in ballots} == {url}
    assert {b["attributedTo"] for b in ballots} == {"http://coop.test/users/ada"}
    read = next(r for r in peer.received if r.target == QUESTION_PATH)
    assert 'keyId="http://coop.test/users/ada#main-key"' in read.headers["signature"]


@pytest.mark.parametrize(
    ("choices", "message"),
    [
        ([], "at least one"),
        (["straw", "coffee grounds"], "single choice"),
        (["sawdust"], "among the poll's options"),
    ],
)
async def test_a_wrong_ballot_is_refused(
    peer: Peer, loopback_settings: Settings, choices: list[str], message: str
) -> None:
    account, _ = await joined(peer, loopback_settings, RemoteMembershipState.ACCEPTED)
    url = serve_question(peer)
    before = await row_counts()

    with pytest.raises(BadUserInput, match=message):
        await remote.vote(account, url, choices, loopback_settings)

    assert await row_counts() == before


async def test_a_closed_poll_takes_no_ballot(
    peer: Peer, loopback_settings: Settings
) -> None:
    account, _ = await joined(peer, loopback_settings, RemoteMembershipState.ACCEPTED)
    url = serve_question(peer, closed="2024-03-02T09:00:00Z")

    with pytest.raises(BadUserInput, match="closed"):
        await remote.vote(account, url, ["straw"], loopback_settings)


async def test_a_poll_of_a_project_one_is_not_in_takes_no_ballot(
    peer: Peer, loopback_settings: Settings
) -> None:
    account, _ = await joined(peer, loopback_settings, RemoteMembershipState.PENDING)
    url = serve_question(peer)

    with pytest.raises(Forbidden):
        await remote.vote(account, url, ["straw"], loopback_settings)

    assert await OutboxActivity.filter(type="Create").count() == 0


async def test_a_poll_must_name_the_project(
    peer: Peer, loopback_settings: Settings
) -> None:
    account, group = await joined(
        peer, loopback_settings, RemoteMembershipState.ACCEPTED
    )
    url = serve_question(peer, audience=f"{peer.url}/c/other")

    with pytest.raises(NotFound):
        await remote.fetch_question(account, group, url, loopback_settings)
    with pytest.raises(Forbidden):
        await remote.vote(account, url, ["straw"], loopback_settings)


# Members ----------------------------------------------------------------------------


def serve_members(peer: Peer, items: list[Any], *, paged: bool = False) -> None:
    group = serve_group(peer, members=f"{peer.url}{GROUP_PATH}/members")
    assert group["members"]
    collection: dict[str, Any] = {
        "id": f"{peer.url}{GROUP_PATH}/members",
        "type": "OrderedCollection",
        "totalItems": len(items),
    }
    if paged:
        collection["first"] = f"{peer.url}{GROUP_PATH}/members/1"
        peer.answer_json(
            f"{GROUP_PATH}/members/1",
            {"type": "OrderedCollectionPage", "orderedItems": items},
        )
    else:
        collection["orderedItems"] = items
    peer.answer_json(f"{GROUP_PATH}/members", collection)


def member_entry(peer: Peer, handle: str, **value: str) -> dict[str, Any]:
    return {
        "id": f"{peer.url}/u/{handle}",
        "type": "Person",
        "preferredUsername": handle,
        "attachment": [
            {
                "type": "PropertyValue",
                "name": "City",
                "value": "&lt;Lyon&gt;",
                "fieldKey": "location.city",
                **value,
            },
            {"type": "Link", "href": "https://example.org"},
        ],
    }


@pytest.mark.parametrize("paged", [False, True])
async def test_members_are_read_live_signed_by_the_member(
    peer: Peer, loopback_settings: Settings, paged: bool
) -> None:
    account, group = await joined(
        peer, loopback_settings, RemoteMembershipState.ACCEPTED
    )
    items = [
        member_entry(peer, "zoe"),
        {"id": "https://elsewhere.example/u/eve", "preferredUsername": "eve"},
        "not an object",
    ]
    serve_members(peer, items, paged=paged)
    before = await row_counts()

    found = await remote.fetch_members(account, group.id, loopback_settings)

    assert [(m.handle, m.url) for m in found] == [("zoe", f"{peer.url}/u/zoe")]
    assert found[0].fields == (remote.RemoteField("location.city", "City", "<Lyon>"),)
    assert await row_counts() == before
    read = next(r for r in peer.received if r.target == f"{GROUP_PATH}/members")
    assert 'keyId="http://coop.test/users/ada#main-key"' in read.headers["signature"]


async def test_members_are_for_accepted_members_only(
    peer: Peer, loopback_settings: Settings
) -> None:
    account, group = await joined(
        peer, loopback_settings, RemoteMembershipState.PENDING
    )
    serve_members(peer, [member_entry(peer, "zoe")])
    peer.received.clear()

    with pytest.raises(Forbidden):
        await remote.fetch_members(account, group.id, loopback_settings)

    assert peer.received == []


async def test_a_group_without_a_members_collection_says_so(
    peer: Peer, loopback_settings: Settings
) -> None:
    account, group = await joined(
        peer, loopback_settings, RemoteMembershipState.ACCEPTED
    )

    with pytest.raises(NotFound, match="members list"):
        await remote.fetch_members(account, group.id, loopback_settings)
