"""Per-request cost stays flat: the statement count does not grow with data."""

from __future__ import annotations

from myco_graph.domain.models import Account
from tests.helpers import GraphQLClient, count_statements

VIEWER = """
{
  viewer {
    handle
    ... on Member {
      shares { shares votes entries(first: 10) { edges { node { shares } } } }
    }
  }
}
"""


async def viewer_statements(api: GraphQLClient, token: str) -> int:
    with count_statements() as counter:
        result = await api(VIEWER, token=token)
    assert result.errors == []
    return counter.count


async def test_count_statements_sees_each_statement_the_orm_sends(
    api: GraphQLClient,
) -> None:
    await api.sign_up("alice")

    with count_statements() as counter:
        await Account.all().count()
        await Account.filter(handle="alice").first()

    assert counter.count == 2
    assert "accounts" in counter.statements[0]


async def test_count_statements_counts_the_servers_statements(
    api: GraphQLClient,
) -> None:
    token = await api.sign_up("alice")

    with count_statements() as counter:
        await api(VIEWER, token=token)

    assert counter.count > 0


async def test_viewer_costs_the_same_whatever_the_number_of_entries(
    api: GraphQLClient,
) -> None:
    alice = await api.sign_up("alice")
    await api.subscribe_shares(alice, 1)
    bob = await api.sign_up("bob")
    for _ in range(12):
        await api.subscribe_shares(bob, 1)

    few = await viewer_statements(api, alice)
    many = await viewer_statements(api, bob)

    assert few == many
    assert many <= 4
