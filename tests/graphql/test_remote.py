"""Remote projects in GraphQL: who may ask, what bad input gets, what is stored.

The remote Group is already in the cache, fresh, so no test here reaches
another instance: the service itself is tested against a peer in
tests/federation/test_remote.py, and across real instances in tests/e2e.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from strawberry.relay import to_base64

from myco_graph.domain.models import (
    OutboxActivity,
    RemoteActor,
    RemoteMembership,
    RemoteMembershipState,
    RemoteNote,
)
from tests.helpers import GraphQLClient

# A private address: a delivery job attempted during a test gives up at
# once, never reaching out of the machine.
GROUP_URL = "https://127.0.0.1:9/groups/garden"

LOOKUP = """
query ($address: String!) {
  remoteProject(address: $address) { id address url name summary membership }
}
"""
MESSAGES = """
query ($address: String!) {
  remoteProject(address: $address) {
    messages { edges { node { id text content authorHandle } } }
  }
}
"""
MINE = "{ myRemoteProjects { edges { node { address membership } } } }"
JOIN = """
mutation ($address: String!) {
  joinRemoteProject(input: {address: $address}) {
    userErrors { code field } project { id membership }
  }
}
"""
LEAVE = """
mutation ($id: ID!) {
  leaveRemoteProject(input: {projectId: $id}) { userErrors { code } project { id } }
}
"""
POST = """
mutation ($id: ID!, $body: String!) {
  postToRemoteProject(input: {projectId: $id, body: $body}) {
    userErrors { code field } note { id text authorHandle }
  }
}
"""
EDIT = """
mutation ($id: ID!, $body: String!) {
  editRemoteNote(input: {id: $id, body: $body}) {
    userErrors { code field } note { text updatedAt }
  }
}
"""
DELETE = """
mutation ($id: ID!) {
  deleteRemoteNote(input: {id: $id}) { userErrors { code } note { id } }
}
"""
VOTE = """
mutation ($url: String!) {
  voteInRemotePoll(input: {questionUrl: $url, choices: ["yes"]}) {
    userErrors { code field }
  }
}
"""
NODE = "query ($id: ID!) { node(id: $id) { __typename ... on RemoteNote { text } } }"


@pytest.fixture
async def group(database: None) -> RemoteActor:
    return await RemoteActor.create(
        url=GROUP_URL,
        type="Group",
        handle="garden",
        domain="127.0.0.1:9",
        name="Garden",
        summary="Seeds and soil",
        inbox=f"{GROUP_URL}/inbox",
        fetched_at=datetime.now(UTC),
    )


async def stored() -> dict[str, int]:
    return {
        "memberships": await RemoteMembership.all().count(),
        "notes": await RemoteNote.all().count(),
        "activities": await OutboxActivity.all().count(),
    }


async def accepted(api: GraphQLClient, token: str) -> str:
    """Joins the cached Group and marks the membership accepted; its id."""
    joined = await api(JOIN, {"address": GROUP_URL}, token=token)
    await RemoteMembership.all().update(state=RemoteMembershipState.ACCEPTED)
    return joined.data["joinRemoteProject"]["project"]["id"]  # type: ignore[no-any-return]


async def test_a_cached_project_is_found_by_its_url(
    api: GraphQLClient, group: RemoteActor
) -> None:
    token = await api.sign_up("ada")

    found = await api(LOOKUP, {"address": GROUP_URL}, token=token)

    assert found.data["remoteProject"] == {
        "id": to_base64("RemoteProject", group.id),
        "address": "garden@127.0.0.1:9",
        "url": GROUP_URL,
        "name": "Garden",
        "summary": "Seeds and soil",
        "membership": None,
    }


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        (LOOKUP, {"address": GROUP_URL}),
        (MINE, {}),
        (JOIN, {"address": GROUP_URL}),
        (POST, {"id": to_base64("RemoteProject", 1), "body": "hi"}),
    ],
)
async def test_anonymous_callers_are_asked_to_sign_in(
    api: GraphQLClient, group: RemoteActor, query: str, variables: dict[str, Any]
) -> None:
    result = await api(query, variables)

    assert result.codes == ["UNAUTHENTICATED"]
    assert await stored() == {"memberships": 0, "notes": 0, "activities": 0}


async def test_brands_take_no_part(api: GraphQLClient, group: RemoteActor) -> None:
    token = await api.sign_up("acme", account_type="BRAND")

    result = await api(JOIN, {"address": GROUP_URL}, token=token)

    assert result.codes == ["FORBIDDEN"]
    assert await stored() == {"memberships": 0, "notes": 0, "activities": 0}


@pytest.mark.parametrize("address", ["garden", "garden@", "@", "a b@c.org", ""])
async def test_a_garbled_address_is_a_user_error(
    api: GraphQLClient, group: RemoteActor, address: str
) -> None:
    token = await api.sign_up("ada")

    looked_up = await api(LOOKUP, {"address": address}, token=token)
    joined = await api(JOIN, {"address": address}, token=token)

    assert looked_up.codes == ["BAD_USER_INPUT"]
    assert joined.data["joinRemoteProject"]["userErrors"] == [
        {"code": "BAD_USER_INPUT", "field": ["address"]}
    ]
    assert await stored() == {"memberships": 0, "notes": 0, "activities": 0}


async def test_joining_waits_for_the_projects_answer(
    api: GraphQLClient, group: RemoteActor
) -> None:
    token = await api.sign_up("ada")

    joined = await api(JOIN, {"address": GROUP_URL}, token=token)
    mine = await api(MINE, token=token)
    posted = await api(
        POST,
        {"id": joined.data["joinRemoteProject"]["project"]["id"], "body": "hi"},
        token=token,
    )
    read = await api(MESSAGES, {"address": GROUP_URL}, token=token)

    assert joined.data["joinRemoteProject"]["project"]["membership"] == "PENDING"
    assert mine.data["myRemoteProjects"]["edges"] == [
        {"node": {"address": "garden@127.0.0.1:9", "membership": "PENDING"}}
    ]
    assert posted.codes == ["FORBIDDEN"]
    assert read.codes == ["FORBIDDEN"]
    assert await stored() == {"memberships": 1, "notes": 0, "activities": 1}


async def test_an_accepted_member_posts_and_reads_the_messages(
    api: GraphQLClient, group: RemoteActor
) -> None:
    token = await api.sign_up("ada")
    project_id = await accepted(api, token)

    posted = await api(
        POST, {"id": project_id, "body": "a <b>bold</b> idea"}, token=token
    )
    read = await api(MESSAGES, {"address": GROUP_URL}, token=token)

    note = posted.data["postToRemoteProject"]["note"]
    assert note["text"] == "a <b>bold</b> idea"
    assert note["authorHandle"] == "ada"
    [edge] = read.data["remoteProject"]["messages"]["edges"]
    assert edge["node"]["content"] == "<p>a &lt;b&gt;bold&lt;/b&gt; idea</p>"
    assert edge["node"]["id"] == note["id"]


@pytest.mark.parametrize("body", ["", "  ", "x" * 5_001])
async def test_an_empty_or_overlong_post_is_a_user_error(
    api: GraphQLClient, group: RemoteActor, body: str
) -> None:
    token = await api.sign_up("ada")
    project_id = await accepted(api, token)
    before = await stored()

    posted = await api(POST, {"id": project_id, "body": body}, token=token)

    assert posted.data["postToRemoteProject"]["userErrors"] == [
        {"code": "BAD_USER_INPUT", "field": ["body"]}
    ]
    assert await stored() == before


async def test_an_unknown_or_wrong_project_id_is_refused(
    api: GraphQLClient, group: RemoteActor
) -> None:
    token = await api.sign_up("ada")
    await accepted(api, token)

    unknown = await api(
        POST, {"id": to_base64("RemoteProject", 999), "body": "hi"}, token=token
    )
    wrong = await api(
        POST, {"id": to_base64("Project", group.id), "body": "hi"}, token=token
    )

    assert unknown.codes == ["NOT_FOUND"]
    assert wrong.data["postToRemoteProject"]["userErrors"] == [
        {"code": "BAD_USER_INPUT", "field": ["projectId"]}
    ]
    assert await RemoteNote.all().count() == 0


async def test_a_note_is_edited_and_deleted_by_its_author_only(
    api: GraphQLClient, group: RemoteActor
) -> None:
    ada = await api.sign_up("ada")
    bea = await api.sign_up("bea")
    project_id = await accepted(api, ada)
    await api(JOIN, {"address": GROUP_URL}, token=bea)
    await RemoteMembership.all().update(state=RemoteMembershipState.ACCEPTED)
    posted = await api(POST, {"id": project_id, "body": "draft"}, token=ada)
    note_id = posted.data["postToRemoteProject"]["note"]["id"]

    by_other = await api(EDIT, {"id": note_id, "body": "mine now"}, token=bea)
    edited = await api(EDIT, {"id": note_id, "body": "final"}, token=ada)
    seen = await api(NODE, {"id": note_id}, token=bea)
    deleted = await api(DELETE, {"id": note_id}, token=ada)
    read = await api(MESSAGES, {"address": GROUP_URL}, token=ada)

    assert by_other.codes == ["NOT_FOUND"]
    assert edited.data["editRemoteNote"]["note"]["text"] == "final"
    assert edited.data["editRemoteNote"]["note"]["updatedAt"] is not None
    assert seen.data["node"] == {"__typename": "RemoteNote", "text": "final"}
    assert deleted.data["deleteRemoteNote"]["userErrors"] == []
    assert read.data["remoteProject"]["messages"]["edges"] == []


async def test_notes_are_not_nodes_for_those_outside_the_project(
    api: GraphQLClient, group: RemoteActor
) -> None:
    ada = await api.sign_up("ada")
    project_id = await accepted(api, ada)
    posted = await api(POST, {"id": project_id, "body": "inside"}, token=ada)
    note_id = posted.data["postToRemoteProject"]["note"]["id"]
    outsider = await api.sign_up("cyd")

    seen = await api(NODE, {"id": note_id}, token=outsider)
    anonymous = await api(NODE, {"id": note_id})

    assert seen.data["node"] is None
    assert anonymous.data["node"] is None


async def test_leaving_forgets_the_membership(
    api: GraphQLClient, group: RemoteActor
) -> None:
    token = await api.sign_up("ada")
    project_id = await accepted(api, token)

    left = await api(LEAVE, {"id": project_id}, token=token)
    again = await api(LEAVE, {"id": project_id}, token=token)
    mine = await api(MINE, token=token)

    assert left.data["leaveRemoteProject"]["userErrors"] == []
    assert again.codes == ["NOT_FOUND"]
    assert mine.data["myRemoteProjects"]["edges"] == []
    assert await OutboxActivity.filter(type="Undo").count() == 1


@pytest.mark.parametrize("url", ["", "not a url", "ftp://127.0.0.1/q/1"])
async def test_a_ballot_needs_a_polls_url(
    api: GraphQLClient, group: RemoteActor, url: str
) -> None:
    token = await api.sign_up("ada")
    await accepted(api, token)
    before = await stored()

    voted = await api(VOTE, {"url": url}, token=token)

    assert voted.data["voteInRemotePoll"]["userErrors"] == [
        {"code": "BAD_USER_INPUT", "field": ["questionUrl"]}
    ]
    assert await stored() == before
