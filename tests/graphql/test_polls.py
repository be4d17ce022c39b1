"""Polls over GraphQL: one ballot per member, counts for readers, nobody's choices."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from myco_graph.domain.accounts import now
from myco_graph.domain.models import Poll
from tests.helpers import GraphQLClient, count_statements, row_counts, subscriptions
from tests.project_support import (
    Crew,
    crew,
    next_activity,
    ok,
    row_id,
    until_listening,
    viewer_id,
)

POLL_FIELDS = "id question closed voters viewerChoices options { index label votes }"

CREATE_POLL = f"""
mutation Create($input: CreatePollInput!) {{
  createPoll(input: $input) {{
    poll {{ {POLL_FIELDS} }}
    userErrors {{ field message code }}
  }}
}}
"""

VOTE = f"""
mutation Vote($input: VoteInput!) {{
  vote(input: $input) {{
    poll {{ {POLL_FIELDS} }}
    userErrors {{ field message code }}
  }}
}}
"""

PROJECT_POLLS = f"""
query Polls($id: ID!, $open: Boolean, $first: Int! = 20) {{
  node(id: $id) {{
    ... on Project {{
      polls(first: $first, open: $open) {{
        edges {{ node {{ {POLL_FIELDS} author {{ handle }} }} }}
      }}
    }}
  }}
}}
"""

POLL = f"query Poll($id: ID!) {{ node(id: $id) {{ ... on Poll {{ {POLL_FIELDS} }} }} }}"


def in_a_week() -> str:
    return (now() + timedelta(days=7)).isoformat()


async def create_poll(
    api: GraphQLClient,
    token: str,
    project_id: str,
    options: tuple[str, ...] = ("Lyon", "Paris", "Nantes"),
    multiple: bool = False,
) -> dict[str, Any]:
    payload = await ok(
        api,
        CREATE_POLL,
        token,
        projectId=project_id,
        question="Where do we meet?",
        options=list(options),
        closesAt=in_a_week(),
        multiple=multiple,
    )
    return payload["poll"]  # type: ignore[no-any-return]


async def vote(
    api: GraphQLClient, token: str | None, poll_id: str, choices: list[int]
) -> Any:
    return await api(
        VOTE, {"input": {"pollId": poll_id, "choices": choices}}, token=token
    )


def counts(poll: dict[str, Any]) -> list[int]:
    return [option["votes"] for option in poll["options"]]


async def polls_of(
    api: GraphQLClient, token: str | None, project_id: str, **variables: Any
) -> list[dict[str, Any]]:
    result = await api(PROJECT_POLLS, {"id": project_id, **variables}, token=token)
    return [edge["node"] for edge in result.data["node"]["polls"]["edges"]]


async def test_member_creates_a_poll_that_starts_empty(api: GraphQLClient) -> None:
    team = await crew(api)

    poll = await create_poll(api, team["alice"], team.project_id)

    assert poll["question"] == "Where do we meet?"
    assert poll["options"] == [
        {"index": 0, "label": "Lyon", "votes": 0},
        {"index": 1, "label": "Paris", "votes": 0},
        {"index": 2, "label": "Nantes", "votes": 0},
    ]
    assert (poll["voters"], poll["closed"], poll["viewerChoices"]) == (0, False, [])


async def test_counts_follow_a_changed_ballot(api: GraphQLClient) -> None:
    team = await crew(api)
    poll = await create_poll(api, team["olga"], team.project_id)
    await vote(api, team["alice"], poll["id"], [0])
    await vote(api, team["bob"], poll["id"], [0])

    changed = await vote(api, team["alice"], poll["id"], [2])

    seen = changed.data["vote"]["poll"]
    assert (counts(seen), seen["voters"], seen["viewerChoices"]) == ([1, 0, 1], 2, [2])


async def test_member_never_sees_another_members_choices(api: GraphQLClient) -> None:
    team = await crew(api)
    alice_id = await viewer_id(api, team["alice"])
    poll = await create_poll(api, team["olga"], team.project_id)
    await vote(api, team["alice"], poll["id"], [1])
    await vote(api, team["bob"], poll["id"], [0])

    result = await api(PROJECT_POLLS, {"id": team.project_id}, token=team["bob"])
    vote_type = await api('{ __type(name: "Vote") { name } }', token=team["bob"])

    [seen] = [edge["node"] for edge in result.data["node"]["polls"]["edges"]]
    assert (counts(seen), seen["viewerChoices"]) == ([1, 1, 0], [0])
    text = json.dumps(result.body)
    assert alice_id not in text
    assert "alice" not in text.lower()
    assert vote_type.data["__type"] is None


async def test_anyone_reads_counts_of_a_public_projects_poll(
    api: GraphQLClient,
) -> None:
    team = await crew(api)
    poll = await create_poll(api, team["olga"], team.project_id)
    await vote(api, team["alice"], poll["id"], [1])

    [seen] = await polls_of(api, None, team.project_id)

    assert (counts(seen), seen["voters"], seen["viewerChoices"]) == ([0, 1, 0], 1, [])


async def test_multiple_choice_ballot_counts_each_option(api: GraphQLClient) -> None:
    team = await crew(api)
    poll = await create_poll(api, team["olga"], team.project_id, multiple=True)
    await vote(api, team["alice"], poll["id"], [0, 2])

    result = await vote(api, team["bob"], poll["id"], [2])

    seen = result.data["vote"]["poll"]
    assert (counts(seen), seen["voters"]) == ([1, 0, 2], 2)


async def test_open_filter_separates_open_and_closed_polls(api: GraphQLClient) -> None:
    team = await crew(api)
    ended = await create_poll(api, team["olga"], team.project_id)
    running = await create_poll(api, team["olga"], team.project_id)
    await Poll.filter(id=row_id(ended["id"])).update(closes_at=now())

    open_ = await polls_of(api, team["alice"], team.project_id, open=True)
    closed = await polls_of(api, team["alice"], team.project_id, open=False)
    both = await polls_of(api, team["alice"], team.project_id)

    assert [poll["id"] for poll in open_] == [running["id"]]
    assert [(poll["id"], poll["closed"]) for poll in closed] == [(ended["id"], True)]
    assert [poll["id"] for poll in both] == [running["id"], ended["id"]]


async def test_ballot_after_closing_is_refused(api: GraphQLClient) -> None:
    team = await crew(api)
    poll = await create_poll(api, team["olga"], team.project_id)
    await vote(api, team["alice"], poll["id"], [0])
    await Poll.filter(id=row_id(poll["id"])).update(closes_at=now())
    before = await row_counts()

    result = await vote(api, team["alice"], poll["id"], [1])

    [error] = result.data["vote"]["userErrors"]
    assert (error["code"], error["field"]) == ("BAD_USER_INPUT", ["pollId"])
    assert await row_counts() == before


@pytest.mark.parametrize("choices", [[0, 1], [3], [-1], []])
async def test_bad_ballot_is_refused_and_the_previous_one_stays(
    api: GraphQLClient, choices: list[int]
) -> None:
    team = await crew(api)
    poll = await create_poll(api, team["olga"], team.project_id)
    await vote(api, team["alice"], poll["id"], [0])
    before = await row_counts()

    result = await vote(api, team["alice"], poll["id"], choices)

    [error] = result.data["vote"]["userErrors"]
    assert (error["code"], error["field"]) == ("BAD_USER_INPUT", ["choices"])
    assert await row_counts() == before
    [seen] = await polls_of(api, team["alice"], team.project_id)
    assert seen["viewerChoices"] == [0]


async def test_bad_poll_is_refused_naming_its_field(api: GraphQLClient) -> None:
    team = await crew(api)
    before = await row_counts()

    result = await api(
        CREATE_POLL,
        {
            "input": {
                "projectId": team.project_id,
                "question": "Where?",
                "options": ["Lyon", "LYON"],
                "closesAt": in_a_week(),
            }
        },
        token=team["alice"],
    )

    payload = result.data["createPoll"]
    assert payload["poll"] is None
    assert [e["field"] for e in payload["userErrors"]] == [["options"]]
    assert await row_counts() == before


async def test_anonymous_ballot_is_forbidden(api: GraphQLClient) -> None:
    team = await crew(api)
    poll = await create_poll(api, team["olga"], team.project_id)
    before = await row_counts()

    result = await vote(api, None, poll["id"], [0])

    assert result.codes == ["FORBIDDEN"]
    assert await row_counts() == before


async def test_outsider_cannot_vote_in_a_public_project(api: GraphQLClient) -> None:
    team = await crew(api, outsiders=("mallory",))
    poll = await create_poll(api, team["olga"], team.project_id)

    result = await vote(api, team["mallory"], poll["id"], [0])

    assert result.codes == ["FORBIDDEN"]


async def test_private_projects_polls_do_not_exist_for_outsiders(
    api: GraphQLClient,
) -> None:
    team = await crew(api, visibility="PRIVATE", outsiders=("mallory",))
    poll = await create_poll(api, team["olga"], team.project_id)
    before = await row_counts()

    voted = await vote(api, team["mallory"], poll["id"], [0])
    created = await api(
        CREATE_POLL,
        {
            "input": {
                "projectId": team.project_id,
                "question": "Hello?",
                "options": ["yes", "no"],
                "closesAt": in_a_week(),
            }
        },
        token=team["mallory"],
    )
    read = await api(POLL, {"id": poll["id"]}, token=team["mallory"])

    assert voted.codes == ["NOT_FOUND"]
    assert created.codes == ["NOT_FOUND"]
    assert read.data["node"] is None
    assert await row_counts() == before


async def page_statements(api: GraphQLClient, token: str, project_id: str) -> int:
    with count_statements() as counter:
        polls = await polls_of(api, token, project_id)
    assert all(poll["voters"] == 2 for poll in polls)
    return counter.count


async def busy_project(
    api: GraphQLClient, owner: str, voters: tuple[str, str], polls: int
) -> Crew:
    team = await crew(api, owner=owner, members=voters)
    for _ in range(polls):
        poll = await create_poll(api, team[owner], team.project_id)
        for choice, voter in enumerate(voters):
            await vote(api, team[voter], poll["id"], [choice])
    return team


async def test_a_page_of_polls_costs_what_one_poll_costs(api: GraphQLClient) -> None:
    small = await busy_project(api, "olga", ("alice", "bob"), polls=1)
    large = await busy_project(api, "oscar", ("anna", "ben"), polls=20)

    one = await page_statements(api, small["alice"], small.project_id)
    twenty = await page_statements(api, large["anna"], large.project_id)

    assert one == twenty


ACTIVITY = f"""
subscription Activity($id: ID!) {{
  projectActivity(projectId: $id) {{ kind payload poll {{ {POLL_FIELDS} }} }}
}}
"""


async def test_project_activity_announces_a_ballot_with_its_poll(
    api: GraphQLClient, server: str
) -> None:
    team = await crew(api)
    poll = await create_poll(api, team["olga"], team.project_id)
    async with subscriptions(server, team["bob"]) as connection:
        await connection.send(
            {
                "id": "1",
                "type": "subscribe",
                "payload": {"query": ACTIVITY, "variables": {"id": team.project_id}},
            }
        )
        await until_listening(connection, team.project_id)

        await vote(api, team["alice"], poll["id"], [2])
        activity = await next_activity(connection, "poll.voted")

    assert activity["kind"] == "poll.voted"
    assert activity["payload"] == {"poll": row_id(poll["id"])}
    seen = activity["poll"]
    assert (seen["id"], counts(seen), seen["viewerChoices"]) == (
        poll["id"],
        [0, 0, 1],
        [],
    )
