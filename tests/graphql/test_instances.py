from __future__ import annotations

import pytest

from myco_graph.domain.models import BlockedInstance
from tests.helpers import GraphQLClient, create_admin

BLOCK = """
mutation($input: InstanceInput!) {
  blockInstance(input: $input) {
    blockedInstance { domain }
    userErrors { field code }
  }
}
"""
UNBLOCK = """
mutation($input: InstanceInput!) {
  unblockInstance(input: $input) { unblocked userErrors { code } }
}
"""
LIST = "{ blockedInstances { edges { node { domain } } } }"


@pytest.fixture
async def admin(api: GraphQLClient) -> str:
    return await api.log_in(await create_admin())


async def test_admin_blocks_an_instance_by_its_domain(
    api: GraphQLClient, admin: str
) -> None:
    blocked = await api(
        BLOCK, {"input": {"domain": " Social.Bad.Example. "}}, token=admin
    )

    listed = await api(LIST, token=admin)

    assert blocked.data["blockInstance"]["blockedInstance"] == {
        "domain": "social.bad.example"
    }
    assert listed.data["blockedInstances"]["edges"] == [
        {"node": {"domain": "social.bad.example"}}
    ]


async def test_blocking_twice_keeps_one_block(api: GraphQLClient, admin: str) -> None:
    for _ in range(2):
        await api(BLOCK, {"input": {"domain": "bad.example"}}, token=admin)

    assert await BlockedInstance.all().count() == 1


@pytest.mark.parametrize(
    "domain",
    ["https://bad.example", "bad.example:443", "not a domain", "localhost", ""],
)
async def test_what_is_not_a_domain_is_refused_and_nothing_stored(
    api: GraphQLClient, admin: str, domain: str
) -> None:
    result = await api(BLOCK, {"input": {"domain": domain}}, token=admin)

    assert result.data["blockInstance"]["userErrors"] == [
        {"field": ["domain"], "code": "BAD_USER_INPUT"}
    ]
    assert await BlockedInstance.all().count() == 0


async def test_unblocking_lifts_the_block_once(api: GraphQLClient, admin: str) -> None:
    await api(BLOCK, {"input": {"domain": "bad.example"}}, token=admin)

    first = await api(UNBLOCK, {"input": {"domain": "BAD.example"}}, token=admin)
    second = await api(UNBLOCK, {"input": {"domain": "bad.example"}}, token=admin)

    assert first.data["unblockInstance"]["unblocked"] is True
    assert second.data["unblockInstance"]["unblocked"] is False
    assert await BlockedInstance.all().count() == 0


async def test_only_admins_block_or_see_blocks(api: GraphQLClient) -> None:
    member = await api.sign_up("alice")

    block = await api(BLOCK, {"input": {"domain": "bad.example"}}, token=member)
    listing = await api(LIST, token=member)

    assert block.codes == ["FORBIDDEN"]
    assert listing.codes == ["FORBIDDEN"]
    assert await BlockedInstance.all().count() == 0
