"""The discussion in the domain: checked bodies, mentions, links, events."""

from __future__ import annotations

import pytest

from myco_graph.domain import discussion
from myco_graph.domain.models import Event, Message
from myco_graph.errors import BadUserInput, Forbidden, NotFound
from tests.helpers import row_counts
from tests.project_support import make_account, make_project

pytestmark = pytest.mark.usefixtures("server")


async def test_mentions_name_accounts_whatever_the_case() -> None:
    alice, bob = await make_account("alice"), await make_account("Bob_2")
    project = await make_project(alice, bob)

    message = await discussion.post(
        project, alice, "@ALICE and @bob_2, not @nobody nor @al nor bob@alice.org"
    )

    assert message.mentions == sorted([alice.id, bob.id])


async def test_project_names_are_not_mentions() -> None:
    alice = await make_account("alice")
    project = await make_project(alice)

    message = await discussion.post(project, alice, f"Welcome to @{project.handle}")

    assert message.mentions == []


WIKI = "https://en.wikipedia.org/wiki/Truffle_(fungus)"


@pytest.mark.parametrize(
    ("body", "links"),
    [
        ("https://c.test/a or http://c.test/b", ["https://c.test/a", "http://c.test/b"]),
        ("https://c.test/a https://c.test/a", ["https://c.test/a"]),
        ("Read https://c.test/a, then https://c.test/b.", ["https://c.test/a", "https://c.test/b"]),
        ("(see https://c.test/x)!", ["https://c.test/x"]),
        (f"about {WIKI}: mushrooms", [WIKI]),
        ('<a href="https://c.test/q?a=1&b=2">', ["https://c.test/q?a=1&b=2"]),
        ("ftp://c.test and https://. and c.test", []),
    ],
)  # fmt: skip
async def test_links_are_extracted_without_the_sentence_around_them(
    body: str, links: list[str]
) -> None:
    alice = await make_account("alice")

    message = await discussion.post(await make_project(alice), alice, body)

    assert message.links == links


async def test_links_are_kept_up_to_twenty() -> None:
    alice = await make_account("alice")
    body = " ".join(f"https://coop.test/{n}" for n in range(25))

    message = await discussion.post(await make_project(alice), alice, body)

    assert message.links == [f"https://coop.test/{n}" for n in range(20)]


@pytest.mark.parametrize("body", ["", " \t\n ", "x" * 5_001])
async def test_empty_or_oversized_body_is_refused_and_nothing_stored(body: str) -> None:
    alice = await make_account("alice")
    project = await make_project(alice)
    before = await row_counts()

    with pytest.raises(BadUserInput) as refused:
        await discussion.post(project, alice, body)

    assert refused.value.field == "body"
    assert await row_counts() == before


async def test_post_records_its_event_with_the_message() -> None:
    alice = await make_account("alice")
    project = await make_project(alice)

    message = await discussion.post(project, alice, "Hello")

    event = await Event.get(kind="message.created")
    assert (event.project_id, event.account_id) == (project.id, alice.id)
    assert event.payload == {"message": message.id}


async def test_edit_replaces_body_mentions_and_links() -> None:
    alice, bob = await make_account("alice"), await make_account("bob")
    message = await discussion.post(
        await make_project(alice, bob), alice, "@bob https://coop.test/a"
    )

    edited = await discussion.edit(alice, message.id, "  Just text  ")

    row = await Message.get(id=message.id)
    assert (row.body, row.mentions, row.links) == ("Just text", [], [])
    assert row.edited_at is not None and edited.edited_at == row.edited_at


async def test_only_the_author_edits_or_deletes() -> None:
    alice, bob = await make_account("alice"), await make_account("bob")
    message = await discussion.post(await make_project(alice, bob), alice, "Mine")

    with pytest.raises(Forbidden):
        await discussion.edit(bob, message.id, "Bob's")
    with pytest.raises(Forbidden):
        await discussion.delete(bob, message.id)

    row = await Message.get(id=message.id)
    assert (row.body, row.edited_at, row.deleted_at) == ("Mine", None, None)


async def test_deleted_message_keeps_its_place_but_not_its_content() -> None:
    alice, bob = await make_account("alice"), await make_account("bob")
    message = await discussion.post(
        await make_project(alice, bob), alice, "@bob https://coop.test"
    )

    await discussion.delete(alice, message.id)

    row = await Message.get(id=message.id)
    assert (row.body, row.mentions, row.links) == ("", [], [])
    assert (row.deleted_at is not None, row.removed_by_admin) == (True, False)
    assert await Event.filter(kind="message.deleted").count() == 1


async def test_deleted_message_cannot_be_edited_again() -> None:
    alice = await make_account("alice")
    message = await discussion.post(await make_project(alice), alice, "Mine")
    await discussion.delete(alice, message.id)

    with pytest.raises(NotFound):
        await discussion.edit(alice, message.id, "Back")


async def test_admin_removal_is_marked_and_happens_once() -> None:
    alice, bob = await make_account("alice"), await make_account("bob")
    message = await discussion.post(await make_project(alice, bob), bob, "Spam")

    await discussion.remove(message, alice)
    await discussion.remove(await Message.get(id=message.id), alice)

    row = await Message.get(id=message.id)
    assert (row.body, row.removed_by_admin) == ("", True)
    assert await Event.filter(kind="message.removed").count() == 1
