"""Members grant and withdraw consent; readers see exactly what it allows."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from myco_graph.domain.accounts import now
from myco_graph.domain.models import AccountKind, ConsentGrant
from myco_graph.infrastructure.config import Settings
from tests.consent_support import (
    GRANT,
    VIEWER_ID,
    People,
    global_id,
    grant,
    key_name,
    row_id_of,
    set_values,
    withdraw,
)
from tests.helpers import GraphQLClient, row_counts, subscriptions

CITY = "location.city"
GENRES = "music.favoriteGenres"
LEANING = "politics.leaning"

READ_ALICE = """
query Read($id: ID!) {
  node(id: $id) { ... on Member { profile {
    location { city } music { favoriteGenres } politics { leaning }
  } } }
}
"""

RECEIPTS = """
{ viewer { ... on Member { consentGrants { edges { node {
  id status fields receipt receiptJws
} } } } } }
"""

ACCESS_LOG = """
{ viewer { ... on Member { accessLog { edges { node {
  viewer viewerAccount { handle } purpose fields grantIds reads
} } } } } }
"""

PROFILE_UPDATES = """
subscription Updates($id: ID!) {
  memberProfile(memberId: $id) { profile { location { city } } }
}
"""


async def member_id(api: GraphQLClient, token: str) -> str:
    return (await api(VIEWER_ID, token=token)).data["viewer"]["id"]  # type: ignore[no-any-return]


async def read(api: GraphQLClient, subject: str, token: str | None) -> Any:
    return await api(READ_ALICE, {"id": subject}, token=token)


def city_of(result: Any) -> Any:
    return result.body["data"]["node"]["profile"]["location"]["city"]


def reasons(result: Any) -> dict[str, str]:
    """Field key → reason of each CONSENT_REQUIRED error."""
    return {
        ".".join(error["path"][-2:]): error["extensions"]["reason"]
        for error in result.errors
        if error["extensions"]["code"] == "CONSENT_REQUIRED"
    }


async def grant_input(api: GraphQLClient, token: str, **changes: Any) -> dict[str, Any]:
    given = {
        "fields": [key_name(CITY)],
        "audience": {"kind": "COOP", "id": None},
        "purpose": "DISPLAY",
    }
    result = await api(GRANT, {"input": given | changes}, token=token)
    return result.body  # type: ignore[no-any-return]


@pytest.fixture
def people(server: str, settings: Settings) -> People:
    return People.of(settings)


@pytest.fixture
async def alice(api: GraphQLClient, people: People) -> str:
    """A member who filled her city, genres and political leaning."""
    token = await people.token("alice")
    await set_values(
        api, token, {CITY: "Lyon", GENRES: ["jazz"], LEANING: "centre_left"}
    )
    return token


# Reading under consent --------------------------------------------------------


async def test_unshared_values_are_null_with_their_reason(
    api: GraphQLClient, people: People, alice: str
) -> None:
    bob = await people.token("bob")

    result = await read(api, await member_id(api, alice), bob)

    assert result.body["data"]["node"]["profile"] == {
        "location": {"city": None},
        "music": {"favoriteGenres": None},
        "politics": {"leaning": None},
    }
    assert reasons(result) == {
        CITY: "NOT_SHARED",
        GENRES: "NOT_SHARED",
        LEANING: "NOT_SHARED",
    }
    assert "Lyon" not in str(result.body)


async def test_grant_shows_the_value_to_its_audience_only(
    api: GraphQLClient, people: People, alice: str
) -> None:
    bob = await people.token("bob")
    brand = await people.token("acme", AccountKind.BRAND)
    await grant(api, alice, [CITY], "COOP")
    subject = await member_id(api, alice)

    for_bob = await read(api, subject, bob)
    for_brand = await read(api, subject, brand)
    for_anonymous = await read(api, subject, None)

    assert city_of(for_bob) == "Lyon"
    assert (city_of(for_brand), reasons(for_brand)[CITY]) == (None, "NOT_SHARED")
    assert (city_of(for_anonymous), reasons(for_anonymous)[CITY]) == (
        None,
        "NOT_SHARED",
    )


async def test_grant_names_its_audience_by_the_id_the_api_takes(
    api: GraphQLClient, people: People, alice: str
) -> None:
    bob = await member_id(api, await people.token("bob"))

    given = await grant(api, alice, [CITY], "MEMBER", bob)

    assert given["audience"] == {"kind": "MEMBER", "id": bob}


async def test_grant_for_another_purpose_is_a_purpose_mismatch(
    api: GraphQLClient, people: People, alice: str
) -> None:
    bob = await people.token("bob")
    await grant(api, alice, [CITY], "COOP", purpose="RESEARCH")

    result = await read(api, await member_id(api, alice), bob)

    assert (city_of(result), reasons(result)[CITY]) == (None, "PURPOSE_MISMATCH")


async def test_explicit_grant_shows_a_special_field(
    api: GraphQLClient, people: People, alice: str
) -> None:
    bob = await people.token("bob")
    await grant(
        api, alice, [LEANING], "MEMBER", await member_id(api, bob), explicit=True
    )

    result = await read(api, await member_id(api, alice), bob)

    assert result.body["data"]["node"]["profile"]["politics"] == {
        "leaning": "CENTRE_LEFT"
    }


async def test_withdrawal_hides_the_value_on_the_very_next_read(
    api: GraphQLClient, people: People, alice: str
) -> None:
    bob = await people.token("bob")
    given = await grant(api, alice, [CITY], "COOP")
    subject = await member_id(api, alice)
    before = await read(api, subject, bob)

    await withdraw(api, alice, given["id"])
    after = await read(api, subject, bob)

    assert city_of(before) == "Lyon"
    assert (city_of(after), reasons(after)[CITY]) == (None, "WITHDRAWN")


async def test_expired_grant_hides_the_value(
    api: GraphQLClient, people: People, alice: str
) -> None:
    bob = await people.token("bob")
    given = await grant(api, alice, [CITY], "COOP")
    lapsed = now() - timedelta(minutes=1)
    await ConsentGrant.filter(id=row_id_of(given["id"])).update(expires_at=lapsed)

    result = await read(api, await member_id(api, alice), bob)

    assert (city_of(result), reasons(result)[CITY]) == (None, "EXPIRED")


# Refused grants ---------------------------------------------------------------


REFUSED = {
    "expiry-in-the-past": ({"expiresAt": "2020-01-01T00:00:00+00:00"}, ["expiresAt"]),
    "special-without-explicit": ({"fields": [key_name(LEANING)]}, ["explicit"]),
    "special-for-offer-matching": (
        {"fields": [key_name(LEANING)], "purpose": "OFFER_MATCHING", "explicit": True},
        ["fields"],
    ),
    "no-fields": ({"fields": []}, ["fields"]),
    "id-for-the-whole-coop": (
        {"audience": {"kind": "COOP", "id": global_id("Member", 1)}},
        ["audience", "id"],
    ),
    "member-without-id": ({"audience": {"kind": "MEMBER"}}, ["audience", "id"]),
    "unknown-member": (
        {"audience": {"kind": "MEMBER", "id": global_id("Member", 999)}},
        ["audience", "id"],
    ),
    "unknown-project": (
        {"audience": {"kind": "PROJECT", "id": global_id("Project", 999)}},
        ["audience", "id"],
    ),
}


@pytest.mark.parametrize(("changes", "field"), REFUSED.values(), ids=REFUSED.keys())
async def test_refused_grant_stores_nothing(
    api: GraphQLClient,
    alice: str,
    changes: dict[str, Any],
    field: list[str],
) -> None:
    before = await row_counts()

    body = await grant_input(api, alice, **changes)

    payload = body["data"]["grantConsent"]
    assert payload["grant"] is None
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("BAD_USER_INPUT", field)
    ]
    assert await row_counts() == before


async def test_audience_id_of_another_kind_is_refused(
    api: GraphQLClient, people: People, alice: str
) -> None:
    brand = await member_id(api, await people.token("acme", AccountKind.BRAND))
    bob = await member_id(api, await people.token("bob"))
    before = await row_counts()

    bodies = [
        await grant_input(api, alice, audience={"kind": "MEMBER", "id": brand}),
        await grant_input(api, alice, audience={"kind": "BRAND", "id": bob}),
    ]

    assert [
        [(e["code"], e["field"]) for e in body["data"]["grantConsent"]["userErrors"]]
        for body in bodies
    ] == [[("BAD_USER_INPUT", ["audience", "id"])]] * 2
    assert await row_counts() == before


async def test_unknown_field_key_is_refused_before_anything_runs(
    api: GraphQLClient, alice: str
) -> None:
    before = await row_counts()

    result = await api(
        "mutation { grantConsent(input: {fields: [MUSIC_FAVOURITE_BANDS], "
        "audience: {kind: COOP}, purpose: DISPLAY}) { grant { id } } }",
        token=alice,
    )

    assert result.codes == ["BAD_USER_INPUT"]
    assert await row_counts() == before


async def test_grant_always_covers_the_viewers_own_data(
    api: GraphQLClient, people: People, alice: str
) -> None:
    bob = await people.token("bob")
    fields = await api('{ __type(name: "GrantConsentInput") { inputFields { name } } }')

    given = await grant(api, bob, [CITY], "MEMBER", await member_id(api, alice))

    names = {field["name"] for field in fields.data["__type"]["inputFields"]}
    assert names == {"fields", "audience", "purpose", "expiresAt", "explicit"}
    assert given["receipt"]["dataSubject"] == {"id": "acct:bob@coop.test"}
    assert (await api(RECEIPTS, token=alice)).data["viewer"]["consentGrants"] == {
        "edges": []
    }


async def test_brands_and_admins_cannot_grant(
    api: GraphQLClient, people: People
) -> None:
    brand = await people.token("acme", AccountKind.BRAND)
    admin = await people.token("root", AccountKind.ADMIN)
    before = await row_counts()

    refusals = [(await grant_input(api, token))["errors"] for token in (brand, admin)]

    assert [[e["extensions"]["code"] for e in errors] for errors in refusals] == [
        ["FORBIDDEN"],
        ["FORBIDDEN"],
    ]
    assert await row_counts() == before


async def test_withdrawing_someone_elses_grant_is_not_found(
    api: GraphQLClient, people: People, alice: str
) -> None:
    bob = await people.token("bob")
    given = await grant(api, alice, [CITY], "COOP")

    result = await api(
        "mutation W($id: ID!) { withdrawConsent(input: {id: $id}) { grant { id } } }",
        {"id": given["id"]},
        token=bob,
    )

    assert result.codes == ["NOT_FOUND"]
    assert city_of(await read(api, await member_id(api, alice), bob)) == "Lyon"


# Receipts ---------------------------------------------------------------------


async def test_receipts_list_active_expired_and_withdrawn_grants(
    api: GraphQLClient, alice: str
) -> None:
    active = await grant(api, alice, [CITY], "COOP")
    lapsing = await grant(api, alice, [GENRES], "PUBLIC")
    withdrawn = await grant(api, alice, [CITY], "PUBLIC")
    await withdraw(api, alice, withdrawn["id"])
    lapsed = now() - timedelta(days=1)
    await ConsentGrant.filter(id=row_id_of(lapsing["id"])).update(expires_at=lapsed)

    result = await api(RECEIPTS, token=alice)

    listed = {
        edge["node"]["id"]: edge["node"]
        for edge in result.data["viewer"]["consentGrants"]["edges"]
    }
    assert {gid: node["status"] for gid, node in listed.items()} == {
        active["id"]: "ACTIVE",
        lapsing["id"]: "EXPIRED",
        withdrawn["id"]: "WITHDRAWN",
    }
    assert all(node["receiptJws"].count(".") == 2 for node in listed.values())


async def test_receipt_records_who_what_why_whom_until_when_and_how_to_withdraw(
    api: GraphQLClient, people: People, alice: str
) -> None:
    bob = await people.token("bob")
    bob_id = await member_id(api, bob)
    expires = (now() + timedelta(days=30)).isoformat()

    given = await grant(
        api,
        alice,
        [GENRES, CITY],
        "MEMBER",
        bob_id,
        purpose="RESEARCH",
        expires_at=expires,
    )

    receipt = given["receipt"]
    assert receipt["controller"]["id"] == "http://coop.test"
    assert receipt["dataSubject"] == {"id": "acct:alice@coop.test"}
    assert [item["field"] for item in receipt["personalData"]] == [CITY, GENRES]
    assert receipt["purpose"] == {
        "code": "research",
        "dpv": "dpv:ResearchAndDevelopment",
    }
    assert receipt["legalBasis"]["id"] == "eu-gdpr:A6-1-a"
    assert receipt["recipients"] == {"audience": "member", "id": str(row_id_of(bob_id))}
    assert receipt["consent"]["validUntil"] is not None
    assert receipt["consent"]["withdrawal"]["method"].endswith("withdrawConsent")
    assert receipt["consent"]["withdrawal"]["grantId"] == row_id_of(given["id"])


async def test_special_fields_receipt_rests_on_explicit_consent(
    api: GraphQLClient, alice: str
) -> None:
    given = await grant(api, alice, [LEANING], "COOP", explicit=True)

    assert given["legalBasis"] == "eu-gdpr:A9-2-a"
    assert given["receipt"]["personalData"] == [
        {
            "field": LEANING,
            "special": True,
            "type": "dpv:SpecialCategoryPersonalData",
        }
    ]


# The access log ---------------------------------------------------------------


async def test_repeated_reads_fold_into_one_access_log_line(
    api: GraphQLClient, people: People, alice: str
) -> None:
    bob = await people.token("bob")
    given = await grant(api, alice, [CITY, GENRES], "COOP")
    subject = await member_id(api, alice)

    for _ in range(3):
        await read(api, subject, bob)

    [entry] = (await api(ACCESS_LOG, token=alice)).data["viewer"]["accessLog"]["edges"]
    assert entry["node"] == {
        "viewer": f"account:{row_id_of(await member_id(api, bob))}",
        "viewerAccount": {"handle": "bob"},
        "purpose": "DISPLAY",
        "fields": [key_name(CITY), key_name(GENRES)],
        "grantIds": [given["id"]],
        "reads": 6,
    }


async def test_others_cannot_see_a_members_grants_or_access_log(
    api: GraphQLClient, people: People, alice: str
) -> None:
    bob = await people.token("bob")
    subject = await member_id(api, alice)
    lists = (
        "consentGrants { edges { node { id } } }",
        "accessLog { edges { node { reads } } }",
    )

    results = [
        await api(
            "query Other($id: ID!) { node(id: $id) { ... on Member { "
            + part
            + " } } }",
            {"id": subject},
            token=bob,
        )
        for part in lists
    ]

    assert [result.codes for result in results] == [["FORBIDDEN"], ["FORBIDDEN"]]


# Subscriptions -----------------------------------------------------------------


async def test_profile_subscription_stops_delivering_a_withdrawn_value(
    api: GraphQLClient, people: People, server: str, alice: str
) -> None:
    bob = await people.token("bob")
    given = await grant(api, alice, [CITY], "COOP")
    subject = await member_id(api, alice)

    async with subscriptions(server, bob) as connection:
        await connection.send(
            {
                "id": "1",
                "type": "subscribe",
                "payload": {"query": PROFILE_UPDATES, "variables": {"id": subject}},
            }
        )
        shared = await first_update(connection, api, alice)
        await withdraw(api, alice, given["id"])
        hidden = (await connection.receive())["payload"]

    assert shared["data"]["memberProfile"]["profile"] == {"location": {"city": "Lyon"}}
    assert hidden["data"]["memberProfile"]["profile"] == {"location": {"city": None}}
    assert [
        (error["extensions"]["code"], error["extensions"]["reason"])
        for error in hidden["errors"]
    ] == [("CONSENT_REQUIRED", "WITHDRAWN")]


async def first_update(connection: Any, api: GraphQLClient, alice: str) -> Any:
    """Touches Alice's profile until the new subscription hears about it.

    The server starts listening a moment after the subscribe message, with no
    message to say so; after the first update, late duplicates are drained.
    """
    for _ in range(20):
        await set_values(api, alice, {CITY: "Lyon"})
        try:
            update = (await connection.receive(0.25))["payload"]
        except TimeoutError:
            continue
        while True:
            try:
                await connection.receive(0.25)
            except TimeoutError:
                return update
    raise AssertionError("the subscription never delivered")


async def test_profile_subscription_needs_a_signed_in_reader(
    server: str, api: GraphQLClient, alice: str
) -> None:
    subject = await member_id(api, alice)

    async with subscriptions(server, None) as connection:
        await connection.send(
            {
                "id": "1",
                "type": "subscribe",
                "payload": {"query": PROFILE_UPDATES, "variables": {"id": subject}},
            }
        )
        message = await connection.receive()

    assert message["type"] == "next"
    assert message["payload"]["data"] is None
    assert [e["extensions"]["code"] for e in message["payload"]["errors"]] == [
        "UNAUTHENTICATED"
    ]
