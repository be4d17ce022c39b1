"""Request limits, checked before anything runs (test settings: page size 50)."""

from __future__ import annotations

from myco_graph.domain.models import ShareEntry
from tests.helpers import GRAPHQL_RESPONSE, GraphQLClient

SUBSCRIBE_WITH_PAGE = """
mutation($first: Int!) {
  subscribeShares(input: {shares: 1}) {
    holding { entries(first: $first) { edges { cursor } } }
  }
}
"""


def nested_entries(levels: int) -> str:
    """Goes ``levels`` times round entry → member → shares: five levels each."""
    selection = "shares"
    for _ in range(levels):
        selection = (
            "member { ... on Member { shares { entries { edges { node { "
            f"{selection} }} }} }} }} }} }}"
        )
    return selection


async def test_page_size_over_the_limit_as_a_literal_runs_nothing(
    api: GraphQLClient,
) -> None:
    token = await api.sign_up("alice")
    query = SUBSCRIBE_WITH_PAGE.replace("($first: Int!)", "").replace("$first", "51")

    result = await api(query, token=token)

    assert result.codes == ["BAD_USER_INPUT"]
    assert "at most 50" in result.errors[0]["message"]
    assert await ShareEntry.all().count() == 0


async def test_page_size_over_the_limit_as_a_variable_runs_nothing(
    api: GraphQLClient,
) -> None:
    token = await api.sign_up("alice")

    result = await api(SUBSCRIBE_WITH_PAGE, {"first": 51}, token=token)

    assert result.codes == ["BAD_USER_INPUT"]
    assert await ShareEntry.all().count() == 0


async def test_page_size_at_the_limit_is_allowed(api: GraphQLClient) -> None:
    token = await api.sign_up("alice")

    result = await api(SUBSCRIBE_WITH_PAGE, {"first": 50}, token=token)

    assert result.data["subscribeShares"]["holding"]["entries"]["edges"] != []


async def test_page_size_refusal_is_a_request_error(api: GraphQLClient) -> None:
    token = await api.sign_up("alice")

    result = await api(
        SUBSCRIBE_WITH_PAGE, {"first": 51}, token=token, accept=GRAPHQL_RESPONSE
    )

    assert result.status == 400
    assert "data" not in result.body


async def test_negative_page_size_is_bad_user_input(api: GraphQLClient) -> None:
    token = await api.sign_up("alice")

    entries = "entries(first: -1) { edges { cursor } }"

    result = await api(
        f"{{ viewer {{ ... on Member {{ shares {{ {entries} }} }} }} }}", token=token
    )

    assert result.codes == ["BAD_USER_INPUT"]


async def test_too_deep_a_query_runs_nothing(api: GraphQLClient) -> None:
    token = await api.sign_up("alice")
    query = (
        "mutation { subscribeShares(input: {shares: 1}) { entry { "
        f"{nested_entries(3)} }} }} }}"
    )

    result = await api(query, token=token, accept=GRAPHQL_RESPONSE)

    assert result.status == 400
    assert result.codes == ["BAD_USER_INPUT"]
    assert "exceeds maximum operation depth" in result.errors[0]["message"]
    assert await ShareEntry.all().count() == 0


async def test_a_query_at_the_maximum_depth_runs(api: GraphQLClient) -> None:
    token = await api.sign_up("alice")
    query = (
        "mutation { subscribeShares(input: {shares: 1}) { entry { "
        f"{nested_entries(2)} }} }} }}"
    )

    result = await api(query, token=token)

    assert result.errors == []


async def test_too_many_tokens_run_nothing(api: GraphQLClient) -> None:
    token = await api.sign_up("alice")
    padding = " __typename" * 2_000
    query = "mutation { subscribeShares(input: {shares: 1}) { entry { id } }" + padding
    query += " }"

    result = await api(query, token=token, accept=GRAPHQL_RESPONSE)

    assert result.status == 400
    assert result.codes == ["BAD_USER_INPUT"]
    assert await ShareEntry.all().count() == 0


async def test_too_many_aliases_run_nothing(api: GraphQLClient) -> None:
    token = await api.sign_up("alice")
    aliases = " ".join(
        f"s{n}: subscribeShares(input: {{shares: 1}}) {{ entry {{ id }} }}"
        for n in range(31)
    )

    result = await api(f"mutation {{ {aliases} }}", token=token)

    assert result.codes == ["BAD_USER_INPUT"]
    assert "aliases" in result.errors[0]["message"]
    assert await ShareEntry.all().count() == 0
