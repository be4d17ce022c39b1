"""A project's discussion over GraphQL: posting, paging, editing, removal, events."""

from __future__ import annotations

from typing import Any

import pytest

from myco_graph.domain.models import Message
from myco_graph.infrastructure.config import Settings
from tests.helpers import GraphQLClient, Response, row_counts, subscriptions
from tests.project_support import (
    Crew,
    next_activity,
    ok,
    quick_crew,
    row_id,
    until_listening,
    viewer_id,
)

MESSAGE_FIELDS = """
id body links deleted removedByAdmin editedAt author { handle } mentions { handle }
"""

POST = f"""
mutation Post($input: PostMessageInput!) {{
  postMessage(input: $input) {{
    message {{ {MESSAGE_FIELDS} }}
    userErrors {{ field code }}
  }}
}}
"""

EDIT = f"""
mutation Edit($input: EditMessageInput!) {{
  editMessage(input: $input) {{
    message {{ {MESSAGE_FIELDS} }}
    userErrors {{ field code }}
  }}
}}
"""

DELETE = f"""
mutation Delete($input: DeleteMessageInput!) {{
  deleteMessage(input: $input) {{
    message {{ {MESSAGE_FIELDS} }}
    userErrors {{ field code }}
  }}
}}
"""

REMOVE = f"""
mutation Remove($input: DeleteMessageInput!) {{
  removeMessage(input: $input) {{
    message {{ {MESSAGE_FIELDS} }}
    userErrors {{ field code }}
  }}
}}
"""

MESSAGES = f"""
query Messages($id: ID!, $first: Int!, $after: String) {{
  node(id: $id) {{ ... on Project {{
    messages(first: $first, after: $after) {{
      edges {{ node {{ {MESSAGE_FIELDS} }} }}
      pageInfo {{ hasNextPage endCursor }}
    }}
  }} }}
}}
"""

ACTIVITY = f"""
subscription Activity($id: ID!) {{
  projectActivity(projectId: $id) {{ kind payload message {{ {MESSAGE_FIELDS} }} }}
}}
"""

REMOVE_MEMBER = """
mutation Remove($input: ProjectMemberInput!) {
  removeProjectMember(input: $input) { userErrors { field } }
}
"""


async def post(api: GraphQLClient, team: Crew, handle: str, body: str) -> Response:
    return await api(
        POST,
        {"input": {"projectId": team.project_id, "body": body}},
        token=team[handle],
    )


async def posted(api: GraphQLClient, team: Crew, handle: str, body: str) -> Any:
    payload = await ok(api, POST, team[handle], projectId=team.project_id, body=body)
    return payload["message"]


async def on_message(
    api: GraphQLClient, query: str, token: str, message_id: str, **given: Any
) -> Response:
    return await api(query, {"input": {"id": message_id, **given}}, token=token)


async def page(
    api: GraphQLClient, team: Crew, first: int, after: str | None = None
) -> dict[str, Any]:
    variables = {"id": team.project_id, "first": first, "after": after}
    result = await api(MESSAGES, variables, token=team["alice"])
    return result.data["node"]["messages"]  # type: ignore[no-any-return]


def bodies(connection: dict[str, Any]) -> list[str]:
    return [edge["node"]["body"] for edge in connection["edges"]]


async def stored(message_id: str) -> Message:
    return await Message.get(id=row_id(message_id))


# Posting and reading ------------------------------------------------------------


async def test_mentions_resolve_to_accounts_and_links_are_extracted(
    api: GraphQLClient, settings: Settings
) -> None:
    team = await quick_crew(api, settings, outsiders=("carol",))

    message = await posted(
        api,
        team,
        "alice",
        "Thanks @Bob and @carol (not @nobody_here, nor mail@alice.org): "
        "see https://example.org/plan and https://example.org/plan again",
    )

    assert sorted(m["handle"] for m in message["mentions"]) == ["bob", "carol"]
    assert message["links"] == ["https://example.org/plan"]
    assert message["author"] == {"handle": "alice"}
    assert (message["deleted"], message["editedAt"]) == (False, None)


async def test_messages_come_newest_first_one_page_after_another(
    api: GraphQLClient, settings: Settings
) -> None:
    team = await quick_crew(api, settings)
    for n in range(5):
        await posted(api, team, "alice" if n % 2 else "bob", f"Message {n}")

    first = await page(api, team, 2)
    second = await page(api, team, 2, first["pageInfo"]["endCursor"])
    last = await page(api, team, 2, second["pageInfo"]["endCursor"])

    assert bodies(first) == ["Message 4", "Message 3"]
    assert bodies(second) == ["Message 2", "Message 1"]
    assert bodies(last) == ["Message 0"]
    assert [p["pageInfo"]["hasNextPage"] for p in (first, second, last)] == [
        True,
        True,
        False,
    ]


@pytest.mark.parametrize("body", ["", "   \n ", "x" * 5_001])
async def test_empty_or_oversized_message_is_refused_and_nothing_stored(
    api: GraphQLClient, settings: Settings, body: str
) -> None:
    team = await quick_crew(api, settings)
    before = await row_counts()

    result = await post(api, team, "alice", body)

    payload = result.data["postMessage"]
    assert payload["message"] is None
    assert payload["userErrors"] == [{"field": ["body"], "code": "BAD_USER_INPUT"}]
    assert await row_counts() == before


async def test_longest_message_is_taken_trimmed(
    api: GraphQLClient, settings: Settings
) -> None:
    team = await quick_crew(api, settings)

    message = await posted(api, team, "alice", f"  {'x' * 5_000}  ")

    assert message["body"] == "x" * 5_000


# Editing and deleting -----------------------------------------------------------


async def test_author_edits_a_message_and_its_mentions_follow(
    api: GraphQLClient, settings: Settings
) -> None:
    team = await quick_crew(api, settings)
    message = await posted(api, team, "alice", "Hello @bob")

    result = await on_message(
        api, EDIT, team["alice"], message["id"], body="Hello @olga, https://coop.test"
    )

    edited = result.data["editMessage"]["message"]
    assert edited["body"] == "Hello @olga, https://coop.test"
    assert [m["handle"] for m in edited["mentions"]] == ["olga"]
    assert edited["links"] == ["https://coop.test"]
    assert edited["editedAt"] is not None


async def test_another_member_cannot_edit_a_message(
    api: GraphQLClient, settings: Settings
) -> None:
    team = await quick_crew(api, settings, admins=("adam",))
    message = await posted(api, team, "alice", "Mine")
    before = await row_counts()

    by_member = await on_message(api, EDIT, team["bob"], message["id"], body="Bob's")
    by_admin = await on_message(api, EDIT, team["adam"], message["id"], body="Adam's")

    assert (by_member.codes, by_admin.codes) == (["FORBIDDEN"], ["FORBIDDEN"])
    row = await stored(message["id"])
    assert (row.body, row.edited_at) == ("Mine", None)
    assert await row_counts() == before


async def test_refused_edit_keeps_the_message_as_it_was(
    api: GraphQLClient, settings: Settings
) -> None:
    team = await quick_crew(api, settings)
    message = await posted(api, team, "alice", "Hello @bob")

    result = await on_message(api, EDIT, team["alice"], message["id"], body=" ")

    assert result.data["editMessage"]["userErrors"] == [
        {"field": ["body"], "code": "BAD_USER_INPUT"}
    ]
    row = await stored(message["id"])
    assert (row.body, row.edited_at, len(row.mentions)) == ("Hello @bob", None, 1)


async def test_author_deletes_a_message_and_its_place_stays_empty(
    api: GraphQLClient, settings: Settings
) -> None:
    team = await quick_crew(api, settings)
    message = await posted(api, team, "alice", "Oops @bob https://example.org")
    await posted(api, team, "bob", "Reply")

    await ok(api, DELETE, team["alice"], id=message["id"])

    [reply, gone] = [edge["node"] for edge in (await page(api, team, 10))["edges"]]
    assert reply["body"] == "Reply"
    assert (gone["id"], gone["body"], gone["links"], gone["mentions"]) == (
        message["id"],
        "",
        [],
        [],
    )
    assert (gone["deleted"], gone["removedByAdmin"]) == (True, False)


async def test_another_member_cannot_delete_a_message(
    api: GraphQLClient, settings: Settings
) -> None:
    team = await quick_crew(api, settings)
    message = await posted(api, team, "alice", "Mine")

    result = await on_message(api, DELETE, team["bob"], message["id"])

    assert result.codes == ["FORBIDDEN"]
    assert (await stored(message["id"])).deleted_at is None


async def test_admin_removes_someones_message(
    api: GraphQLClient, settings: Settings
) -> None:
    team = await quick_crew(api, settings, admins=("adam",))
    message = await posted(api, team, "alice", "Spam https://spam.example")

    result = await on_message(api, REMOVE, team["adam"], message["id"])

    removed = result.data["removeMessage"]["message"]
    assert (removed["body"], removed["links"]) == ("", [])
    assert (removed["deleted"], removed["removedByAdmin"]) == (True, True)


async def test_removed_member_can_no_longer_edit_their_messages(
    api: GraphQLClient, settings: Settings
) -> None:
    team = await quick_crew(api, settings)
    message = await posted(api, team, "alice", "Before")
    alice = await viewer_id(api, team["alice"])
    await ok(
        api, REMOVE_MEMBER, team["olga"], projectId=team.project_id, memberId=alice
    )

    result = await on_message(api, EDIT, team["alice"], message["id"], body="Spam")

    assert result.codes == ["FORBIDDEN"]
    assert (await stored(message["id"])).body == "Before"


async def test_outsider_cannot_touch_a_private_projects_message(
    api: GraphQLClient, settings: Settings
) -> None:
    team = await quick_crew(api, settings, visibility="PRIVATE", outsiders=("mallory",))
    message = await posted(api, team, "alice", "Private")

    edited = await on_message(api, EDIT, team["mallory"], message["id"], body="x")
    deleted = await on_message(api, DELETE, team["mallory"], message["id"])
    removed = await on_message(api, REMOVE, team["mallory"], message["id"])

    assert [r.codes for r in (edited, deleted, removed)] == [["NOT_FOUND"]] * 3
    assert (await stored(message["id"])).body == "Private"


# Project activity ---------------------------------------------------------------


async def test_members_receive_messages_created_edited_and_deleted(
    api: GraphQLClient, server: str, settings: Settings
) -> None:
    team = await quick_crew(api, settings)
    async with subscriptions(server, team["bob"]) as connection:
        await connection.send(
            {
                "id": "1",
                "type": "subscribe",
                "payload": {"query": ACTIVITY, "variables": {"id": team.project_id}},
            }
        )
        await until_listening(connection, team.project_id)

        message = await posted(api, team, "alice", "Hello @bob")
        created = await next_activity(connection, "message.created")
        await ok(api, EDIT, team["alice"], id=message["id"], body="Hello all")
        edited = await next_activity(connection, "message.edited")
        await ok(api, DELETE, team["alice"], id=message["id"])
        deleted = await next_activity(connection, "message.deleted")

    number = row_id(message["id"])
    assert [a["kind"] for a in (created, edited, deleted)] == [
        "message.created",
        "message.edited",
        "message.deleted",
    ]
    assert all(a["payload"] == {"message": number} for a in (created, edited, deleted))
    assert created["message"]["body"] == "Hello @bob"
    assert created["message"]["mentions"] == [{"handle": "bob"}]
    assert edited["message"]["body"] == "Hello all"
    assert (deleted["message"]["body"], deleted["message"]["deleted"]) == ("", True)
