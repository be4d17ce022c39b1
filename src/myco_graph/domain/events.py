"""Recording what happened, and announcing it once it is committed."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from myco_graph.domain.models import Event
from myco_graph.errors import BackendUnavailable
from myco_graph.infrastructure import events as bus

log = logging.getLogger(__name__)

# Called in the transaction of every recorded event, so that what other
# layers derive from it (federation's outgoing activities) commits with it.
Recorder = Callable[[BaseDBAsyncClient, Event], Awaitable[None]]
recorders: list[Recorder] = []
# Called once an event is committed, to start what it set going (deliveries).
Announcer = Callable[[Event], Awaitable[None]]
announcers: list[Announcer] = []


def account_channel(account_id: int) -> str:
    """The bus channel that carries events about one account."""
    return f"account:{account_id}"


def project_channel(project_id: int) -> str:
    """The bus channel that carries what happens in one project."""
    return f"project:{project_id}"


async def record(
    conn: BaseDBAsyncClient,
    kind: str,
    *,
    account_id: int | None,
    project_id: int | None = None,
    payload: dict[str, Any] | None = None,
) -> Event:
    """Writes an event row, and what recorders derive from it, in ``conn``."""
    event = await Event.create(
        kind=kind,
        account_id=account_id,
        project_id=project_id,
        payload=payload or {},
        using_db=conn,
    )
    for recorder in recorders:
        await recorder(conn, event)
    return event


async def announce(event: Event) -> None:
    """Publishes a committed event to subscribers; a bus failure loses nothing.

    The event row is the record; the bus message only wakes live
    subscriptions, so an unreachable bus is logged, not raised.
    """
    message = {
        "id": event.id,
        "kind": event.kind,
        "payload": event.payload,
        "at": event.created_at.isoformat(),
    }
    channels = []
    if event.project_id is not None:
        channels.append(project_channel(event.project_id))
    elif event.account_id is not None:
        channels.append(account_channel(event.account_id))
    try:
        for channel in channels:
            await bus.bus().publish(channel, message)
    except BackendUnavailable:
        log.warning("event not announced", extra={"event_id": event.id})
    for announcer in announcers:
        await announcer(event)
