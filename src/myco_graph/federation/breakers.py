"""The circuit breaker of each remote host, as a declared state machine.

A host that fails delivery after delivery (refused connections, timeouts,
5xx) would otherwise hold worker time on every retry. After
``federation_breaker_threshold`` failures in a row its breaker opens: no
delivery to it is attempted until ``probe_at``. Then one delivery goes as a
probe (half open): any answer from the host closes the breaker, another
failure opens it again for longer. Deliveries waiting behind an open breaker
keep their attempts; they go out once it closes.

::

    closed ──N failures in a row──▶ open ──probe_at passed──▶ half_open
       ▲                                ▲                        │
       └──────────── answer ────────────┼────────────────────────┤
                                        └──────── failure ───────┘

The functions here run inside the claim or outcome transaction of
:mod:`.delivery`, on the hosts' rows locked for that transaction; the
outcome's moves are made on the rows, which the transaction saves together.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from enum import StrEnum

from tortoise.backends.base.client import BaseDBAsyncClient

from myco_graph.domain.models import BreakerState, RemoteHost

# How long an opened breaker waits before its probe, by how many times it has
# opened in a row; the last wait repeats.
OPEN_WAITS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=6),
)
# A probe whose worker died would leave the breaker half open for ever: after
# this long another probe may go.
PROBE_LEASE = timedelta(minutes=2)

TRANSITIONS: dict[BreakerState, frozenset[BreakerState]] = {
    BreakerState.CLOSED: frozenset({BreakerState.CLOSED, BreakerState.OPEN}),
    # An attempt sent before the breaker opened may still answer: that closes it.
    BreakerState.OPEN: frozenset(
        {BreakerState.OPEN, BreakerState.HALF_OPEN, BreakerState.CLOSED}
    ),
    BreakerState.HALF_OPEN: frozenset(
        {BreakerState.HALF_OPEN, BreakerState.OPEN, BreakerState.CLOSED}
    ),
}


class HostEffect(StrEnum):
    """What one delivery attempt tells of its host."""

    # The host took the activity.
    DELIVERED = "delivered"
    # The host answered but refused it (a 4xx): alive, yet a failure to count.
    REFUSED = "refused"
    # No connection, no answer in time, or a 5xx.
    FAILED = "failed"
    # Nothing was sent (a blocked instance): the host is not judged.
    NONE = "none"


# What an outcome may change of a host's row.
RECORDED = (
    "breaker",
    "probe_at",
    "consecutive_failures",
    "total_failures",
    "last_failure_at",
    "last_success_at",
)


async def locked_hosts(
    conn: BaseDBAsyncClient, hosts: Iterable[str]
) -> dict[str, RemoteHost]:
    """The hosts' rows, created if new, locked until ``conn``'s transaction ends.

    Locked in the order of their names, so that two workers locking some of
    the same hosts wait for each other rather than deadlock.
    """
    wanted = sorted(set(hosts))
    locking = RemoteHost.select_for_update().using_db(conn).order_by("host")
    rows = {row.host: row for row in await locking.filter(host__in=wanted)}
    missing = [host for host in wanted if host not in rows]
    if missing:
        await RemoteHost.bulk_create(
            [RemoteHost(host=host) for host in missing],
            ignore_conflicts=True,
            using_db=conn,
        )
        rows = {row.host: row for row in await locking.filter(host__in=wanted)}
    return rows


async def save(conn: BaseDBAsyncClient, rows: Iterable[RemoteHost]) -> None:
    """Saves what outcomes changed on locked rows, in one statement."""
    changed = list(rows)
    if changed:
        await RemoteHost.bulk_update(changed, fields=RECORDED, using_db=conn)


async def admit(
    conn: BaseDBAsyncClient, row: RemoteHost, wanted: int, now: datetime
) -> int:
    """How many of ``wanted`` deliveries the breaker lets go to the host now."""
    if row.breaker is BreakerState.CLOSED:
        return wanted
    if row.probe_at is not None and row.probe_at > now:
        return 0
    _move(row, BreakerState.HALF_OPEN, probe_at=now + PROBE_LEASE)
    await row.save(update_fields=["breaker", "probe_at"], using_db=conn)
    return min(wanted, 1)


def record(row: RemoteHost, effect: HostEffect, now: datetime, threshold: int) -> bool:
    """Moves the host's breaker and counters after one attempt, on the row.

    Returns whether the row changed (and so is to be saved).
    """
    if effect is HostEffect.NONE:
        return False
    if effect is not HostEffect.DELIVERED:
        row.total_failures += 1
        row.last_failure_at = now
    if effect is not HostEffect.FAILED:
        row.consecutive_failures = 0
        if effect is HostEffect.DELIVERED:
            row.last_success_at = now
        _move(row, BreakerState.CLOSED, probe_at=None)
        return True
    row.consecutive_failures += 1
    opened = row.consecutive_failures - threshold
    if row.breaker is BreakerState.HALF_OPEN or opened >= 0:
        wait = OPEN_WAITS[min(max(opened, 0), len(OPEN_WAITS) - 1)]
        _move(row, BreakerState.OPEN, probe_at=now + wait)
    return True


def _move(row: RemoteHost, state: BreakerState, *, probe_at: datetime | None) -> None:
    if state not in TRANSITIONS[row.breaker]:
        raise ValueError(f"a breaker cannot go from {row.breaker} to {state}")
    row.breaker = state
    row.probe_at = probe_at
