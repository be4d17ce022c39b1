"""The outbox: the activities this instance sends, and one delivery per inbox.

:func:`post` writes an activity and its deliveries inside the caller's
transaction, so that a change and the activities it causes commit together
or not at all. Nothing is sent from here: :mod:`.delivery` sends what is due,
woken once the transaction is committed, and by its sweeper
should that wake-up be lost.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from tortoise.backends.base.client import BaseDBAsyncClient

from myco_graph.domain.models import (
    ActorKind,
    BlockedInstance,
    Delivery,
    DeliveryState,
    OutboxActivity,
)
from myco_graph.federation.lookups import blockable_domains

log = logging.getLogger(__name__)


def host_of(inbox: str) -> str:
    """The host an inbox is delivered to, with its port: breakers count per host."""
    return urlsplit(inbox).netloc.lower()


def distinct_inboxes(inboxes: Iterable[str | None]) -> list[str]:
    """The inboxes to deliver to, each once, in first-seen order.

    Callers pass each recipient's shared inbox when it has one, so that an
    instance with many recipients receives one copy.
    """
    return list(dict.fromkeys(inbox for inbox in inboxes if inbox))


async def post(
    conn: BaseDBAsyncClient,
    document: dict[str, Any],
    *,
    object_id: str,
    signer: tuple[ActorKind, int],
    inboxes: Iterable[str | None],
) -> OutboxActivity:
    """Writes ``document`` to the outbox with a delivery to each inbox, in ``conn``.

    Inboxes of blocked instances get no delivery. ``object_id`` is the object
    the activity is about: to one inbox, activities on the same object are
    delivered in the order they were posted.
    """
    activity = await OutboxActivity.create(
        activity_id=document["id"],
        type=document["type"],
        object_id=object_id,
        signer_kind=signer[0],
        signer_id=signer[1],
        document=document,
        using_db=conn,
    )
    targets = await _unblocked(conn, distinct_inboxes(inboxes))
    now = datetime.now(UTC)
    await Delivery.bulk_create(
        [
            Delivery(
                activity_id=activity.id,
                inbox=inbox,
                host=host_of(inbox),
                object_id=object_id,
                state=DeliveryState.PENDING,
                next_attempt_at=now,
            )
            for inbox in targets
        ],
        using_db=conn,
    )
    log.debug(
        "activity posted",
        extra={"activity_id": document["id"], "deliveries": len(targets)},
    )
    return activity


async def _unblocked(conn: BaseDBAsyncClient, inboxes: list[str]) -> list[str]:
    domains = {domain for inbox in inboxes for domain in blockable_domains(inbox)}
    if not domains:
        return inboxes
    blocked = set(
        await BlockedInstance.filter(domain__in=domains)
        .using_db(conn)
        .values_list("domain", flat=True)
    )
    if not blocked:
        return inboxes
    return [inbox for inbox in inboxes if blocked.isdisjoint(blockable_domains(inbox))]
