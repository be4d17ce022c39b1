"""What a client sees when something fails on our side."""

from __future__ import annotations

import logging

import pytest
from tortoise import connections

from tests.helpers import GraphQLClient, create_admin

REGISTER = "{ shareRegister { edges { node { shares member { handle } } } } }"


async def corrupt_account_kind(handle: str) -> None:
    """Stores a kind no code knows, as a buggy migration or a hand edit would."""
    await connections.get("default").execute_script(
        f"UPDATE accounts SET kind = 'martian' WHERE handle = '{handle}'"  # noqa: S608
    )


async def test_unexpected_failure_is_masked_as_internal_with_the_request_id(
    api: GraphQLClient,
) -> None:
    alice = await api.sign_up("alice")
    await api.subscribe_shares(alice, 2)
    admin = await api.log_in(await create_admin())
    await corrupt_account_kind("alice")

    result = await api(REGISTER, token=admin)

    assert result.status == 200
    assert result.errors[0]["message"] == "Internal server error."
    assert result.errors[0]["extensions"] == {
        "code": "INTERNAL",
        "requestId": result.headers["x-request-id"],
    }
    assert "martian" not in str(result.body)


async def test_unexpected_failure_is_logged_with_its_traceback(
    api: GraphQLClient, caplog: pytest.LogCaptureFixture
) -> None:
    alice = await api.sign_up("alice")
    await api.subscribe_shares(alice, 2)
    admin = await api.log_in(await create_admin())
    await corrupt_account_kind("alice")

    with caplog.at_level(logging.ERROR, logger="myco_graph"):
        await api(REGISTER, token=admin)

    [record] = [r for r in caplog.records if r.name == "myco_graph.graphql.errors"]
    assert record.getMessage() == "unexpected error in resolver"
    assert record.exc_info is not None


async def test_client_errors_are_not_logged_as_failures(
    api: GraphQLClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="myco_graph"):
        result = await api("{ shareRegisterTotals { shares } }")

    assert result.codes == ["UNAUTHENTICATED"]
    assert caplog.records == []
