"""viewerEvents over graphql-transport-ws, on the memory or the Redis bus."""

from __future__ import annotations

from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from myco_graph.domain.accounts import now
from myco_graph.domain.events import account_channel
from myco_graph.domain.models import Account, ShareEntry
from myco_graph.infrastructure.events import bus
from tests.helpers import GraphQLClient, Subscriptions, subscriptions, websocket

VIEWER_EVENTS = "subscription { viewerEvents { kind payload occurredAt } }"


async def until_listening(connection: Subscriptions, handle: str) -> None:
    """Waits until the server's bus delivers to this subscription.

    Numbered probes go through the real bus until one comes back, so that the
    event a test cares about cannot be published before anyone listens. The
    bus keeps order: the probes sent after the first one received are read
    here too, so none is left for the test.
    """
    channel = account_channel((await Account.get(handle=handle)).id)
    for sent in range(1, 101):
        probe = {"kind": "test.probe", "payload": {"n": sent}, "at": now().isoformat()}
        await bus().publish(channel, probe)
        try:
            first = (await next_event(connection, seconds=0.05))["payload"]["n"]
        except TimeoutError:
            continue
        for _ in range(sent - first):
            await next_event(connection)
        return
    raise AssertionError("the subscription never started listening")


async def next_event(connection: Subscriptions, seconds: float = 5.0) -> dict[str, Any]:
    message = await connection.receive(seconds)
    assert message["type"] == "next", message
    return message["payload"]["data"]["viewerEvents"]  # type: ignore[no-any-return]


async def test_viewer_receives_shares_subscribed(
    api: GraphQLClient, server: str
) -> None:
    token = await api.sign_up("alice")
    async with subscriptions(server, token) as connection:
        await connection.start("1", VIEWER_EVENTS)
        await until_listening(connection, "alice")

        payload = await api.subscribe_shares(token, 4)
        event = await next_event(connection)

    assert event["kind"] == "shares.subscribed"
    assert event["payload"]["shares"] == 4
    assert event["payload"]["entry"] == (await ShareEntry.get()).id
    assert payload["entry"]["shares"] == 4


async def test_viewer_does_not_receive_someone_elses_events(
    api: GraphQLClient, server: str
) -> None:
    alice = await api.sign_up("alice")
    bob = await api.sign_up("bob")
    async with subscriptions(server, bob) as connection:
        await connection.start("1", VIEWER_EVENTS)
        await until_listening(connection, "bob")

        await api.subscribe_shares(alice, 4)
        try:
            message = await connection.receive(seconds=0.5)
        except TimeoutError:
            message = None

    assert message is None


async def test_bad_token_in_connection_init_closes_with_4403(server: str) -> None:
    async with websocket(server) as connection:
        await connection.send(
            {"type": "connection_init", "payload": {"Authorization": "Bearer nope"}}
        )

        with pytest.raises(ConnectionClosed) as closed:
            await connection.receive()

    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4403


async def test_subscribing_before_connection_init_closes_with_4401(
    server: str,
) -> None:
    async with websocket(server) as connection:
        await connection.start("1", VIEWER_EVENTS)

        with pytest.raises(ConnectionClosed) as closed:
            await connection.receive()

    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4401


async def test_anonymous_connection_cannot_follow_viewer_events(server: str) -> None:
    async with subscriptions(server, token=None) as connection:
        await connection.start("1", VIEWER_EVENTS)

        message = await connection.receive()

    assert message["type"] == "next"
    assert message["payload"]["data"] is None
    [error] = message["payload"]["errors"]
    assert error["extensions"] == {"code": "UNAUTHENTICATED"}


async def test_unexpected_failure_in_a_subscription_is_masked(
    api: GraphQLClient, server: str
) -> None:
    token = await api.sign_up("alice")
    account = await Account.get(handle="alice")
    async with subscriptions(server, token) as connection:
        await connection.start("1", VIEWER_EVENTS)
        await until_listening(connection, "alice")

        await bus().publish(account_channel(account.id), {"kind": "no.date"})
        message = await connection.receive()

    [error] = message["payload"]["errors"]
    assert error["message"] == "Internal server error."
    assert error["extensions"]["code"] == "INTERNAL"
