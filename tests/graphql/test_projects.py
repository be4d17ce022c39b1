"""Projects over GraphQL: names, membership, and what members share there."""

from __future__ import annotations

from typing import Any

import pytest

from myco_graph.domain import receipts
from myco_graph.infrastructure.config import Settings
from tests.consent_support import People, set_values
from tests.helpers import (
    GraphQLClient,
    Response,
    Subscriptions,
    row_counts,
    subscriptions,
)
from tests.project_support import (
    Crew,
    next_activity,
    ok,
    quick_crew,
    row_id,
    until_listening,
    viewer_id,
)

CREATE = """
mutation Create($input: CreateProjectInput!) {
  createProject(input: $input) {
    project { id name summary visibility viewerRole memberCount }
    userErrors { field message code }
  }
}
"""

INVITE = """
mutation Invite($input: ProjectMemberInput!) {
  inviteToProject(input: $input) { userErrors { field code } }
}
"""

JOIN = """
mutation Join($input: JoinProjectInput!) {
  joinProject(input: $input) { project { viewerRole } userErrors { field code } }
}
"""

DECIDE = """
mutation Decide($input: DecideJoinRequestInput!) {
  decideJoinRequest(input: $input) { userErrors { field code } }
}
"""

LEAVE = """
mutation Leave($input: ProjectInput!) {
  leaveProject(input: $input) { project { viewerRole } userErrors { field code } }
}
"""

REMOVE = """
mutation Remove($input: ProjectMemberInput!) {
  removeProjectMember(input: $input) { userErrors { field code } }
}
"""

SET_ROLE = """
mutation Role($input: SetProjectRoleInput!) {
  setProjectRole(input: $input) { userErrors { field code } }
}
"""

SET_SHARING = """
mutation Sharing($input: JoinProjectInput!) {
  setProjectSharing(input: $input) { userErrors { field code } }
}
"""

UPDATE = """
mutation Update($input: UpdateProjectInput!) {
  updateProject(input: $input) { project { summary } userErrors { field code } }
}
"""

MEMBERS = """
query Members($id: ID!) {
  node(id: $id) { ... on Project { members { edges { node {
    role sharedFields member { handle }
    profile { location { city country } politics { leaning } }
  } } } } }
}
"""

JOIN_REQUESTS = """
query Requests($id: ID!) {
  node(id: $id) { ... on Project {
    joinRequests { edges { node { member { handle } sharedFields } } }
  } }
}
"""

MY_PROJECTS = "{ myProjects { edges { node { name viewerRole } } } }"

GRANTS = """
{ viewer { ... on Member { consentGrants { edges { node {
  status fields purpose explicit audience { kind id } receipt receiptJws
} } } } } }
"""

POST = """
mutation Post($input: PostMessageInput!) {
  postMessage(input: $input) { userErrors { field code } }
}
"""

ACCESS_LOG = """
{ viewer { ... on Member { accessLog { edges { node {
  viewerAccount { handle } purpose fields
} } } } } }
"""

ACTIVITY = """
subscription Activity($id: ID!) { projectActivity(projectId: $id) { kind payload } }
"""

CITY, COUNTRY, LEANING = "LOCATION_CITY", "LOCATION_COUNTRY", "POLITICS_LEANING"


# Reading what the API answers ---------------------------------------------------


def input_of(team: Crew, **given: Any) -> dict[str, Any]:
    return {"input": {"projectId": team.project_id, **given}}


async def member_id(api: GraphQLClient, team: Crew, handle: str) -> str:
    return await viewer_id(api, team[handle])


async def members(api: GraphQLClient, team: Crew, reader: str) -> Response:
    return await api(MEMBERS, {"id": team.project_id}, token=team[reader])


def roster(result: Response) -> dict[str, str]:
    """Handle → role of everyone in the member list."""
    edges = result.body["data"]["node"]["members"]["edges"]
    return {edge["node"]["member"]["handle"]: edge["node"]["role"] for edge in edges}


def seen(result: Response, handle: str) -> dict[str, Any]:
    """What a member list shows of one member: each field's value or denial."""
    edges = result.body["data"]["node"]["members"]["edges"]
    [index] = [
        i for i, edge in enumerate(edges) if edge["node"]["member"]["handle"] == handle
    ]
    profile = edges[index]["node"]["profile"]
    shown: dict[str, Any] = {
        f"{section}.{name}": value
        for section, values in profile.items()
        for name, value in values.items()
    }
    for error in result.errors:
        if error["path"][:5] == ["node", "members", "edges", index, "node"]:
            assert error["extensions"]["code"] == "CONSENT_REQUIRED", error
            shown[".".join(error["path"][-2:])] = error["extensions"]["reason"]
    return shown


async def grants_of(api: GraphQLClient, token: str) -> list[dict[str, Any]]:
    result = await api(GRANTS, token=token)
    edges = result.data["viewer"]["consentGrants"]["edges"]
    return [edge["node"] for edge in edges]


async def create(api: GraphQLClient, token: str, name: str, **given: Any) -> Any:
    result = await api(CREATE, {"input": {"name": name, **given}}, token=token)
    return result.data["createProject"]


# Names --------------------------------------------------------------------------


async def test_creator_becomes_the_owner_of_a_new_project(
    api: GraphQLClient, settings: Settings
) -> None:
    token = await People.of(settings).token("olga")

    payload = await create(api, token, "Garden", summary="  Seeds  ")

    assert payload["userErrors"] == []
    project = payload["project"]
    assert (project["name"], project["summary"], project["visibility"]) == (
        "Garden",
        "Seeds",
        "PUBLIC",
    )
    assert (project["viewerRole"], project["memberCount"]) == ("OWNER", 1)


async def test_project_cannot_take_a_member_handle_in_another_case(
    api: GraphQLClient, settings: Settings
) -> None:
    people = People.of(settings)
    await people.token("garden")
    token = await people.token("olga")
    before = await row_counts()

    payload = await create(api, token, "Garden")

    [error] = payload["userErrors"]
    assert (error["field"], error["code"]) == (["name"], "BAD_USER_INPUT")
    assert payload["project"] is None
    assert await row_counts() == before


async def test_project_cannot_take_another_projects_name_in_another_case(
    api: GraphQLClient, settings: Settings
) -> None:
    token = await People.of(settings).token("olga")
    await create(api, token, "Garden")
    before = await row_counts()

    payload = await create(api, token, "gARDEN")

    assert [e["field"] for e in payload["userErrors"]] == [["name"]]
    assert await row_counts() == before


@pytest.mark.parametrize(
    "name", ["ab", "x" * 31, "two words", "jardin-partagé", "café", "", "@garden"]
)
async def test_badly_formed_project_name_is_refused(
    api: GraphQLClient, settings: Settings, name: str
) -> None:
    token = await People.of(settings).token("olga")
    before = await row_counts()

    payload = await create(api, token, name)

    assert [e["field"] for e in payload["userErrors"]] == [["name"]]
    assert await row_counts() == before


async def test_anonymous_caller_cannot_create_a_project(api: GraphQLClient) -> None:
    result = await api(CREATE, {"input": {"name": "Garden"}})

    assert result.codes == ["UNAUTHENTICATED"]
    assert (await row_counts())["projects"] == 0


async def test_staff_update_the_summary_within_its_limit(
    api: GraphQLClient, settings: Settings
) -> None:
    team = await quick_crew(api, settings, members=(), admins=("adam",))

    updated = await api(UPDATE, input_of(team, summary="Tools"), token=team["adam"])
    too_long = await api(
        UPDATE, input_of(team, summary="x" * 2_001), token=team["adam"]
    )

    assert updated.data["updateProject"]["project"] == {"summary": "Tools"}
    [error] = too_long.data["updateProject"]["userErrors"]
    assert error == {"field": ["summary"], "code": "BAD_USER_INPUT"}


# Coming in ----------------------------------------------------------------------


async def test_invited_member_joins_by_accepting(
    api: GraphQLClient, settings: Settings
) -> None:
    team = await quick_crew(api, settings, members=(), outsiders=("alice",))
    target = {"memberId": await member_id(api, team, "alice")}
    await ok(api, INVITE, team["olga"], projectId=team.project_id, **target)
    invited = await api(MY_PROJECTS, token=team["alice"])

    joined = await api(JOIN, input_of(team), token=team["alice"])

    assert invited.data["myProjects"]["edges"] == []
    assert joined.data["joinProject"]["project"] == {"viewerRole": "MEMBER"}
    assert roster(await members(api, team, "olga")) == {
        "olga": "OWNER",
        "alice": "MEMBER",
    }


async def test_invitation_lets_a_member_into_a_private_project(
    api: GraphQLClient, settings: Settings
) -> None:
    team = await quick_crew(
        api, settings, members=(), outsiders=("alice",), visibility="PRIVATE"
    )
    asked = await api(JOIN, input_of(team), token=team["alice"])
    target = {"memberId": await member_id(api, team, "alice")}
    await ok(api, INVITE, team["olga"], projectId=team.project_id, **target)

    joined = await api(JOIN, input_of(team), token=team["alice"])

    assert asked.codes == ["NOT_FOUND"]
    assert joined.data["joinProject"]["project"] == {"viewerRole": "MEMBER"}
    projects = (await api(MY_PROJECTS, token=team["alice"])).data["myProjects"]
    assert [edge["node"]["name"] for edge in projects["edges"]] == ["olgas"]


async def test_request_to_join_waits_for_approval(
    api: GraphQLClient, settings: Settings
) -> None:
    team = await quick_crew(api, settings, members=(), outsiders=("bob",))
    asked = await api(
        JOIN, input_of(team, sharing={"fields": [CITY]}), token=team["bob"]
    )
    waiting = await api(JOIN_REQUESTS, {"id": team.project_id}, token=team["olga"])
    target = {"memberId": await member_id(api, team, "bob")}

    await ok(
        api, DECIDE, team["olga"], projectId=team.project_id, **target, approve=True
    )

    assert asked.data["joinProject"] == {
        "project": {"viewerRole": None},
        "userErrors": [],
    }
    assert waiting.data["node"]["joinRequests"]["edges"] == [
        {"node": {"member": {"handle": "bob"}, "sharedFields": [CITY]}}
    ]
    assert roster(await members(api, team, "bob")) == {"olga": "OWNER", "bob": "MEMBER"}


async def test_refused_request_lets_nobody_in(
    api: GraphQLClient, settings: Settings
) -> None:
    team = await quick_crew(api, settings, members=(), outsiders=("bob",))
    await ok(api, JOIN, team["bob"], projectId=team.project_id)
    target = {"memberId": await member_id(api, team, "bob")}

    await ok(
        api, DECIDE, team["olga"], projectId=team.project_id, **target, approve=False
    )

    waiting = await api(JOIN_REQUESTS, {"id": team.project_id}, token=team["olga"])
    assert waiting.data["node"]["joinRequests"]["edges"] == []
    assert roster(await members(api, team, "olga")) == {"olga": "OWNER"}
    assert (await members(api, team, "bob")).codes == ["FORBIDDEN"]


async def test_asking_twice_to_join_is_refused(
    api: GraphQLClient, settings: Settings
) -> None:
    team = await quick_crew(api, settings, members=(), outsiders=("bob",))
    await ok(api, JOIN, team["bob"], projectId=team.project_id)
    before = await row_counts()

    again = await api(JOIN, input_of(team), token=team["bob"])

    [error] = again.data["joinProject"]["userErrors"]
    assert error == {"field": ["projectId"], "code": "BAD_USER_INPUT"}
    assert await row_counts() == before


# Sharing ------------------------------------------------------------------------


async def test_newcomers_sharing_becomes_a_project_grant_with_a_signed_receipt(
    api: GraphQLClient, settings: Settings
) -> None:
    team = await quick_crew(
        api, settings, members=("alice",), sharing={"alice": [CITY]}
    )

    [grant] = await grants_of(api, team["alice"])

    assert (grant["status"], grant["fields"], grant["explicit"]) == (
        "ACTIVE",
        [CITY],
        False,
    )
    assert (grant["purpose"], grant["audience"]["kind"]) == (
        "PROJECT_COLLABORATION",
        "PROJECT",
    )
    project = str(row_id(team.project_id))
    receipt = await receipts.verify(grant["receiptJws"])
    assert receipt == grant["receipt"]
    assert receipt["recipients"] == {"audience": "project", "id": project}
    assert receipt["purpose"]["code"] == "project_collaboration"
    assert [data["field"] for data in receipt["personalData"]] == ["location.city"]


async def test_member_list_shows_shared_fields_and_consent_required_for_others(
    api: GraphQLClient, settings: Settings
) -> None:
    team = await quick_crew(api, settings, sharing={"alice": [CITY]})
    await set_values(
        api, team["alice"], {"location.city": "Lyon", "location.country": "France"}
    )

    result = await members(api, team, "bob")

    assert seen(result, "alice") == {
        "location.city": "Lyon",
        "location.country": "NOT_SHARED",
        "politics.leaning": "NOT_SHARED",
    }
    assert roster(result) == {"olga": "OWNER", "alice": "MEMBER", "bob": "MEMBER"}
    log = (await api(ACCESS_LOG, token=team["alice"])).data["viewer"]["accessLog"]
    assert [edge["node"] for edge in log["edges"]] == [
        {
            "viewerAccount": {"handle": "bob"},
            "purpose": "PROJECT_COLLABORATION",
            "fields": [CITY],
        }
    ]


async def test_new_sharing_withdraws_the_old_grant_on_the_next_read(
    api: GraphQLClient, settings: Settings
) -> None:
    team = await quick_crew(api, settings, sharing={"alice": [CITY, COUNTRY]})
    await set_values(
        api, team["alice"], {"location.city": "Lyon", "location.country": "France"}
    )
    before = seen(await members(api, team, "bob"), "alice")

    await ok(
        api,
        SET_SHARING,
        team["alice"],
        projectId=team.project_id,
        sharing={"fields": [COUNTRY]},
    )

    after = seen(await members(api, team, "bob"), "alice")
    assert (before["location.city"], before["location.country"]) == ("Lyon", "France")
    assert (after["location.city"], after["location.country"]) == (
        "WITHDRAWN",
        "France",
    )
    statuses = [grant["status"] for grant in await grants_of(api, team["alice"])]
    assert statuses == ["ACTIVE", "WITHDRAWN"]


async def test_special_field_is_shared_only_with_explicit_true(
    api: GraphQLClient, settings: Settings
) -> None:
    team = await quick_crew(api, settings, members=(), outsiders=("alice", "bob"))
    for handle in ("alice", "bob"):
        target = {"memberId": await member_id(api, team, handle)}
        await ok(api, INVITE, team["olga"], projectId=team.project_id, **target)
    before = await row_counts()

    implicit = await api(
        JOIN, input_of(team, sharing={"fields": [LEANING]}), token=team["alice"]
    )
    refused_counts = await row_counts()
    explicit = await api(
        JOIN,
        input_of(team, sharing={"fields": [LEANING], "explicit": True}),
        token=team["bob"],
    )

    [error] = implicit.data["joinProject"]["userErrors"]
    assert error == {"field": ["sharing", "explicit"], "code": "BAD_USER_INPUT"}
    assert refused_counts == before
    assert explicit.data["joinProject"]["userErrors"] == []
    [grant] = await grants_of(api, team["bob"])
    assert (grant["fields"], grant["explicit"]) == ([LEANING], True)


async def test_changed_sharing_of_a_special_field_needs_explicit_true(
    api: GraphQLClient, settings: Settings
) -> None:
    team = await quick_crew(api, settings, sharing={"alice": [CITY]})

    result = await api(
        SET_SHARING, input_of(team, sharing={"fields": [LEANING]}), token=team["alice"]
    )

    [error] = result.data["setProjectSharing"]["userErrors"]
    assert error["field"] == ["sharing", "explicit"]
    [grant] = await grants_of(api, team["alice"])
    assert (grant["status"], grant["fields"]) == ("ACTIVE", [CITY])


# Going out ----------------------------------------------------------------------


async def rejoin_without_sharing(api: GraphQLClient, team: Crew, handle: str) -> None:
    target = {"memberId": await member_id(api, team, handle)}
    await ok(api, INVITE, team["olga"], projectId=team.project_id, **target)
    await ok(api, JOIN, team[handle], projectId=team.project_id)


async def test_leaving_withdraws_the_grant(
    api: GraphQLClient, settings: Settings
) -> None:
    team = await quick_crew(api, settings, sharing={"alice": [CITY]})
    await set_values(api, team["alice"], {"location.city": "Lyon"})

    left = await api(LEAVE, input_of(team), token=team["alice"])

    assert left.data["leaveProject"]["project"] == {"viewerRole": None}
    assert "alice" not in roster(await members(api, team, "bob"))
    [grant] = await grants_of(api, team["alice"])
    assert grant["status"] == "WITHDRAWN"
    # Back in later, sharing nothing: the old grant does not come back.
    await rejoin_without_sharing(api, team, "alice")
    assert seen(await members(api, team, "bob"), "alice")["location.city"] == (
        "WITHDRAWN"
    )


async def test_removed_member_loses_the_grant_and_the_member_list(
    api: GraphQLClient, settings: Settings
) -> None:
    team = await quick_crew(api, settings, sharing={"alice": [CITY], "bob": [CITY]})
    await set_values(api, team["alice"], {"location.city": "Lyon"})
    await set_values(api, team["bob"], {"location.city": "Nantes"})
    target = {"memberId": await member_id(api, team, "alice")}
    seen_before = seen(await members(api, team, "alice"), "bob")

    await ok(api, REMOVE, team["olga"], projectId=team.project_id, **target)

    assert seen_before["location.city"] == "Nantes"
    assert (await members(api, team, "alice")).codes == ["FORBIDDEN"]
    assert "alice" not in roster(await members(api, team, "bob"))
    [grant] = await grants_of(api, team["alice"])
    assert grant["status"] == "WITHDRAWN"
    await rejoin_without_sharing(api, team, "alice")
    assert seen(await members(api, team, "bob"), "alice")["location.city"] == (
        "WITHDRAWN"
    )


async def test_owner_cannot_leave(api: GraphQLClient, settings: Settings) -> None:
    team = await quick_crew(api, settings, members=("alice",))

    result = await api(LEAVE, input_of(team), token=team["olga"])

    assert result.codes == ["FORBIDDEN"]
    assert roster(await members(api, team, "alice"))["olga"] == "OWNER"


async def test_admin_cannot_remove_the_owner_or_another_admin(
    api: GraphQLClient, settings: Settings
) -> None:
    team = await quick_crew(api, settings, members=(), admins=("adam", "ada"))
    before = await row_counts()

    owner = await api(
        REMOVE,
        input_of(team, memberId=await member_id(api, team, "olga")),
        token=team["adam"],
    )
    admin = await api(
        REMOVE,
        input_of(team, memberId=await member_id(api, team, "ada")),
        token=team["adam"],
    )

    assert (owner.codes, admin.codes) == (["FORBIDDEN"], ["FORBIDDEN"])
    assert await row_counts() == before


async def test_owner_removes_an_admin(api: GraphQLClient, settings: Settings) -> None:
    team = await quick_crew(api, settings, members=(), admins=("adam",))
    target = {"memberId": await member_id(api, team, "adam")}

    await ok(api, REMOVE, team["olga"], projectId=team.project_id, **target)

    assert roster(await members(api, team, "olga")) == {"olga": "OWNER"}


async def test_only_the_owner_sets_roles(
    api: GraphQLClient, settings: Settings
) -> None:
    team = await quick_crew(api, settings, members=("alice",), admins=("adam",))
    target = {"memberId": await member_id(api, team, "alice")}

    by_admin = await api(
        SET_ROLE, input_of(team, **target, role="ADMIN"), token=team["adam"]
    )
    by_owner = await api(
        SET_ROLE, input_of(team, **target, role="ADMIN"), token=team["olga"]
    )
    second_owner = await api(
        SET_ROLE, input_of(team, **target, role="OWNER"), token=team["olga"]
    )

    assert by_admin.codes == ["FORBIDDEN"]
    assert by_owner.data["setProjectRole"]["userErrors"] == []
    [error] = second_owner.data["setProjectRole"]["userErrors"]
    assert error == {"field": ["role"], "code": "BAD_USER_INPUT"}
    assert roster(await members(api, team, "alice")) == {
        "olga": "OWNER",
        "adam": "ADMIN",
        "alice": "ADMIN",
    }


# Project activity ---------------------------------------------------------------


async def follow(connection: Subscriptions, team: Crew) -> None:
    await connection.send(
        {
            "id": "1",
            "type": "subscribe",
            "payload": {"query": ACTIVITY, "variables": {"id": team.project_id}},
        }
    )


async def refusal(connection: Subscriptions) -> dict[str, Any]:
    """The next message that is not an activity: probes still in flight, and
    events of another test run sharing the Redis, are passed over."""
    while True:
        message = await connection.receive()
        if message["type"] != "next" or message["payload"].get("errors"):
            return message


async def test_removed_member_stops_receiving_project_activity(
    api: GraphQLClient, server: str, settings: Settings
) -> None:
    team = await quick_crew(api, settings)
    target = {"memberId": await member_id(api, team, "alice")}
    async with subscriptions(server, team["alice"]) as connection:
        await follow(connection, team)
        await until_listening(connection, team.project_id)

        await ok(api, REMOVE, team["olga"], projectId=team.project_id, **target)
        refused = await refusal(connection)
        ended = await connection.receive()
        await ok(api, POST, team["bob"], projectId=team.project_id, body="Hello")
        with pytest.raises(TimeoutError):
            await connection.receive(seconds=0.5)

    assert [e["extensions"]["code"] for e in refused["payload"]["errors"]] == [
        "FORBIDDEN"
    ]
    assert ended["type"] == "complete"


async def test_member_who_leaves_stops_receiving_project_activity(
    api: GraphQLClient, server: str, settings: Settings
) -> None:
    team = await quick_crew(api, settings)
    async with subscriptions(server, team["alice"]) as connection:
        await follow(connection, team)
        await until_listening(connection, team.project_id)

        await ok(api, LEAVE, team["alice"], projectId=team.project_id)
        refused = await refusal(connection)

    assert [e["extensions"]["code"] for e in refused["payload"]["errors"]] == [
        "FORBIDDEN"
    ]


@pytest.mark.parametrize(
    ("visibility", "code"), [("PUBLIC", "FORBIDDEN"), ("PRIVATE", "NOT_FOUND")]
)
async def test_outsider_cannot_follow_project_activity(
    api: GraphQLClient, server: str, settings: Settings, visibility: str, code: str
) -> None:
    team = await quick_crew(
        api, settings, members=(), outsiders=("mallory",), visibility=visibility
    )
    async with subscriptions(server, team["mallory"]) as connection:
        await follow(connection, team)

        refused = await connection.receive()

    assert refused["type"] == "next"
    assert refused["payload"]["data"] is None
    assert [e["extensions"]["code"] for e in refused["payload"]["errors"]] == [code]


async def test_member_receives_a_newcomers_arrival(
    api: GraphQLClient, server: str, settings: Settings
) -> None:
    team = await quick_crew(api, settings, members=("alice",), outsiders=("bob",))
    async with subscriptions(server, team["alice"]) as connection:
        await follow(connection, team)
        await until_listening(connection, team.project_id)

        await ok(api, JOIN, team["bob"], projectId=team.project_id)
        target = {"memberId": await member_id(api, team, "bob")}
        await ok(
            api, DECIDE, team["olga"], projectId=team.project_id, **target, approve=True
        )
        activity = await next_activity(connection, "member.joined")

    bob = row_id(target["memberId"])
    assert (activity["kind"], activity["payload"]) == ("member.joined", {"member": bob})
