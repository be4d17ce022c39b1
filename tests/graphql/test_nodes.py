from __future__ import annotations

import base64

from tests.helpers import GraphQLClient

NODE = """
query Node($id: ID!) {
  node(id: $id) {
    __typename
    id
    ... on Member { handle }
    ... on ShareEntry { shares }
    ... on ApiToken { label }
  }
}
"""

CREATE_API_TOKEN = """
mutation { createApiToken(input: {label: "CRM"}) { apiToken { id } } }
"""


async def test_node_finds_a_member_by_global_id(api: GraphQLClient) -> None:
    token = await api.sign_up("alice")
    member_id = (await api("{ viewer { id } }", token=token)).data["viewer"]["id"]

    result = await api(NODE, {"id": member_id}, token=token)

    assert result.data["node"] == {
        "__typename": "Member",
        "id": member_id,
        "handle": "alice",
    }


async def test_node_finds_the_viewers_share_entry(api: GraphQLClient) -> None:
    token = await api.sign_up("alice")
    entry_id = (await api.subscribe_shares(token, 7))["entry"]["id"]

    result = await api(NODE, {"id": entry_id}, token=token)

    assert result.data["node"] == {
        "__typename": "ShareEntry",
        "id": entry_id,
        "shares": 7,
    }


async def test_someone_elses_share_entry_is_null(api: GraphQLClient) -> None:
    alice = await api.sign_up("alice")
    bob = await api.sign_up("bob")
    entry_id = (await api.subscribe_shares(alice, 7))["entry"]["id"]

    result = await api(NODE, {"id": entry_id}, token=bob)

    assert result.data["node"] is None


async def test_anonymous_reader_gets_no_share_entry(api: GraphQLClient) -> None:
    alice = await api.sign_up("alice")
    entry_id = (await api.subscribe_shares(alice, 7))["entry"]["id"]

    result = await api(NODE, {"id": entry_id})

    assert result.data["node"] is None


async def test_node_finds_the_brands_api_token(api: GraphQLClient) -> None:
    brand = await api.sign_up("acme", account_type="BRAND")
    created = await api(CREATE_API_TOKEN, token=brand)
    token_id = created.data["createApiToken"]["apiToken"]["id"]

    result = await api(NODE, {"id": token_id}, token=brand)

    assert result.data["node"] == {
        "__typename": "ApiToken",
        "id": token_id,
        "label": "CRM",
    }


async def test_another_brands_api_token_is_null(api: GraphQLClient) -> None:
    acme = await api.sign_up("acme", account_type="BRAND")
    other = await api.sign_up("other", account_type="BRAND")
    created = await api(CREATE_API_TOKEN, token=acme)
    token_id = created.data["createApiToken"]["apiToken"]["id"]

    result = await api(NODE, {"id": token_id}, token=other)

    assert result.data["node"] is None


async def test_a_member_id_read_as_a_brand_is_null(api: GraphQLClient) -> None:
    token = await api.sign_up("alice")
    member_id = (await api("{ viewer { id } }", token=token)).data["viewer"]["id"]
    row = base64.b64decode(member_id).decode().removeprefix("Member:")
    brand_id = base64.b64encode(f"Brand:{row}".encode()).decode()

    result = await api(NODE, {"id": brand_id}, token=token)

    assert result.data["node"] is None


async def test_another_members_email_is_forbidden(api: GraphQLClient) -> None:
    alice = await api.sign_up("alice")
    bob = await api.sign_up("bob")
    alice_id = (await api("{ viewer { id } }", token=alice)).data["viewer"]["id"]

    result = await api(
        "query($id: ID!) { node(id: $id) { ... on Member { handle email } } }",
        {"id": alice_id},
        token=bob,
    )

    assert result.codes == ["FORBIDDEN"]
    assert "alice@example.org" not in str(result.body)


async def test_garbage_global_id_is_bad_user_input(api: GraphQLClient) -> None:
    result = await api(NODE, {"id": "not-a-global-id"})

    assert result.codes == ["BAD_USER_INPUT"]
