"""Actor documents through the live server: negotiation, consent, what never shows."""

from __future__ import annotations

import httpx
import pytest

from myco_graph.domain import discussion, grants
from myco_graph.domain.models import (
    AccessLogEntry,
    AccountKind,
    Audience,
    ConsentGrant,
    Purpose,
    Visibility,
)
from tests.federation.conftest import ACTIVITY_JSON, member, project, share

LD_JSON = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
AP = {"accept": ACTIVITY_JSON}


async def test_instance_actor_is_an_application_with_its_key(
    http: httpx.AsyncClient,
) -> None:
    response = await http.get("/actor", headers=AP)

    actor = response.json()
    assert response.status_code == 200
    assert response.headers["content-type"] == ACTIVITY_JSON
    assert actor["type"] == "Application"
    assert actor["id"] == "http://coop.test/actor"
    assert actor["publicKey"]["id"] == "http://coop.test/actor#main-key"
    assert actor["publicKey"]["owner"] == actor["id"]
    assert actor["publicKey"]["publicKeyPem"].startswith("-----BEGIN PUBLIC KEY-----")


async def test_ld_json_with_the_activitystreams_profile_is_served(
    http: httpx.AsyncClient,
) -> None:
    response = await http.get("/actor", headers={"accept": LD_JSON})

    assert response.status_code == 200
    assert response.headers["content-type"] == LD_JSON


@pytest.mark.parametrize(
    "accept",
    ["text/html", "application/json", "*/*", "application/activity+json;q=0", ""],
)
async def test_other_media_types_are_not_acceptable(
    accept: str, http: httpx.AsyncClient
) -> None:
    response = await http.get("/actor", headers={"accept": accept})

    assert response.status_code == 406
    assert "Accept" in response.headers["vary"]


async def test_actor_key_stays_the_same_between_reads(http: httpx.AsyncClient) -> None:
    first = (await http.get("/actor", headers=AP)).json()
    second = (await http.get("/actor", headers=AP)).json()

    assert first["publicKey"] == second["publicKey"]


# Person -----------------------------------------------------------------------


async def test_person_shows_only_what_is_shared_with_everyone_for_display(
    http: httpx.AsyncClient,
) -> None:
    alice = await member("alice")
    await share(alice, {"location.city": "Lyon"})
    await share(alice, {"music.favoriteGenres": ["jazz"]}, audience=Audience.COOP)
    await share(alice, {"identity.firstName": "Alice"}, purpose=Purpose.RESEARCH)

    response = await http.get("/users/alice", headers=AP)

    person = response.json()
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert person["type"] == "Person"
    assert person["preferredUsername"] == "alice"
    assert [(item["fieldKey"], item["value"]) for item in person["attachment"]] == [
        ("location.city", "Lyon")
    ]
    for secret in ("Jazz", "jazz", "Alice", "Secret-Surname", "alice@example.org"):
        assert secret not in response.text


async def test_person_read_is_logged_as_a_federated_read(
    http: httpx.AsyncClient,
) -> None:
    alice = await member("alice")
    await share(alice, {"location.city": "Lyon"})

    await http.get("/users/alice", headers=AP)

    [entry] = await AccessLogEntry.filter(subject_id=alice.id)
    assert entry.viewer_key == "federation:anonymous"
    assert entry.viewer_id is None
    assert entry.purpose is Purpose.DISPLAY
    assert entry.field_keys == ["location.city"]


async def test_withdrawn_grant_hides_the_value_on_the_next_read(
    http: httpx.AsyncClient,
) -> None:
    alice = await member("alice")
    await share(alice, {"location.city": "Lyon"})
    grant = await ConsentGrant.get(subject_id=alice.id)

    await grants.withdraw(alice, grant.id)
    response = await http.get("/users/alice", headers=AP)

    assert response.json()["attachment"] == []
    assert "Lyon" not in response.text


async def test_choice_values_show_their_labels(http: httpx.AsyncClient) -> None:
    alice = await member("alice")
    await share(alice, {"music.favoriteGenres": ["jazz", "hip_hop"]})

    person = (await http.get("/users/alice", headers=AP)).json()

    [genres] = person["attachment"]
    assert genres["value"] == "Hip-hop, Jazz"
    assert genres["nameMap"]["fr"]


async def test_person_is_found_whatever_the_case(http: httpx.AsyncClient) -> None:
    await member("Alice")

    person = (await http.get("/users/ALICE", headers=AP)).json()

    assert person["id"] == "http://coop.test/users/Alice"


async def test_brands_and_unknown_names_are_not_persons(
    http: httpx.AsyncClient,
) -> None:
    from myco_graph.domain import accounts
    from tests.helpers import PASSWORD

    await accounts.sign_up(
        accounts.SignUp(
            "brand@example.org", PASSWORD, "acme", "Acme", kind=AccountKind.BRAND
        )
    )

    brand = await http.get("/users/acme", headers=AP)
    unknown = await http.get("/users/nobody", headers=AP)

    assert brand.status_code == unknown.status_code == 404
    assert brand.json() == unknown.json()


# Group ------------------------------------------------------------------------


async def test_group_shows_name_summary_and_counts_never_members(
    http: httpx.AsyncClient,
) -> None:
    olga, alice, bob = await member("olga"), await member("alice"), await member("bob")
    await project(
        olga,
        "gardeners",
        summary="Seeds & <soil>.\n\nEvery Sunday.",
        members=(alice, bob),
        messages=("First sowing on Sunday", "Bring gloves"),
    )

    response = await http.get("/groups/gardeners", headers=AP)

    group = response.json()
    assert response.status_code == 200
    assert group["type"] == "Group"
    assert group["name"] == "gardeners"
    assert group["summary"] == "<p>Seeds &amp; &lt;soil&gt;.</p><p>Every Sunday.</p>"
    assert group["memberCount"] == 3
    assert group["messageCount"] == 2
    for name in ("olga", "alice", "bob", "Olga", "gloves"):
        assert name not in response.text


async def test_deleted_messages_are_not_counted(http: httpx.AsyncClient) -> None:
    olga = await member("olga")
    gardeners = await project(olga, "gardeners", messages=("one", "two"))
    first = await gardeners.messages.all().order_by("id").first()
    assert first is not None
    await discussion.delete(olga, first.id)

    group = (await http.get("/groups/gardeners", headers=AP)).json()

    assert group["messageCount"] == 1


async def test_private_project_answers_as_nothing(http: httpx.AsyncClient) -> None:
    olga = await member("olga")
    await project(olga, "secrets", visibility=Visibility.PRIVATE)

    private = await http.get("/groups/secrets", headers=AP)
    unknown = await http.get("/groups/nothing", headers=AP)

    assert private.status_code == unknown.status_code == 404
    assert private.json() == unknown.json()


async def test_a_member_is_not_a_group_nor_a_group_a_person(
    http: httpx.AsyncClient,
) -> None:
    olga = await member("olga")
    await project(olga, "gardeners")

    assert (await http.get("/groups/olga", headers=AP)).status_code == 404
    assert (await http.get("/users/gardeners", headers=AP)).status_code == 404


async def test_followers_of_a_member_are_not_served(http: httpx.AsyncClient) -> None:
    await member("alice")

    person = (await http.get("/users/alice", headers=AP)).json()

    followers = person["followers"].removeprefix("http://coop.test")
    assert (await http.get(followers, headers=AP)).status_code == 404
    # An inbox takes POSTs only: its contents are nobody else's to read.
    inbox = await http.get(person["inbox"].removeprefix("http://coop.test"))
    assert inbox.status_code == 405
