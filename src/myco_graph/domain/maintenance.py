"""Periodic upkeep: retention rules for the tables that only grow."""

from __future__ import annotations

import logging
from datetime import timedelta

from myco_graph.domain import accounts
from myco_graph.domain.models import Event, ReceivedActivity
from myco_graph.infrastructure.jobs import job

log = logging.getLogger(__name__)

# Expired and revoked tokens are kept a week so that a client still gets
# "expired" or "revoked" rather than "not valid" for a while.
TOKEN_RETENTION = timedelta(days=7)
# Events only feed live subscriptions and deliveries; a month covers retries.
EVENT_RETENTION = timedelta(days=30)
# Inboxes process an activity id once. Senders stop retrying a failed
# delivery within days; ids are kept a week, so that a late retry is still
# recognised as one.
RECEIVED_ACTIVITY_RETENTION = timedelta(days=7)


@job(every=timedelta(hours=1))
async def purge_stale_rows() -> None:
    tokens = await accounts.purge_tokens(older_than=TOKEN_RETENTION)
    events = await Event.filter(
        created_at__lt=accounts.now() - EVENT_RETENTION
    ).delete()
    log.info("purged stale rows", extra={"tokens": tokens, "events": events})


@job(every=timedelta(hours=1))
async def purge_received_activities() -> None:
    """Forgets the ids of activities inboxes received more than a week ago."""
    purged = await ReceivedActivity.filter(
        received_at__lt=accounts.now() - RECEIVED_ACTIVITY_RETENTION
    ).delete()
    log.info("purged received activity ids", extra={"count": purged})
