"""Pending memberships over GraphQL: invitations seen, declined, taken back."""

from __future__ import annotations

from typing import Any

from myco_graph.domain.models import Event, ProjectMember
from myco_graph.infrastructure.config import Settings
from tests.helpers import GraphQLClient, row_counts
from tests.project_support import (
    INVITE,
    JOIN,
    global_id,
    ok,
    quick_crew,
    viewer_id,
)

MY_INVITATIONS = """
{ myInvitations { edges { node { projectId name summary visibility invitedAt } } } }
"""

DECLINE = """
mutation Decline($input: ProjectInput!) {
  declineInvitation(input: $input) { project { name } userErrors { field code } }
}
"""

CANCEL = """
mutation Cancel($input: ProjectInput!) {
  cancelJoinRequest(input: $input) {
    project { name viewerRole } userErrors { field code }
  }
}
"""

REMOVE = """
mutation Remove($input: ProjectMemberInput!) {
  removeProjectMember(input: $input) { userErrors { field code } }
}
"""

PENDING = """
query Pending($id: ID!) {
  node(id: $id) {
    ... on Project {
      invitations { edges { node { member { handle } } } }
      joinRequests { edges { node { member { handle } } } }
    }
  }
}
"""


async def invited(api: GraphQLClient, token: str) -> list[dict[str, Any]]:
    answer = await api(MY_INVITATIONS, token=token)
    return [edge["node"] for edge in answer.data["myInvitations"]["edges"]]


async def invite(api: GraphQLClient, team: Any, handle: str) -> None:
    member = await viewer_id(api, team[handle])
    await ok(api, INVITE, team["olga"], projectId=team.project_id, memberId=member)


def handles(connection: dict[str, Any]) -> list[str]:
    return [edge["node"]["member"]["handle"] for edge in connection["edges"]]


async def test_invitee_sees_the_private_project_that_invited_them(
    api: GraphQLClient, settings: Settings
) -> None:
    team = await quick_crew(
        api, settings, members=(), outsiders=("alice", "bob"), visibility="PRIVATE"
    )
    await invite(api, team, "alice")

    seen_by_alice = await invited(api, team["alice"])
    seen_by_bob = await invited(api, team["bob"])

    [invitation] = seen_by_alice
    assert invitation["projectId"] == team.project_id
    assert (invitation["name"], invitation["visibility"]) == ("olgas", "PRIVATE")
    assert seen_by_bob == []


async def test_accepting_an_invitation_takes_it_off_the_list(
    api: GraphQLClient, settings: Settings
) -> None:
    team = await quick_crew(api, settings, members=(), outsiders=("alice",))
    await invite(api, team, "alice")

    await ok(api, JOIN, team["alice"], projectId=team.project_id)

    assert await invited(api, team["alice"]) == []


async def test_declined_invitation_lets_nobody_into_a_private_project(
    api: GraphQLClient, settings: Settings
) -> None:
    team = await quick_crew(
        api, settings, members=(), outsiders=("alice",), visibility="PRIVATE"
    )
    await invite(api, team, "alice")

    declined = await api(
        DECLINE, {"input": {"projectId": team.project_id}}, token=team["alice"]
    )
    joined = await api(
        JOIN, {"input": {"projectId": team.project_id}}, token=team["alice"]
    )

    assert declined.data["declineInvitation"] == {"project": None, "userErrors": []}
    assert await invited(api, team["alice"]) == []
    assert joined.codes == ["NOT_FOUND"]
    pending = await api(PENDING, {"id": team.project_id}, token=team["olga"])
    assert handles(pending.data["node"]["invitations"]) == []


async def test_declining_without_an_invitation_reveals_nothing(
    api: GraphQLClient, settings: Settings
) -> None:
    team = await quick_crew(
        api, settings, members=(), outsiders=("bob",), visibility="PRIVATE"
    )
    before = await row_counts()

    existing = await api(
        DECLINE, {"input": {"projectId": team.project_id}}, token=team["bob"]
    )
    missing = await api(
        DECLINE,
        {"input": {"projectId": global_id("Project", 999_999)}},
        token=team["bob"],
    )

    assert existing.codes == missing.codes == ["NOT_FOUND"]
    assert existing.body["errors"][0]["message"] == missing.body["errors"][0]["message"]
    assert "olgas" not in str(existing.body)
    assert await row_counts() == before


async def test_requester_takes_back_a_request_to_join(
    api: GraphQLClient, settings: Settings
) -> None:
    team = await quick_crew(api, settings, members=(), outsiders=("bob",))
    await ok(api, JOIN, team["bob"], projectId=team.project_id)

    cancelled = await api(
        CANCEL, {"input": {"projectId": team.project_id}}, token=team["bob"]
    )
    again = await api(
        CANCEL, {"input": {"projectId": team.project_id}}, token=team["bob"]
    )

    assert cancelled.data["cancelJoinRequest"] == {
        "project": {"name": "olgas", "viewerRole": None},
        "userErrors": [],
    }
    assert again.codes == ["NOT_FOUND"]
    pending = await api(PENDING, {"id": team.project_id}, token=team["olga"])
    assert handles(pending.data["node"]["joinRequests"]) == []


async def test_an_invitation_is_not_a_request_to_cancel(
    api: GraphQLClient, settings: Settings
) -> None:
    team = await quick_crew(api, settings, members=(), outsiders=("alice",))
    await invite(api, team, "alice")

    cancelled = await api(
        CANCEL, {"input": {"projectId": team.project_id}}, token=team["alice"]
    )

    assert cancelled.codes == ["NOT_FOUND"]
    assert len(await invited(api, team["alice"])) == 1


async def test_staff_see_an_invitation_and_take_it_back_silently(
    api: GraphQLClient, settings: Settings
) -> None:
    team = await quick_crew(api, settings, members=(), outsiders=("alice",))
    await invite(api, team, "alice")
    listed = await api(PENDING, {"id": team.project_id}, token=team["olga"])
    events_before = await Event.all().count()

    member = await viewer_id(api, team["alice"])
    await ok(api, REMOVE, team["olga"], projectId=team.project_id, memberId=member)

    assert handles(listed.data["node"]["invitations"]) == ["alice"]
    assert await invited(api, team["alice"]) == []
    # Nobody left the project: its members hear of nothing.
    assert await Event.all().count() == events_before
    assert not await ProjectMember.exists(state="invited")


async def test_pending_memberships_need_a_signed_in_member(
    api: GraphQLClient, settings: Settings
) -> None:
    team = await quick_crew(api, settings, members=(), outsiders=())
    variables = {"input": {"projectId": team.project_id}}

    listed = await api(MY_INVITATIONS)
    declined = await api(DECLINE, variables)
    cancelled = await api(CANCEL, variables)

    assert listed.codes == declined.codes == cancelled.codes == ["UNAUTHENTICATED"]


PAGE = """
query Page($after: String) {
  myInvitations(first: 1, after: $after) {
    edges { node { name } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


async def test_invitations_page_newest_first(
    api: GraphQLClient, settings: Settings
) -> None:
    first = await quick_crew(
        api, settings, owner="olga", members=(), outsiders=("alice",)
    )
    second = await quick_crew(api, settings, owner="oscar", members=(), outsiders=())
    alice = await viewer_id(api, first["alice"])
    await ok(api, INVITE, first["olga"], projectId=first.project_id, memberId=alice)
    await ok(api, INVITE, second["oscar"], projectId=second.project_id, memberId=alice)

    page = (await api(PAGE, token=first["alice"])).data["myInvitations"]
    after = page["pageInfo"]["endCursor"]
    rest = (await api(PAGE, {"after": after}, token=first["alice"])).data[
        "myInvitations"
    ]

    assert [edge["node"]["name"] for edge in page["edges"]] == ["oscars"]
    assert page["pageInfo"]["hasNextPage"] is True
    assert [edge["node"]["name"] for edge in rest["edges"]] == ["olgas"]
    assert rest["pageInfo"]["hasNextPage"] is False
