"""Members of one instance in projects of another, across real processes.

Everything goes through each instance's GraphQL API; deliveries between
instances are awaited with a bounded poll, never a fixed sleep.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from tests.e2e.harness import Cluster, eventually
from tests.e2e.support import (
    CREATE_POLL,
    DELETE_MESSAGE,
    DELETE_REMOTE,
    EDIT_MESSAGE,
    EDIT_REMOTE,
    POST_MESSAGE,
    POST_REMOTE,
    PROJECT_MESSAGES,
    REMOTE_MEMBERS,
    REMOTE_POLL,
    REMOTE_PROJECT,
    SET_VALUES,
    VOTE_REMOTE,
    bodies,
    joined,
    member,
    messages_on_a,
    messages_on_b,
    public_project,
    row_id,
)


async def test_member_of_b_finds_joins_and_posts_in_a_project_of_a(
    instances: Cluster,
) -> None:
    a, b = instances.instances[0], instances.instances[1]
    owner, reader = await member(a, "ada"), await member(b, "bob")
    name, project_id = await public_project(owner)
    address = f"{name}@{a.domain}"

    found = await reader.data(REMOTE_PROJECT, address=f"@{address}")
    remote_id = await joined(reader, address)
    posted = await reader.data(POST_REMOTE, id=remote_id, body="Hello from B <3")
    await owner.data(POST_MESSAGE, id=project_id, body="Welcome, says A")

    assert found["remoteProject"]["url"] == f"{a.url}/groups/{name}"
    assert found["remoteProject"]["summary"] == "Growing oyster mushrooms"
    assert posted["postToRemoteProject"]["note"]["text"] == "Hello from B <3"
    on_a = await eventually(
        lambda: messages_on_a(owner, name),
        lambda nodes: "Hello from B <3" in bodies(nodes, "body"),
        what="B's post on A",
    )
    assert [n["author"] for n in on_a if n["body"] == "Hello from B <3"] == [None]
    on_b = await eventually(
        lambda: messages_on_b(reader, address),
        lambda nodes: "Welcome, says A" in bodies(nodes, "text"),
        what="A's post on B",
    )
    assert bodies(on_b, "text").count("Hello from B <3") == 1


async def test_a_ballot_cast_from_b_counts_on_a(instances: Cluster) -> None:
    a, b = instances.instances[0], instances.instances[1]
    owner, voter = await member(a, "ada"), await member(b, "bob")
    name, project_id = await public_project(owner)
    address = f"{name}@{a.domain}"
    await joined(voter, address)
    closes_at = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    poll = await owner.data(CREATE_POLL, id=project_id, closesAt=closes_at)
    question_url = f"{a.url}/questions/{row_id(poll['createPoll']['poll']['id'])}"

    voted = await voter.data(VOTE_REMOTE, url=question_url, choices=["coffee grounds"])

    assert voted["voteInRemotePoll"]["userErrors"] == []

    async def counts() -> list[int]:
        data = await owner.data(PROJECT_MESSAGES, name=name)
        options = data["project"]["polls"]["edges"][0]["node"]["options"]
        return [option["votes"] for option in options]

    assert await eventually(counts, lambda c: c == [0, 1], what="the ballot") == [0, 1]
    seen = await eventually(
        lambda: voter.data(REMOTE_POLL, address=address, url=question_url),
        lambda d: d["remoteProject"]["poll"]["options"][1]["votes"] == 1,
        what="the count on B",
    )
    assert seen["remoteProject"]["poll"]["options"][0] == {"name": "straw", "votes": 0}


async def test_edits_and_deletes_travel_both_ways(instances: Cluster) -> None:
    a, b = instances.instances[0], instances.instances[1]
    owner, reader = await member(a, "ada"), await member(b, "bob")
    name, project_id = await public_project(owner)
    address = f"{name}@{a.domain}"
    remote_id = await joined(reader, address)
    from_a = await owner.data(POST_MESSAGE, id=project_id, body="first draft on A")
    a_message = from_a["postMessage"]["message"]["id"]
    from_b = await reader.data(POST_REMOTE, id=remote_id, body="first draft on B")
    b_note = from_b["postToRemoteProject"]["note"]["id"]
    await eventually(
        lambda: messages_on_b(reader, address),
        lambda nodes: "first draft on A" in bodies(nodes, "text"),
        what="A's post on B",
    )
    await eventually(
        lambda: messages_on_a(owner, name),
        lambda nodes: "first draft on B" in bodies(nodes, "body"),
        what="B's post on A",
    )

    await owner.data(EDIT_MESSAGE, id=a_message, body="second draft on A")
    await reader.data(EDIT_REMOTE, id=b_note, body="second draft on B")

    on_b = await eventually(
        lambda: messages_on_b(reader, address),
        lambda nodes: "second draft on A" in bodies(nodes, "text"),
        what="A's edit on B",
    )
    on_a = await eventually(
        lambda: messages_on_a(owner, name),
        lambda nodes: "second draft on B" in bodies(nodes, "body"),
        what="B's edit on A",
    )
    assert "first draft on A" not in bodies(on_b, "text")
    assert "first draft on B" not in bodies(on_a, "body")

    await owner.data(DELETE_MESSAGE, id=a_message)
    await reader.data(DELETE_REMOTE, id=b_note)

    on_b = await eventually(
        lambda: messages_on_b(reader, address),
        lambda nodes: "second draft on A" not in bodies(nodes, "text"),
        what="A's delete on B",
    )
    on_a = await eventually(
        lambda: messages_on_a(owner, name),
        lambda nodes: "second draft on B" not in bodies(nodes, "body"),
        what="B's delete on A",
    )
    assert "second draft on B" not in bodies(on_b, "text")
    assert "second draft on A" not in bodies(on_a, "body")


async def test_an_unshared_field_never_reaches_b(instances: Cluster) -> None:
    a, b, c = instances.instances
    owner, reader = await member(a, "ada"), await member(b, "bob")
    outsider = await member(c, "cy")
    unshared = f"Unshared{secrets.token_hex(6)}"
    shared = f"Sharedcity{secrets.token_hex(6)}"
    set_values = await owner.data(SET_VALUES, first=unshared, city=shared)
    assert set_values["setProfileValues"]["userErrors"] == []
    name, _ = await public_project(owner, fields=("LOCATION_CITY",))
    address = f"{name}@{a.domain}"
    await joined(reader, address)

    listed = await reader.data(REMOTE_MEMBERS, address=address)
    refused = await outsider(REMOTE_MEMBERS, address=address)

    members = {m["handle"]: m for m in listed["remoteProject"]["members"]}
    values = [field["value"] for field in members[owner.handle]["fields"]]
    assert values == [shared]
    assert refused.codes == ["FORBIDDEN"]
    stored = await b.database_text()
    assert unshared not in stored
    assert shared not in stored
