"""WebFinger and NodeInfo through the live server."""

from __future__ import annotations

import httpx
import pytest

from myco_graph.domain import accounts
from myco_graph.domain.models import AccountKind, Visibility
from myco_graph.federation import software
from tests.federation.conftest import member, project
from tests.helpers import PASSWORD

WEBFINGER = "/.well-known/webfinger"


async def finger(http: httpx.AsyncClient, resource: str | None) -> httpx.Response:
    params = {"resource": resource} if resource is not None else {}
    return await http.get(WEBFINGER, params=params)


async def test_webfinger_points_a_member_at_its_person(
    http: httpx.AsyncClient,
) -> None:
    await member("alice")

    response = await finger(http, "acct:alice@coop.test")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/jrd+json"
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.json() == {
        "subject": "acct:alice@coop.test",
        "aliases": ["http://coop.test/users/alice"],
        "links": [
            {
                "rel": "self",
                "type": "application/activity+json",
                "href": "http://coop.test/users/alice",
            }
        ],
    }


async def test_webfinger_points_a_public_project_at_its_group(
    http: httpx.AsyncClient,
) -> None:
    await project(await member("olga"), "gardeners")

    response = await finger(http, "acct:gardeners@coop.test")

    assert response.json()["links"][0]["href"] == "http://coop.test/groups/gardeners"


async def test_webfinger_answers_with_the_canonical_name(
    http: httpx.AsyncClient,
) -> None:
    await member("Alice")

    response = await finger(http, "acct:ALICE@Coop.Test")

    assert response.json()["subject"] == "acct:Alice@coop.test"


async def test_webfinger_takes_an_actor_url(http: httpx.AsyncClient) -> None:
    await member("alice")

    response = await finger(http, "http://coop.test/users/alice")

    assert response.json()["subject"] == "acct:alice@coop.test"


@pytest.mark.parametrize(
    "resource",
    [
        "acct:nobody@coop.test",
        "acct:secrets@coop.test",
        "acct:acme@coop.test",
        "acct:alice@elsewhere.example",
        "acct:alice@coop.test.evil.example",
        "https://elsewhere.example/users/alice",
        "http://coop.test/users/alice/inbox",
    ],
)
async def test_webfinger_knows_nothing_else(
    resource: str, http: httpx.AsyncClient
) -> None:
    alice = await member("alice")
    await project(alice, "secrets", visibility=Visibility.PRIVATE)
    await accounts.sign_up(
        accounts.SignUp(
            "brand@example.org", PASSWORD, "acme", "Acme", kind=AccountKind.BRAND
        )
    )

    response = await finger(http, resource)

    assert response.status_code == 404


@pytest.mark.parametrize(
    "resource", [None, "", "alice", "acct:alice", "acct:@coop.test", "mailto:a@b"]
)
async def test_malformed_resource_is_a_bad_request(
    resource: str | None, http: httpx.AsyncClient
) -> None:
    response = await finger(http, resource)

    assert response.status_code == 400


async def test_nodeinfo_is_linked_from_well_known(http: httpx.AsyncClient) -> None:
    response = await http.get("/.well-known/nodeinfo")

    assert response.json() == {
        "links": [
            {
                "rel": "http://nodeinfo.diaspora.software/ns/schema/2.1",
                "href": "http://coop.test/nodeinfo/2.1",
            }
        ]
    }


async def test_nodeinfo_counts_members_and_public_posts(
    http: httpx.AsyncClient,
) -> None:
    olga, alice = await member("olga"), await member("alice")
    await accounts.sign_up(
        accounts.SignUp(
            "brand@example.org", PASSWORD, "acme", "Acme", kind=AccountKind.BRAND
        )
    )
    await project(olga, "gardeners", messages=("one", "two"))
    await project(alice, "secrets", visibility=Visibility.PRIVATE, messages=("x",))

    response = await http.get("/nodeinfo/2.1")

    info = response.json()
    assert response.headers["content-type"] == (
        'application/json; profile="http://nodeinfo.diaspora.software/ns/schema/2.1#"'
    )
    assert info["version"] == "2.1"
    assert info["software"] == {"name": "myco-graph", "version": software.VERSION}
    assert info["protocols"] == ["activitypub"]
    assert info["usage"] == {"users": {"total": 2}, "localPosts": 2}
    assert info["openRegistrations"] is True
