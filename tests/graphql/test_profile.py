"""Members fill their profile; the directory reads it at a flat cost."""

from __future__ import annotations

import logging

import pytest

from myco_graph.domain import grants, profile
from myco_graph.domain.models import AccountKind, Audience, Purpose
from myco_graph.infrastructure.config import Settings
from tests.consent_support import (
    SET_VALUES,
    People,
    make_account,
    set_values,
    values_input,
)
from tests.helpers import GraphQLClient, count_statements, row_counts

OWN_PROFILE = """
{ viewer { ... on Member { profile {
  identity { firstName birthYear gender }
  location { city }
  household { carOwner }
  consumption { lastMovingDate }
  music { favoriteGenres }
} } } }
"""

DIRECTORY = """
query Directory($first: Int!) {
  members(first: $first) { edges { node { handle profile {
    identity { firstName birthYear gender }
    location { city country }
    household { size children carOwner }
    music { favoriteGenres instruments }
  } } } }
}
"""
DIRECTORY_KEYS = [
    "identity.firstName",
    "identity.birthYear",
    "identity.gender",
    "location.city",
    "location.country",
    "household.size",
    "household.children",
    "household.carOwner",
    "music.favoriteGenres",
    "music.instruments",
]

CATALOGUE = """
{ profileCatalogue {
  name label fields { key label type special choices { value label } }
} }
"""


@pytest.fixture
def people(server: str, settings: Settings) -> People:
    return People.of(settings)


async def own_profile(api: GraphQLClient, token: str) -> dict[str, object]:
    result = await api(OWN_PROFILE, token=token)
    return result.data["viewer"]["profile"]  # type: ignore[no-any-return]


async def test_member_sets_values_of_every_type_and_reads_them_back(
    api: GraphQLClient,
    people: People,
) -> None:
    alice = await people.token("alice")

    await set_values(
        api,
        alice,
        {
            "identity.firstName": "  Alice  ",
            "identity.birthYear": 1990,
            "identity.gender": "woman",
            "household.carOwner": False,
            "consumption.lastMovingDate": "2024-09-01",
            "music.favoriteGenres": ["jazz", "folk", "jazz"],
        },
    )

    assert await own_profile(api, alice) == {
        "identity": {"firstName": "Alice", "birthYear": 1990, "gender": "WOMAN"},
        "location": {"city": None},
        "household": {"carOwner": False},
        "consumption": {"lastMovingDate": "2024-09-01"},
        "music": {"favoriteGenres": ["FOLK", "JAZZ"]},
    }


async def test_null_clears_a_value_and_absent_fields_stay(
    api: GraphQLClient, people: People
) -> None:
    alice = await people.token("alice")
    await set_values(api, alice, {"location.city": "Lyon", "identity.birthYear": 1990})

    result = await api(SET_VALUES, {"input": {"location": {"city": None}}}, token=alice)

    assert result.data["setProfileValues"]["changedFields"] == ["location.city"]
    after = await own_profile(api, alice)
    assert after["location"] == {"city": None}
    assert after["identity"]["birthYear"] == 1990  # type: ignore[index]


async def test_each_change_in_one_request_shows_its_own_result(
    api: GraphQLClient, people: People
) -> None:
    alice = await people.token("alice")

    result = await api(
        "mutation { "
        'first: setProfileValues(input: {location: {city: "Lyon"}}) '
        "{ profile { location { city } } } "
        'second: setProfileValues(input: {location: {city: "Nantes"}}) '
        "{ profile { location { city } } } }",
        token=alice,
    )

    assert result.data == {
        "first": {"profile": {"location": {"city": "Lyon"}}},
        "second": {"profile": {"location": {"city": "Nantes"}}},
    }


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"identity.birthYear": 1850}, ["identity", "birthYear"]),
        ({"identity.birthYear": 2031}, ["identity", "birthYear"]),
        ({"identity.firstName": "x" * 201}, ["identity", "firstName"]),
        ({"identity.firstName": "   "}, ["identity", "firstName"]),
        ({"household.size": 0}, ["household", "size"]),
    ],
    ids=["born-too-early", "born-too-late", "text-too-long", "blank-text", "nobody"],
)
async def test_value_outside_the_catalogue_rules_is_refused(
    api: GraphQLClient, people: People, values: dict[str, object], field: list[str]
) -> None:
    alice = await people.token("alice")
    before = await row_counts()

    result = await api(SET_VALUES, {"input": values_input(values)}, token=alice)

    [error] = result.data["setProfileValues"]["userErrors"]
    assert (error["code"], error["field"]) == ("BAD_USER_INPUT", field)
    assert await row_counts() == before


async def test_one_bad_value_refuses_the_whole_call(
    api: GraphQLClient, people: People
) -> None:
    alice = await people.token("alice")
    await set_values(api, alice, {"location.city": "Lyon"})
    before = await row_counts()

    result = await api(
        SET_VALUES,
        {
            "input": values_input(
                {
                    "location.city": "Paris",
                    "music.favoriteGenres": ["jazz"],
                    "identity.birthYear": 1850,
                }
            )
        },
        token=alice,
    )

    assert result.data["setProfileValues"]["changedFields"] is None
    assert [e["code"] for e in result.data["setProfileValues"]["userErrors"]] == [
        "BAD_USER_INPUT"
    ]
    assert await row_counts() == before
    assert (await own_profile(api, alice))["location"] == {"city": "Lyon"}


@pytest.mark.parametrize(
    "given",
    [{"identity": {"birthYear": "mid-eighties"}}, {"identity": {"gender": "ROBOT"}}],
    ids=["wrong-type", "unknown-choice"],
)
async def test_wrongly_typed_value_is_bad_user_input_and_never_logged(
    api: GraphQLClient,
    people: People,
    caplog: pytest.LogCaptureFixture,
    given: dict[str, object],
) -> None:
    alice = await people.token("alice")
    before = await row_counts()
    caplog.set_level(logging.INFO)

    result = await api(SET_VALUES, {"input": given}, token=alice)

    sent = str(next(iter(given["identity"].values())))  # type: ignore[attr-defined]
    assert await row_counts() == before
    assert sent not in caplog.text
    assert result.codes == ["BAD_USER_INPUT"]


async def test_refusal_of_a_wrongly_typed_value_never_quotes_it(
    api: GraphQLClient, people: People
) -> None:
    alice = await people.token("alice")

    result = await api(
        SET_VALUES, {"input": {"identity": {"birthYear": "mid-eighties"}}}, token=alice
    )

    assert result.codes == ["BAD_USER_INPUT"]
    assert "mid-eighties" not in result.errors[0]["message"]


async def test_brands_and_admins_have_no_profile_to_set(
    api: GraphQLClient, people: People
) -> None:
    brand = await people.token("acme", AccountKind.BRAND)
    admin = await people.token("root", AccountKind.ADMIN)
    before = await row_counts()

    refusals = [
        (
            await api(SET_VALUES, {"input": {"location": {"city": "Lyon"}}}, token=t)
        ).codes
        for t in (brand, admin)
    ]

    assert refusals == [["FORBIDDEN"], ["FORBIDDEN"]]
    assert await row_counts() == before


async def test_anonymous_reader_cannot_set_a_profile(api: GraphQLClient) -> None:
    result = await api(SET_VALUES, {"input": {"location": {"city": "Lyon"}}})

    assert result.codes == ["UNAUTHENTICATED"]


async def test_catalogue_speaks_french_when_asked(api: GraphQLClient) -> None:
    result = await api.http.post(
        "/graphql", json={"query": CATALOGUE}, headers={"accept-language": "fr"}
    )

    sections = {s["name"]: s for s in result.json()["data"]["profileCatalogue"]}
    identity = sections["identity"]
    gender = next(f for f in identity["fields"] if f["key"] == "identity.gender")
    assert identity["label"] == "Identité"
    assert identity["fields"][0]["label"] == "Prénom"
    assert {"value": "WOMAN", "label": "Femme"} in gender["choices"]
    assert sections["health"]["label"] == "Santé"


async def test_catalogue_speaks_english_by_default_and_flags_special_fields(
    api: GraphQLClient,
) -> None:
    result = await api(CATALOGUE)

    sections = {s["name"]: s for s in result.data["profileCatalogue"]}
    assert sections["identity"]["label"] == "Identity"
    assert {f["special"] for f in sections["politics"]["fields"]} == {True}
    assert {f["special"] for f in sections["music"]["fields"]} == {False}


async def test_directory_costs_the_same_statements_for_2_and_30_members(
    api: GraphQLClient, people: People
) -> None:
    token = await people.token("reader")
    issuer = grants.Issuer("http://coop.test", "coop.test")
    for number in range(30):
        member = await make_account(f"member{number:02}")
        await profile.set_values(
            member,
            {
                "identity.firstName": "Sam",
                "identity.birthYear": 1980 + number,
                "identity.gender": "other",
                "location.city": "Lyon",
                "location.country": "France",
                "household.size": 2,
                "household.children": 0,
                "household.carOwner": True,
                "music.favoriteGenres": ["jazz"],
                "music.instruments": ["piano"],
            },
        )
        request = grants.GrantRequest(
            DIRECTORY_KEYS, Audience.COOP, None, Purpose.DISPLAY, None, False
        )
        await grants.grant(member, request, issuer)

    counts = {}
    for first in (2, 30):
        with count_statements() as counter:
            result = await api(DIRECTORY, {"first": first}, token=token)
        assert len(result.data["members"]["edges"]) == first
        counts[first] = counter.count

    assert counts[2] == counts[30]
    assert counts[30] <= 6
