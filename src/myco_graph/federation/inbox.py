"""Inboxes: what happens to an activity POSTed to this instance.

An activity is taken when all of this holds, checked in this order so that
the cheap checks come before any remote fetch: it is a JSON object with an
``id``, a ``type`` and an ``actor`` (parse_activity); neither the actor's
instance nor the signing key's is blocked; the HTTP signature verifies with
the key it names (the key fetched and cached by the look-ups); that key's
owner is the actor. Each refusal raises, and :data:`STATUS` says which HTTP
status it is answered with; nothing is stored for a refused activity.

A taken activity is processed once: its id is recorded as received in the
transaction that writes what its handler changes; a second delivery of the
same id is acknowledged with nothing done. Once that transaction commits, the
events the change recorded are announced, and delivery is woken for the
activities it posted (an Accept, a Group's Announce).
"""

from __future__ import annotations

import logging

import orjson
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from myco_graph.domain import events
from myco_graph.domain.models import ReceivedActivity
from myco_graph.errors import (
    ActorMismatch,
    BadUserInput,
    Forbidden,
    MycoError,
    NotFound,
    RemoteError,
    RemoteInvalid,
    RemoteTooLarge,
    SignatureRefused,
)
from myco_graph.federation import delivery, lookups, signatures
from myco_graph.federation.handlers import (
    HANDLERS,
    Applied,
    Change,
    Context,
    nothing,
)
from myco_graph.federation.parse import Activity, parse_activity
from myco_graph.federation.signatures import InboundRequest

log = logging.getLogger(__name__)

# The status each refusal is answered with; the first matching class wins.
# A remote document we had to fetch and could not read, or too large, is the
# sender's fault (400); one we could not reach is worth a retry (502).
STATUS: tuple[tuple[type[MycoError], int], ...] = (
    (SignatureRefused, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (BadUserInput, 400),
    (RemoteInvalid, 400),
    (RemoteTooLarge, 400),
    (RemoteError, 502),
)


class _Duplicate(Exception):
    """Raised inside the recording transaction when the id was received already."""


def status_of(error: MycoError) -> int | None:
    """The HTTP status a refusal is answered with; None for our own failures."""
    for kind, status in STATUS:
        if isinstance(error, kind):
            return status
    return None


async def receive(request: InboundRequest, context: Context) -> None:
    """Checks, then processes once, the activity ``request`` carries."""
    activity = parse_activity(decode(request.body))
    key_id = signatures.parse_signature(request.header("signature")).key_id
    if await lookups.lookup_blocked(activity.actor, key_id):
        raise Forbidden("This instance is blocked here.")
    key = await lookups.lookup_signer(request, context.settings)
    if key.owner != activity.actor:
        raise ActorMismatch("The activity's actor is not the owner of the key.")

    if await ReceivedActivity.exists(activity_id=activity.id):
        log.debug("duplicate activity", extra={"activity_id": activity.id})
        return
    change = await handle(activity, context)
    applied = await record(activity, change)
    for event in applied.events:
        await events.announce(event)
    if applied.posted and not applied.events:
        await delivery.wake()


def decode(body: bytes) -> object:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise RemoteInvalid("The body is not valid JSON.") from exc


async def handle(activity: Activity, context: Context) -> Change:
    handler = HANDLERS.get(activity.type)
    if handler is None:
        log.info(
            "ignored activity of an unhandled type",
            extra={"activity_id": activity.id, "type": activity.type},
        )
        return nothing
    return await handler(activity, context)


async def record(activity: Activity, change: Change) -> Applied:
    """Records the activity as received and applies its change, both or neither."""
    try:
        async with in_transaction() as conn:
            try:
                await ReceivedActivity.create(
                    activity_id=activity.id,
                    actor=activity.actor,
                    type=activity.type,
                    using_db=conn,
                )
            except IntegrityError as exc:
                # The same activity, delivered twice at once: the other won.
                raise _Duplicate from exc
            applied = await change(conn)
    except _Duplicate:
        log.debug("duplicate activity", extra={"activity_id": activity.id})
        return Applied()
    log.debug(
        "activity received",
        extra={"activity_id": activity.id, "type": activity.type},
    )
    return applied
