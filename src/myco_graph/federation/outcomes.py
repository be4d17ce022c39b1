"""What one delivery attempt comes to, as a declared state machine.

A delivery is PENDING until it is DELIVERED or given up (FAILED); those two
are final. Each attempt ends in an :class:`Outcome`; :data:`RULES` says which
state it leads to, when a delivery that stays pending is tried again, and
what the attempt tells of the host's circuit breaker (:mod:`.breakers`).

=============  =========  ==================  ===================
outcome        state      next attempt        host
=============  =========  ==================  ===================
delivered      delivered  -                   delivered
unreachable    pending    retry schedule      failed
unauthorized   pending    soon, once          refused
throttled      pending    Retry-After         refused
refused        failed     -                   refused
forbidden      failed     -                   not judged
=============  =========  ==================  ===================

A pending delivery that fails after the last wait of the retry schedule is
given up.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum

from myco_graph.domain.models import DeliveryState
from myco_graph.federation.breakers import HostEffect

TRANSITIONS: dict[DeliveryState, frozenset[DeliveryState]] = {
    DeliveryState.PENDING: frozenset(DeliveryState),
    DeliveryState.DELIVERED: frozenset(),
    DeliveryState.FAILED: frozenset(),
}


class Outcome(StrEnum):
    """What one delivery attempt came to."""

    DELIVERED = "delivered"
    # No connection, no answer in time, or a 5xx.
    UNREACHABLE = "unreachable"
    # A 401: the receiver may hold a stale copy of our key. Tried again once.
    UNAUTHORIZED = "unauthorized"
    # A 408 or 429: tried again when Retry-After says.
    THROTTLED = "throttled"
    # Any other 4xx or 3xx, a 410, or a second 401: final.
    REFUSED = "refused"
    # An address we never connect to, or an instance an admin blocked.
    FORBIDDEN = "forbidden"


class Wait(StrEnum):
    """When a delivery that goes on is tried again."""

    SCHEDULE = "schedule"
    SOON = "soon"
    RETRY_AFTER = "retry_after"


@dataclass(frozen=True)
class Rule:
    """Where an outcome takes a delivery, and what it tells of the host."""

    state: DeliveryState
    wait: Wait | None
    host: HostEffect


RULES: dict[Outcome, Rule] = {
    Outcome.DELIVERED: Rule(DeliveryState.DELIVERED, None, HostEffect.DELIVERED),
    Outcome.UNREACHABLE: Rule(DeliveryState.PENDING, Wait.SCHEDULE, HostEffect.FAILED),
    Outcome.UNAUTHORIZED: Rule(DeliveryState.PENDING, Wait.SOON, HostEffect.REFUSED),
    Outcome.THROTTLED: Rule(
        DeliveryState.PENDING, Wait.RETRY_AFTER, HostEffect.REFUSED
    ),
    Outcome.REFUSED: Rule(DeliveryState.FAILED, None, HostEffect.REFUSED),
    Outcome.FORBIDDEN: Rule(DeliveryState.FAILED, None, HostEffect.NONE),
}
# Waits before each retry; a delivery that fails once more after the last is
# given up, some four days after it was posted (Mastodon gives up after about
# a week, Lemmy after a few days).
RETRY_SCHEDULE = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=6),
    timedelta(hours=12),
    timedelta(hours=24),
    timedelta(hours=24),
    timedelta(hours=24),
)
# Each wait is spread by this share either way, so that the deliveries of a
# host that was down do not all come back in the same second.
JITTER = 0.2
SOON = timedelta(minutes=1)
MAX_RETRY_AFTER = timedelta(hours=6)


@dataclass(frozen=True)
class Result:
    """One attempt: its outcome, the HTTP status if any, and a short reason."""

    outcome: Outcome
    status: int | None = None
    reason: str = ""
    retry_after: str | None = None


@dataclass(frozen=True)
class Change:
    """The new state of a delivery after an attempt."""

    state: DeliveryState
    next_attempt_at: datetime


def outcome_of(status: int, previous_status: int | None) -> Outcome:
    """The outcome of an HTTP answer; ``previous_status`` is the last attempt's."""
    if 200 <= status < 300:
        return Outcome.DELIVERED
    if status >= 500:
        return Outcome.UNREACHABLE
    if status == 401:
        return Outcome.REFUSED if previous_status == 401 else Outcome.UNAUTHORIZED
    if status in (408, 429):
        return Outcome.THROTTLED
    return Outcome.REFUSED


def transition(
    result: Result,
    attempts: int,
    now: datetime,
    rng: random.Random | None = None,
) -> Change:
    """Where a delivery goes after its ``attempts``-th attempt ended in ``result``."""
    rule = RULES[result.outcome]
    if rule.state is not DeliveryState.PENDING:
        return Change(rule.state, now)
    if attempts > len(RETRY_SCHEDULE):
        return Change(DeliveryState.FAILED, now)
    scheduled = RETRY_SCHEDULE[attempts - 1]
    spread = (rng or random).uniform(1 - JITTER, 1 + JITTER)
    wait = scheduled * spread
    if rule.wait is Wait.SOON:
        wait = SOON
    elif rule.wait is Wait.RETRY_AFTER:
        wait = retry_after(result.retry_after, now) or wait
    return Change(DeliveryState.PENDING, now + wait)


def retry_after(value: str | None, now: datetime) -> timedelta | None:
    """The wait a Retry-After header asks for (seconds or an HTTP date), bounded."""
    if value is None:
        return None
    value = value.strip()
    try:
        wait = (
            timedelta(seconds=int(value))
            if value.isdigit()
            else parsedate_to_datetime(value) - now
        )
    except (TypeError, ValueError, OverflowError):
        return None
    return min(max(wait, timedelta(seconds=1)), MAX_RETRY_AFTER)
