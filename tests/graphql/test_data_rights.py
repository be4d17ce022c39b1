"""Members take all their data with them, or erase it."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from myco_graph.domain.models import (
    AccessLogEntry,
    Account,
    AccountKind,
    ConsentGrant,
    ProfileValue,
    ShareEntry,
    Token,
)
from myco_graph.infrastructure.config import Settings
from myco_graph.infrastructure.logs import configure_logging
from tests.consent_support import (
    SET_VALUES,
    VIEWER_ID,
    People,
    grant,
    row_id_of,
    set_values,
    values_input,
    withdraw,
)
from tests.helpers import PASSWORD, SIGN_UP, GraphQLClient, row_counts

EXPORT = """
mutation { exportMyData(input: {}) { document userErrors { code message } } }
"""

DELETE = """
mutation Delete($password: String!) {
  deleteMyAccount(input: {password: $password}) { deleted userErrors { code message } }
}
"""

READ = """
query Read($id: ID!) {
  node(id: $id) { ... on Member { profile {
    identity { firstName } location { city } interests { bio }
  } } }
}
"""

ACCESS_LOG = """
{ viewer { ... on Member { accessLog { edges { node {
  viewer viewerAccount { handle } fields reads
} } } } } }
"""

# Values no log line or error message may ever hold.
VALUES = {
    "identity.firstName": "Zephyrine",
    "location.city": "Quokkaville",
    "interests.bio": "Sings to quetzals",
}


@pytest.fixture
def people(server: str, settings: Settings) -> People:
    return People.of(settings)


@pytest.fixture
def production_logs(capsys: pytest.CaptureFixture[str]) -> Iterator[None]:
    """Logging as production configures it, at DEBUG, into captured stderr."""
    loggers = [logging.getLogger(name) for name in logging.root.manager.loggerDict]
    saved = {logger.name: logger.level for logger in loggers}
    root = logging.getLogger()
    saved_root = root.level, list(root.handlers)
    configure_logging("DEBUG", "json")
    yield
    root.handlers[:] = saved_root[1]
    root.setLevel(saved_root[0])
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


async def member_id(api: GraphQLClient, token: str) -> str:
    return (await api(VIEWER_ID, token=token)).data["viewer"]["id"]  # type: ignore[no-any-return]


async def account_of(handle: str) -> Account:
    return await Account.get(handle=handle)


async def test_export_holds_account_shares_profile_grants_and_access_log(
    api: GraphQLClient, people: People
) -> None:
    alice = await people.token("alice")
    bob = await people.token("bob")
    await api.subscribe_shares(alice, 3)
    await set_values(
        api, alice, {"location.city": "Lyon", "music.favoriteGenres": ["jazz"]}
    )
    given = await grant(api, alice, ["location.city"], "COOP")
    await api(READ, {"id": await member_id(api, alice)}, token=bob)

    document = (await api(EXPORT, token=alice)).data["exportMyData"]["document"]

    bob_id = (await account_of("bob")).id
    assert document["account"]["handle"] == "alice"
    assert document["account"]["email"] == "alice@example.org"
    assert [(line["shares"], line["amount_cents"]) for line in document["shares"]] == [
        (3, 3000)
    ]
    assert document["profile"] == {
        "location.city": "Lyon",
        "music.favoriteGenres": ["jazz"],
    }
    [exported] = document["consentGrants"]
    assert exported["id"] == row_id_of(given["id"])
    assert exported["receipt"] == given["receipt"]
    assert exported["receiptJws"] == given["receiptJws"]
    [line] = document["accessLog"]
    assert (line["viewer_key"], line["field_keys"], line["reads"]) == (
        f"account:{bob_id}",
        ["location.city"],
        1,
    )


async def test_wrong_password_erases_nothing(
    api: GraphQLClient, people: People
) -> None:
    alice = await people.token("alice")
    await set_values(api, alice, {"location.city": "Lyon"})
    before = await row_counts()

    result = await api(DELETE, {"password": "not my password"}, token=alice)

    assert result.codes == ["UNAUTHENTICATED"]
    assert await row_counts() == before
    assert (await api(VIEWER_ID, token=alice)).status == 200


async def test_erasure_removes_values_grants_sessions_and_the_account(
    api: GraphQLClient, people: People
) -> None:
    alice = await people.token("alice")
    await api.subscribe_shares(alice, 2)
    await set_values(api, alice, {"location.city": "Lyon"})
    await grant(api, alice, ["location.city"], "COOP")
    account = await account_of("alice")

    result = await api(DELETE, {"password": PASSWORD}, token=alice)

    assert result.data["deleteMyAccount"] == {"deleted": True, "userErrors": []}
    assert not await Account.exists(id=account.id)
    assert await ProfileValue.filter(account_id=account.id).count() == 0
    assert await ConsentGrant.filter(subject_id=account.id).count() == 0
    assert await Token.filter(account_id=account.id).count() == 0
    assert (await api(VIEWER_ID, token=alice)).status == 401


async def test_erasure_keeps_share_lines_without_their_owner(
    api: GraphQLClient, people: People
) -> None:
    alice = await people.token("alice")
    await api.subscribe_shares(alice, 2)

    await api(DELETE, {"password": PASSWORD}, token=alice)

    lines = await ShareEntry.all().values("account_id", "shares", "amount_cents")
    assert lines == [{"account_id": None, "shares": 2, "amount_cents": 2000}]


async def test_erasure_anonymises_the_members_reads_in_others_logs(
    api: GraphQLClient, people: People
) -> None:
    alice = await people.token("alice")
    bob = await people.token("bob")
    await set_values(api, bob, {"location.city": "Lyon"})
    await grant(api, bob, ["location.city"], "COOP")
    await api(READ, {"id": await member_id(api, bob)}, token=alice)

    await api(DELETE, {"password": PASSWORD}, token=alice)

    [edge] = (await api(ACCESS_LOG, token=bob)).data["viewer"]["accessLog"]["edges"]
    assert edge["node"]["viewer"].startswith("erased:")
    assert edge["node"]["viewerAccount"] is None
    assert (edge["node"]["fields"], edge["node"]["reads"]) == (["LOCATION_CITY"], 1)
    assert await AccessLogEntry.filter(viewer_id__isnull=False).count() == 0


async def test_erased_handle_stays_taken(api: GraphQLClient, people: People) -> None:
    alice = await people.token("alice")
    await api(DELETE, {"password": PASSWORD}, token=alice)

    result = await api(
        SIGN_UP,
        {
            "input": {
                "email": "alice.again@example.org",
                "password": PASSWORD,
                "handle": "Alice",
                "displayName": "Alice",
            }
        },
    )

    [error] = result.data["signUp"]["userErrors"]
    assert error["field"] == ["handle"]


async def test_brands_have_no_member_data_to_export_or_erase(
    api: GraphQLClient, people: People
) -> None:
    brand = await people.token("acme", AccountKind.BRAND)

    export = await api(EXPORT, token=brand)
    delete = await api(DELETE, {"password": PASSWORD}, token=brand)

    assert (export.codes, delete.codes) == (["FORBIDDEN"], ["FORBIDDEN"])


def messages(result: Any) -> list[str]:
    """Every message a response carries: errors and payloads' userErrors."""
    found = [error["message"] for error in result.errors]
    for payload in (result.body.get("data") or {}).values():
        if isinstance(payload, dict):
            found += [error["message"] for error in payload.get("userErrors") or []]
    return found


@pytest.mark.usefixtures("production_logs")
async def test_no_log_line_or_error_message_holds_a_personal_value(
    api: GraphQLClient, people: People, capsys: pytest.CaptureFixture[str]
) -> None:
    alice = await people.token("alice")
    bob = await people.token("bob")
    brand = await people.token("acme", AccountKind.BRAND)
    subject = {"id": await member_id(api, alice)}
    too_long = {"identity.firstName": VALUES["identity.firstName"] * 30}

    results = [
        await api(SET_VALUES, {"input": values_input(VALUES)}, token=alice),
        await api(SET_VALUES, {"input": values_input(too_long)}, token=alice),
        await api(READ, subject, token=bob),
        await api(READ, subject, token=brand),
        await api(READ, subject),
    ]
    given = await grant(api, alice, list(VALUES), "COOP")
    results.append(await api(READ, subject, token=bob))
    await withdraw(api, alice, given["id"])
    results += [
        await api(READ, subject, token=bob),
        await api(SET_VALUES, {"input": {"location": {"city": None}}}, token=brand),
        await api(EXPORT, token=alice),
        await api(DELETE, {"password": "not my password"}, token=alice),
        await api(DELETE, {"password": PASSWORD}, token=alice),
    ]

    logs = capsys.readouterr().err
    said = [message for result in results for message in messages(result)]
    assert "request done" in logs
    assert len(said) == 15
    leaks = [
        key
        for key, value in VALUES.items()
        if value in logs or any(value in message for message in said)
    ]
    assert leaks == []
