from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import PASSWORD, GraphQLClient, create_admin, row_counts

HOLDING = "{ viewer { ... on Member { shares { shares amountCents votes } } } }"

ENTRIES = """
query Entries($first: Int!, $after: String) {
  viewer {
    ... on Member {
      shares {
        entries(first: $first, after: $after) {
          edges { cursor node { shares } }
          pageInfo { hasNextPage hasPreviousPage endCursor }
        }
      }
    }
  }
}
"""

REGISTER = """
{
  shareRegister(first: 10) { edges { node { shares member { handle } } } }
  shareRegisterTotals { shares amountCents members votes }
}
"""


def entries_of(result_data: dict[str, Any]) -> Any:
    return result_data["viewer"]["shares"]["entries"]


async def test_member_subscribes_shares_at_ten_euros_each(api: GraphQLClient) -> None:
    token = await api.sign_up("alice")

    payload = await api.subscribe_shares(token, 3)

    assert payload["userErrors"] == []
    assert payload["entry"]["shares"] == 3
    assert payload["entry"]["amountCents"] == 3_000
    assert payload["holding"] == {"shares": 3, "amountCents": 3_000, "votes": 1}


async def test_a_member_has_one_vote_however_many_shares(api: GraphQLClient) -> None:
    token = await api.sign_up("alice")
    await api.subscribe_shares(token, 120)
    await api.subscribe_shares(token, 80)

    result = await api(HOLDING, token=token)

    assert result.data["viewer"]["shares"] == {
        "shares": 200,
        "amountCents": 200_000,
        "votes": 1,
    }


async def test_a_member_without_shares_has_no_vote(api: GraphQLClient) -> None:
    token = await api.sign_up("alice")

    result = await api(HOLDING, token=token)

    assert result.data["viewer"]["shares"]["votes"] == 0


@pytest.mark.parametrize("count", [0, -1, 501])
async def test_share_count_out_of_range_is_refused_and_stores_nothing(
    api: GraphQLClient, count: int
) -> None:
    token = await api.sign_up("alice")
    before = await row_counts()

    payload = await api.subscribe_shares(token, count)

    assert payload["entry"] is None
    assert payload["userErrors"][0]["field"] == ["shares"]
    assert payload["userErrors"][0]["code"] == "BAD_USER_INPUT"
    assert await row_counts() == before


async def test_total_over_five_hundred_is_refused(api: GraphQLClient) -> None:
    token = await api.sign_up("alice")
    await api.subscribe_shares(token, 300)
    before = await row_counts()

    payload = await api.subscribe_shares(token, 201)

    assert payload["userErrors"][0]["message"] == (
        "A member holds at most 500 shares; you hold 300."
    )
    assert await row_counts() == before


async def test_five_hundred_shares_in_total_are_allowed(api: GraphQLClient) -> None:
    token = await api.sign_up("alice")
    await api.subscribe_shares(token, 300)

    payload = await api.subscribe_shares(token, 200)

    assert payload["holding"]["shares"] == 500


async def test_brand_cannot_subscribe_shares(api: GraphQLClient) -> None:
    token = await api.sign_up("acme", account_type="BRAND")

    result = await api(
        "mutation { subscribeShares(input: {shares: 1}) { entry { id } } }",
        token=token,
    )

    assert result.codes == ["FORBIDDEN"]


async def test_anonymous_cannot_subscribe_shares(api: GraphQLClient) -> None:
    result = await api(
        "mutation { subscribeShares(input: {shares: 1}) { entry { id } } }"
    )

    assert result.codes == ["UNAUTHENTICATED"]


async def test_entries_are_read_page_by_page_newest_first(api: GraphQLClient) -> None:
    token = await api.sign_up("alice")
    for count in (1, 2, 3):
        await api.subscribe_shares(token, count)

    first = entries_of((await api(ENTRIES, {"first": 2}, token=token)).data)
    after = first["pageInfo"]["endCursor"]
    second = entries_of(
        (await api(ENTRIES, {"first": 2, "after": after}, token=token)).data
    )

    assert [edge["node"]["shares"] for edge in first["edges"]] == [3, 2]
    assert first["pageInfo"]["hasNextPage"] is True
    assert [edge["node"]["shares"] for edge in second["edges"]] == [1]
    assert second["pageInfo"]["hasNextPage"] is False
    assert second["pageInfo"]["hasPreviousPage"] is True


@pytest.mark.parametrize("cursor", ["nonsense", "eDoxMg==", "azphYmM="])
async def test_unknown_cursor_is_bad_user_input(
    api: GraphQLClient, cursor: str
) -> None:
    token = await api.sign_up("alice")

    result = await api(ENTRIES, {"first": 2, "after": cursor}, token=token)

    assert result.codes == ["BAD_USER_INPUT"]
    assert result.errors[0]["extensions"]["field"] == "after"


async def test_admin_reads_the_register_and_its_totals(api: GraphQLClient) -> None:
    alice = await api.sign_up("alice")
    bob = await api.sign_up("bob")
    await api.subscribe_shares(alice, 10)
    await api.subscribe_shares(alice, 5)
    await api.subscribe_shares(bob, 1)
    admin = await api.log_in(await create_admin())

    result = await api(REGISTER, token=admin)

    entries = result.data["shareRegister"]["edges"]
    assert [(e["node"]["shares"], e["node"]["member"]["handle"]) for e in entries] == [
        (1, "bob"),
        (5, "alice"),
        (10, "alice"),
    ]
    assert result.data["shareRegisterTotals"] == {
        "shares": 16,
        "amountCents": 16_000,
        "members": 2,
        "votes": 2,
    }


ERASE = "mutation($i: DeleteMyAccountInput!) { deleteMyAccount(input: $i) { deleted } }"


async def test_erased_members_shares_stay_capital_without_a_vote(
    api: GraphQLClient,
) -> None:
    alice = await api.sign_up("alice")
    bob = await api.sign_up("bob")
    await api.subscribe_shares(alice, 10)
    await api.subscribe_shares(bob, 2)
    erased = await api(ERASE, {"i": {"password": PASSWORD}}, token=bob)
    admin = await api.log_in(await create_admin())

    result = await api(REGISTER, token=admin)

    assert erased.data["deleteMyAccount"]["deleted"] is True
    assert result.data["shareRegisterTotals"] == {
        "shares": 12,
        "amountCents": 12_000,
        "members": 1,
        "votes": 1,
    }
    holders = [e["node"]["member"] for e in result.data["shareRegister"]["edges"]]
    assert holders == [None, {"handle": "alice"}]


async def test_register_of_an_empty_coop_is_zero(api: GraphQLClient) -> None:
    admin = await api.log_in(await create_admin())

    result = await api(REGISTER, token=admin)

    assert result.data["shareRegister"]["edges"] == []
    assert result.data["shareRegisterTotals"]["votes"] == 0


async def test_member_cannot_read_the_register(api: GraphQLClient) -> None:
    token = await api.sign_up("alice")

    result = await api("{ shareRegisterTotals { shares } }", token=token)

    assert result.codes == ["FORBIDDEN"]
    assert result.body["data"] is None


async def test_admin_sees_a_members_shares(api: GraphQLClient) -> None:
    alice = await api.sign_up("alice")
    await api.subscribe_shares(alice, 4)
    member_id = (await api("{ viewer { id } }", token=alice)).data["viewer"]["id"]
    admin = await api.log_in(await create_admin())

    result = await api(
        "query($id: ID!) { node(id: $id) { ... on Member { shares { shares } } } }",
        {"id": member_id},
        token=admin,
    )

    assert result.data["node"] == {"shares": {"shares": 4}}
