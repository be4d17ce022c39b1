"""Finding projects of another instance, across real processes."""

from __future__ import annotations

import secrets

from tests.e2e.harness import Cluster
from tests.e2e.support import (
    CREATE_PROJECT,
    JOIN,
    REMOTE_PROJECT,
    member,
    public_project,
)


async def test_a_member_of_b_finds_a_public_project_of_a(instances: Cluster) -> None:
    a, b = instances.instances[0], instances.instances[1]
    owner, seeker = await member(a, "ada"), await member(b, "bob")
    name, _ = await public_project(owner)

    by_address = await seeker.data(REMOTE_PROJECT, address=f"{name}@{a.domain}")
    by_url = await seeker.data(REMOTE_PROJECT, address=f"{a.url}/groups/{name}")

    found = by_address["remoteProject"]
    assert found == by_url["remoteProject"]
    assert found["address"] == f"{name}@{a.domain}"
    assert found["url"] == f"{a.url}/groups/{name}"
    assert found["summary"] == "Growing oyster mushrooms"
    assert found["membership"] is None


async def test_a_member_of_a_is_not_a_project(instances: Cluster) -> None:
    a, b = instances.instances[0], instances.instances[1]
    owner, seeker = await member(a, "ada"), await member(b, "bob")

    found = await seeker(REMOTE_PROJECT, address=f"{owner.handle}@{a.domain}")

    assert found.codes == ["BAD_USER_INPUT"]


async def test_a_private_project_of_a_cannot_be_found_from_b(
    instances: Cluster,
) -> None:
    a, b = instances.instances[0], instances.instances[1]
    owner, seeker = await member(a, "ada"), await member(b, "bob")
    name = f"hidden{secrets.token_hex(3)}"
    created = await owner.data(
        CREATE_PROJECT, name=name, visibility="PRIVATE", fields=[]
    )
    assert created["createProject"]["userErrors"] == []

    found = await seeker(REMOTE_PROJECT, address=f"{name}@{a.domain}")
    joining = await seeker(JOIN, address=f"{name}@{a.domain}")

    assert found.codes == ["NOT_FOUND"]
    assert joining.codes == ["NOT_FOUND"]
    assert found.body["data"] is None
