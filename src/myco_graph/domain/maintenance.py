"""Periodic upkeep: retention rules for growing tables, and unnamed file bytes."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from myco_graph.domain import accounts, files
from myco_graph.domain.models import Event, ReceivedActivity
from myco_graph.infrastructure.config import installed_settings
from myco_graph.infrastructure.jobs import job
from myco_graph.infrastructure.storage import storage_for

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
# Bytes younger than this may be an upload whose row is not committed yet.
ORPHAN_GRACE = timedelta(hours=1)


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


@job(every=timedelta(hours=6))
async def sweep_orphaned_file_bytes() -> None:
    """Deletes stored bytes that no file row names (see files.sweep_orphans)."""
    storage = storage_for(installed_settings())
    await files.sweep_orphans(storage, time.time() - ORPHAN_GRACE.total_seconds())
