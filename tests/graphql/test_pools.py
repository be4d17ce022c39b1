"""Money pools over GraphQL: staff open and close, members give, amounts can hide."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from myco_graph.domain.accounts import now
from myco_graph.domain.models import Pool
from tests.helpers import GraphQLClient, count_statements, row_counts, subscriptions
from tests.project_support import Crew, crew, next_activity, ok, row_id, until_listening

POOL_FIELDS = (
    "id title targetCents closed acceptingContributions raisedCents contributors"
)
ENTRY_FIELDS = "amountCents hidden paymentReference contributor { handle }"
LEDGER = f"ledger {{ edges {{ node {{ {ENTRY_FIELDS} }} }} }}"

CREATE_POOL = f"""
mutation Create($input: CreatePoolInput!) {{
  createPool(input: $input) {{
    pool {{ {POOL_FIELDS} }}
    userErrors {{ field message code }}
  }}
}}
"""

CONTRIBUTE = f"""
mutation Give($input: ContributeInput!) {{
  contribute(input: $input) {{
    pool {{ {POOL_FIELDS} }}
    entry {{ {ENTRY_FIELDS} }}
    userErrors {{ field message code }}
  }}
}}
"""

CLOSE_POOL = f"""
mutation Close($input: PoolInput!) {{
  closePool(input: $input) {{
    pool {{ {POOL_FIELDS} }}
    userErrors {{ field message code }}
  }}
}}
"""

POOL = f"""
query Pool($id: ID!) {{
  node(id: $id) {{
    ... on Pool {{ {POOL_FIELDS} {LEDGER} }}
  }}
}}
"""

POOL_TOTALS = (
    f"query Pool($id: ID!) {{ node(id: $id) {{ ... on Pool {{ {POOL_FIELDS} }} }} }}"
)

PROJECT_POOLS = f"""
query Pools($id: ID!) {{
  node(id: $id) {{
    ... on Project {{ pools {{ edges {{ node {{ {POOL_FIELDS} }} }} }} }}
  }}
}}
"""

MAX = 1_000_000


def pool_input(project_id: str, **changes: Any) -> dict[str, Any]:
    return {
        "projectId": project_id,
        "title": "New roof",
        "targetCents": 500_000,
        "deadline": (now() + timedelta(days=30)).isoformat(),
    } | changes


async def create_pool(api: GraphQLClient, team: Crew) -> dict[str, Any]:
    """A pool opened by the crew's owner, olga."""
    payload = await ok(api, CREATE_POOL, team["olga"], **pool_input(team.project_id))
    return payload["pool"]  # type: ignore[no-any-return]


async def give(
    api: GraphQLClient,
    token: str | None,
    pool_id: str,
    cents: int = 2_500,
    reference: str = "pi_1",
    hidden: bool = False,
) -> Any:
    given = {
        "poolId": pool_id,
        "amountCents": cents,
        "paymentReference": reference,
        "hidden": hidden,
    }
    return await api(CONTRIBUTE, {"input": given}, token=token)


async def ledger(api: GraphQLClient, token: str, pool_id: str) -> list[dict[str, Any]]:
    result = await api(POOL, {"id": pool_id}, token=token)
    return [edge["node"] for edge in result.data["node"]["ledger"]["edges"]]


async def test_staff_open_a_pool_and_members_give(api: GraphQLClient) -> None:
    team = await crew(api)
    pool = await create_pool(api, team)

    await give(api, team["alice"], pool["id"], 1_000, "pi_1")
    result = await give(api, team["bob"], pool["id"], 4_000, "pi_2")

    payload = result.data["contribute"]
    assert payload["userErrors"] == []
    assert payload["entry"] == {
        "amountCents": 4_000,
        "hidden": False,
        "paymentReference": "pi_2",
        "contributor": {"handle": "bob"},
    }
    assert payload["pool"] | {"id": None} == {
        "id": None,
        "title": "New roof",
        "targetCents": 500_000,
        "closed": False,
        "acceptingContributions": True,
        "raisedCents": 5_000,
        "contributors": 2,
    }


async def test_ledger_lists_gifts_newest_first(api: GraphQLClient) -> None:
    team = await crew(api)
    pool = await create_pool(api, team)
    await give(api, team["alice"], pool["id"], 1_000, "pi_1")
    await give(api, team["bob"], pool["id"], 2_000, "pi_2")

    entries = await ledger(api, team["alice"], pool["id"])

    assert [(e["contributor"]["handle"], e["amountCents"]) for e in entries] == [
        ("bob", 2_000),
        ("alice", 1_000),
    ]


async def test_hidden_amount_shows_only_to_the_contributor_and_staff(
    api: GraphQLClient,
) -> None:
    team = await crew(api, admins=("adam",))
    pool = await create_pool(api, team)
    await give(api, team["alice"], pool["id"], 7_000, "pi_secret", hidden=True)

    seen = {
        handle: (await ledger(api, team[handle], pool["id"]))[0]
        for handle in ("alice", "bob", "olga", "adam")
    }

    for handle in ("alice", "olga", "adam"):
        assert seen[handle]["amountCents"] == 7_000
        assert seen[handle]["paymentReference"] == "pi_secret"
    assert seen["bob"] == {
        "amountCents": None,
        "hidden": True,
        "paymentReference": None,
        "contributor": {"handle": "alice"},
    }


async def test_raised_total_includes_hidden_amounts_for_everyone(
    api: GraphQLClient,
) -> None:
    team = await crew(api)
    pool = await create_pool(api, team)
    await give(api, team["alice"], pool["id"], 7_000, "pi_1", hidden=True)
    await give(api, team["bob"], pool["id"], 500, "pi_2")

    result = await api(POOL_TOTALS, {"id": pool["id"]})

    node = result.data["node"]
    assert (node["raisedCents"], node["contributors"]) == (7_500, 2)


async def test_other_members_see_who_gave_but_not_the_reference(
    api: GraphQLClient,
) -> None:
    team = await crew(api)
    pool = await create_pool(api, team)
    await give(api, team["alice"], pool["id"], 1_000, "pi_alice")

    [entry] = await ledger(api, team["bob"], pool["id"])

    assert entry == {
        "amountCents": 1_000,
        "hidden": False,
        "paymentReference": None,
        "contributor": {"handle": "alice"},
    }


async def test_outsiders_see_the_total_but_not_the_ledger(api: GraphQLClient) -> None:
    team = await crew(api, outsiders=("mallory",))
    pool = await create_pool(api, team)
    await give(api, team["alice"], pool["id"], 1_000)

    totals = await api(POOL_TOTALS, {"id": pool["id"]}, token=team["mallory"])
    lines = await api(POOL, {"id": pool["id"]}, token=team["mallory"])

    assert totals.data["node"]["raisedCents"] == 1_000
    assert lines.codes == ["FORBIDDEN"]


@pytest.mark.parametrize("cents", [0, -100, MAX + 1])
async def test_amount_out_of_bounds_is_refused(api: GraphQLClient, cents: int) -> None:
    team = await crew(api)
    pool = await create_pool(api, team)
    before = await row_counts()

    result = await give(api, team["alice"], pool["id"], cents)

    [error] = result.data["contribute"]["userErrors"]
    assert (error["code"], error["field"]) == ("BAD_USER_INPUT", ["amountCents"])
    assert await row_counts() == before


async def test_largest_allowed_amount_is_taken(api: GraphQLClient) -> None:
    team = await crew(api)
    pool = await create_pool(api, team)

    result = await give(api, team["alice"], pool["id"], MAX)

    assert result.data["contribute"]["pool"]["raisedCents"] == MAX


async def test_gift_to_a_closed_pool_is_refused(api: GraphQLClient) -> None:
    team = await crew(api)
    pool = await create_pool(api, team)
    await ok(api, CLOSE_POOL, team["olga"], poolId=pool["id"])
    before = await row_counts()

    result = await give(api, team["alice"], pool["id"])

    [error] = result.data["contribute"]["userErrors"]
    assert (error["code"], error["field"]) == ("BAD_USER_INPUT", ["poolId"])
    assert await row_counts() == before


async def test_gift_after_the_deadline_is_refused(api: GraphQLClient) -> None:
    team = await crew(api)
    pool = await create_pool(api, team)
    await Pool.filter(id=row_id(pool["id"])).update(deadline=now())
    before = await row_counts()

    result = await give(api, team["alice"], pool["id"])

    assert result.data["contribute"]["userErrors"][0]["code"] == "BAD_USER_INPUT"
    assert await row_counts() == before


async def test_project_admin_closes_a_pool(api: GraphQLClient) -> None:
    team = await crew(api, admins=("adam",))
    pool = await create_pool(api, team)

    closed = await ok(api, CLOSE_POOL, team["adam"], poolId=pool["id"])

    assert closed["pool"]["closed"] is True
    assert closed["pool"]["acceptingContributions"] is False


async def test_members_cannot_open_or_close_a_pool(api: GraphQLClient) -> None:
    team = await crew(api)
    pool = await create_pool(api, team)
    before = await row_counts()

    opened = await api(
        CREATE_POOL, {"input": pool_input(team.project_id)}, token=team["alice"]
    )
    closed = await api(CLOSE_POOL, {"input": {"poolId": pool["id"]}}, token=team["bob"])

    assert (opened.codes, closed.codes) == (["FORBIDDEN"], ["FORBIDDEN"])
    assert await row_counts() == before


async def test_bad_pool_is_refused_naming_its_field(api: GraphQLClient) -> None:
    team = await crew(api)
    before = await row_counts()

    result = await api(
        CREATE_POOL,
        {"input": pool_input(team.project_id, targetCents=0)},
        token=team["olga"],
    )

    [error] = result.data["createPool"]["userErrors"]
    assert (error["code"], error["field"]) == ("BAD_USER_INPUT", ["targetCents"])
    assert await row_counts() == before


async def test_anonymous_gift_is_forbidden(api: GraphQLClient) -> None:
    team = await crew(api)
    pool = await create_pool(api, team)
    before = await row_counts()

    result = await give(api, None, pool["id"])

    assert result.codes == ["FORBIDDEN"]
    assert await row_counts() == before


async def test_private_projects_pools_do_not_exist_for_outsiders(
    api: GraphQLClient,
) -> None:
    team = await crew(api, visibility="PRIVATE", outsiders=("mallory",))
    pool = await create_pool(api, team)
    before = await row_counts()

    given = await give(api, team["mallory"], pool["id"])
    closed = await api(
        CLOSE_POOL, {"input": {"poolId": pool["id"]}}, token=team["mallory"]
    )
    read = await api(POOL_TOTALS, {"id": pool["id"]}, token=team["mallory"])

    assert (given.codes, closed.codes) == (["NOT_FOUND"], ["NOT_FOUND"])
    assert read.data["node"] is None
    assert await row_counts() == before


async def pools_statements(api: GraphQLClient, token: str, project_id: str) -> int:
    with count_statements() as counter:
        result = await api(PROJECT_POOLS, {"id": project_id}, token=token)
    assert all(
        edge["node"]["raisedCents"] == 1_000
        for edge in result.data["node"]["pools"]["edges"]
    )
    return counter.count


async def funded_project(
    api: GraphQLClient, owner: str, member: str, pools: int
) -> Crew:
    team = await crew(api, owner=owner, members=(member,))
    for n in range(pools):
        pool = await ok(api, CREATE_POOL, team[owner], **pool_input(team.project_id))
        await give(api, team[member], pool["pool"]["id"], 1_000, f"pi_{n}")
    return team


async def test_a_page_of_pools_costs_what_one_pool_costs(api: GraphQLClient) -> None:
    small = await funded_project(api, "olga", "alice", pools=1)
    large = await funded_project(api, "oscar", "anna", pools=15)

    one = await pools_statements(api, small["alice"], small.project_id)
    fifteen = await pools_statements(api, large["anna"], large.project_id)

    assert one == fifteen


ACTIVITY = f"""
subscription Activity($id: ID!) {{
  projectActivity(projectId: $id) {{
    kind payload pool {{ {POOL_FIELDS} {LEDGER} }}
  }}
}}
"""


async def test_project_activity_announces_a_gift_with_its_pool(
    api: GraphQLClient, server: str
) -> None:
    team = await crew(api)
    pool = await create_pool(api, team)
    async with subscriptions(server, team["bob"]) as connection:
        await connection.send(
            {
                "id": "1",
                "type": "subscribe",
                "payload": {"query": ACTIVITY, "variables": {"id": team.project_id}},
            }
        )
        await until_listening(connection, team.project_id)

        await give(api, team["alice"], pool["id"], 3_000, "pi_9", hidden=True)
        activity = await next_activity(connection, "pool.contributed")

    assert (activity["kind"], activity["payload"]) == (
        "pool.contributed",
        {"pool": row_id(pool["id"])},
    )
    seen = activity["pool"]
    assert (seen["id"], seen["raisedCents"]) == (pool["id"], 3_000)
    [entry] = [edge["node"] for edge in seen["ledger"]["edges"]]
    assert (entry["amountCents"], entry["contributor"]) == (None, {"handle": "alice"})
