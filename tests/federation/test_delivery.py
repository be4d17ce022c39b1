"""Delivery: activities from the outbox to remote inboxes played on 127.0.0.1.

The sinks verify each POST's Digest and signature with the signer's public
key, as a remote instance would. Tests drive the job functions with a clock
of their own where retries are concerned, instead of sleeping through the
back-off.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from tortoise.transactions import in_transaction

from myco_graph.domain.models import (
    ActorKind,
    BlockedInstance,
    BreakerState,
    Delivery,
    DeliveryState,
    Event,
    RemoteHost,
)
from myco_graph.federation import delivery, outbox
from myco_graph.federation.keys import lookup_actor_key
from myco_graph.federation.outcomes import (
    MAX_RETRY_AFTER,
    RETRY_SCHEDULE,
    SOON,
    Outcome,
    Result,
)
from myco_graph.infrastructure import jobs
from myco_graph.infrastructure.config import Settings, install_settings
from tests.federation.conftest import changed
from tests.federation.sinks import Reply, Sinks, closed_port_host, serving_sinks
from tests.helpers import count_statements

ACTOR = "http://coop.test/users/alice"
SIGNER = (ActorKind.PERSON, 1)
_serial = itertools.count(1)


@pytest.fixture
def loopback(settings: Settings, database: None) -> Iterator[Settings]:
    """The process's settings, allowed to deliver to 127.0.0.1, with short waits."""
    local = changed(
        settings,
        federation_allow_private_addresses=True,
        federation_delivery_timeout_seconds=0.5,
        federation_breaker_threshold=3,
    )
    install_settings(local)
    yield local
    install_settings(settings)


@pytest.fixture
async def sinks(loopback: Settings) -> AsyncIterator[Sinks]:
    pair = await lookup_actor_key(*SIGNER)
    async with serving_sinks(3, {f"{ACTOR}#main-key": pair.public_pem}) as served:
        yield served


@pytest.fixture
def in_process() -> Iterator[jobs.InProcessJobs]:
    """Jobs run in this process for the test, whatever the suite's backend."""
    queue = jobs.InProcessJobs()
    saved = jobs.queue()
    jobs.install_queue(queue)
    yield queue
    jobs.install_queue(saved)


async def post(
    inboxes: list[str], *, object_id: str | None = None, kind: str = "Create"
) -> str:
    """Posts an activity by Alice to the inboxes, committed; returns its id."""
    activity_id = f"http://coop.test/activities/{next(_serial)}"
    document: dict[str, Any] = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": activity_id,
        "type": kind,
        "actor": ACTOR,
        "object": object_id or f"{activity_id}/object",
    }
    async with in_transaction() as conn:
        await outbox.post(
            conn,
            document,
            object_id=object_id or document["object"],
            signer=SIGNER,
            inboxes=inboxes,
        )
    return activity_id


def host(sinks: Sinks, index: int) -> str:
    return sinks.hosts[index]


async def only_delivery() -> Delivery:
    return await Delivery.get()


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        # A little ahead, so that what the test posts next is already due.
        self.now = datetime.now(UTC) + timedelta(seconds=5)

    def __call__(self) -> datetime:
        return self.now

    def to(self, moment: datetime) -> None:
        self.now = moment + timedelta(seconds=1)


# Delivered, signed, once ------------------------------------------------------


async def test_a_committed_activity_is_delivered_once_and_signed(
    sinks: Sinks, in_process: jobs.InProcessJobs
) -> None:
    activity_id = await post([sinks.inbox(0)])
    event = await Event.create(kind="message.created", account_id=None)

    await delivery.announce_deliveries(event)
    await in_process.drain()
    await delivery.sweep_deliveries()
    await in_process.drain()

    [hit] = sinks.hits
    assert (hit.activity_id, hit.key_id) == (activity_id, f"{ACTOR}#main-key")
    assert sinks.refused == []
    sent = await only_delivery()
    assert sent.state is DeliveryState.DELIVERED
    assert (sent.attempts, sent.last_status, sent.leased_until) == (1, 202, None)


async def test_an_instance_gets_one_copy_for_all_its_followers(
    sinks: Sinks, loopback: Settings
) -> None:
    await post([sinks.inbox(0)] * 3 + [sinks.inbox(1)])

    for index in (0, 1):
        await delivery.drain(host(sinks, index), loopback)

    assert [len(sinks.received(i)) for i in (0, 1, 2)] == [1, 1, 0]


async def test_an_update_waits_for_its_create_that_failed_once(
    sinks: Sinks, loopback: Settings
) -> None:
    clock = Clock()
    sinks.plan(0, Reply(503))
    note = "http://coop.test/notes/1"
    created = await post([sinks.inbox(0)], object_id=note)
    updated = await post([sinks.inbox(0)], object_id=note, kind="Update")
    other = await post([sinks.inbox(0)])

    await delivery.drain(host(sinks, 0), loopback, clock=clock)
    first_round = {hit.activity_id for hit in sinks.hits}
    clock.to(clock.now + RETRY_SCHEDULE[0] * 1.3)
    await delivery.drain(host(sinks, 0), loopback, clock=clock)

    assert first_round == {created, other}
    on_the_note = [h.activity_id for h in sinks.hits if h.activity_id != other]
    assert on_the_note == [created, created, updated]


# Retries and the answers of remote inboxes -------------------------------------


async def test_retries_follow_the_schedule_with_jitter_then_give_up(
    sinks: Sinks, loopback: Settings
) -> None:
    patient = changed(loopback, federation_breaker_threshold=100)
    clock = Clock()
    sinks.plan(0, *[Reply(500)] * (len(RETRY_SCHEDULE) + 1))
    await post([sinks.inbox(0)])

    for wait in RETRY_SCHEDULE:
        await delivery.drain(host(sinks, 0), patient, clock=clock)
        pending = await only_delivery()
        delay = pending.next_attempt_at - clock.now
        assert pending.state is DeliveryState.PENDING
        assert wait * 0.8 <= delay <= wait * 1.2
        clock.to(pending.next_attempt_at)
    await delivery.drain(host(sinks, 0), patient, clock=clock)

    given_up = await only_delivery()
    assert given_up.state is DeliveryState.FAILED
    assert given_up.attempts == len(RETRY_SCHEDULE) + 1
    assert len(sinks.hits) == len(RETRY_SCHEDULE) + 1


@pytest.mark.parametrize("status", [403, 404, 410, 400, 301])
async def test_a_refusal_is_final(
    sinks: Sinks, loopback: Settings, status: int
) -> None:
    sinks.plan(0, Reply(status))
    await post([sinks.inbox(0)])

    await delivery.drain(host(sinks, 0), loopback)

    failed = await only_delivery()
    assert (failed.state, failed.attempts, failed.last_status) == (
        DeliveryState.FAILED,
        1,
        status,
    )
    remote = await RemoteHost.get(host=host(sinks, 0))
    assert (remote.breaker, remote.total_failures) == (BreakerState.CLOSED, 1)


async def test_a_401_is_tried_again_soon_and_only_once(
    sinks: Sinks, loopback: Settings
) -> None:
    clock = Clock()
    sinks.plan(0, Reply(401), Reply(401))
    await post([sinks.inbox(0)])

    await delivery.drain(host(sinks, 0), loopback, clock=clock)
    retried = await only_delivery()
    clock.to(retried.next_attempt_at)
    await delivery.drain(host(sinks, 0), loopback, clock=clock)

    assert retried.state is DeliveryState.PENDING
    assert retried.next_attempt_at - (clock.now - timedelta(seconds=1)) <= SOON
    failed = await only_delivery()
    assert (failed.state, failed.attempts) == (DeliveryState.FAILED, 2)


@pytest.mark.parametrize("status", [408, 429])
async def test_throttling_is_honoured_in_seconds_and_as_a_date(
    sinks: Sinks, loopback: Settings, status: int
) -> None:
    clock = Clock()
    later = clock.now + timedelta(minutes=45)
    sinks.plan(
        0,
        Reply(status, {"retry-after": "120"}),
        Reply(status, {"retry-after": format_datetime(later, usegmt=True)}),
    )
    await post([sinks.inbox(0)])

    await delivery.drain(host(sinks, 0), loopback, clock=clock)
    first = await only_delivery()
    first_wait = first.next_attempt_at - clock.now
    clock.to(first.next_attempt_at)
    await delivery.drain(host(sinks, 0), loopback, clock=clock)
    second = await only_delivery()

    assert first_wait == timedelta(seconds=120)
    assert abs(second.next_attempt_at - later) < timedelta(seconds=1)
    assert second.state is DeliveryState.PENDING


async def test_a_retry_after_of_a_month_is_cut_to_hours(
    sinks: Sinks, loopback: Settings
) -> None:
    clock = Clock()
    sinks.plan(0, Reply(429, {"retry-after": str(30 * 24 * 3600)}))
    await post([sinks.inbox(0)])

    await delivery.drain(host(sinks, 0), loopback, clock=clock)

    wait = (await only_delivery()).next_attempt_at - clock.now
    assert wait == MAX_RETRY_AFTER


# Claims ------------------------------------------------------------------------


async def test_claims_never_overlap_and_respect_the_host_bound(
    sinks: Sinks, loopback: Settings
) -> None:
    for _ in range(10):
        await post([sinks.inbox(0)])
    now = datetime.now(UTC)

    first, second = await asyncio.gather(
        delivery.claim(host(sinks, 0), 10, now, loopback),
        delivery.claim(host(sinks, 0), 10, now, loopback),
    )
    after_lease = await delivery.claim(
        host(sinks, 0), 10, now + delivery.LEASE + timedelta(seconds=1), loopback
    )

    assert len(first) + len(second) == loopback.federation_host_parallelism
    assert not {d.id for d in first} & {d.id for d in second}
    assert len(after_lease) == loopback.federation_host_parallelism


# Circuit breakers ---------------------------------------------------------------


async def test_the_breaker_opens_after_failures_then_a_probe_revives_the_host(
    sinks: Sinks, loopback: Settings
) -> None:
    clock = Clock()
    sinks.plan(0, *[Reply(503)] * 3)
    single = changed(loopback, federation_host_parallelism=1)
    for _ in range(5):
        await post([sinks.inbox(0)])

    await delivery.drain(host(sinks, 0), single, clock=clock)
    opened = await RemoteHost.get(host=host(sinks, 0))
    # Before the probe time, the two deliveries never tried stay untried.
    clock.to(clock.now + timedelta(seconds=30))
    await delivery.drain(host(sinks, 0), single, clock=clock)
    untouched = len(sinks.hits)
    assert opened.probe_at is not None
    clock.to(opened.probe_at + RETRY_SCHEDULE[0] * 1.3)
    await delivery.drain(host(sinks, 0), single, clock=clock)

    assert (opened.breaker, opened.consecutive_failures) == (BreakerState.OPEN, 3)
    assert untouched == 3
    closed = await RemoteHost.get(host=host(sinks, 0))
    assert (closed.breaker, closed.consecutive_failures) == (BreakerState.CLOSED, 0)
    assert await Delivery.filter(state=DeliveryState.DELIVERED).count() == 5


async def test_a_failed_probe_opens_the_breaker_for_longer(
    loopback: Settings, sinks: Sinks
) -> None:
    clock = Clock()
    dead = closed_port_host()
    for _ in range(4):
        await post([f"http://{dead}/inbox"])

    await delivery.drain(dead, loopback, clock=clock)
    first = await RemoteHost.get(host=dead)
    assert first.probe_at is not None
    clock.to(max(first.probe_at, clock.now + RETRY_SCHEDULE[0] * 1.3))
    await delivery.drain(dead, loopback, clock=clock)
    second = await RemoteHost.get(host=dead)

    assert first.breaker is BreakerState.OPEN
    assert second.breaker is BreakerState.OPEN
    assert second.probe_at is not None
    assert second.probe_at - clock.now > first.probe_at - first.last_failure_at  # type: ignore[operator]
    assert second.consecutive_failures == 5
    assert await Delivery.filter(attempts=0).count() == 0


async def test_a_dead_or_slow_host_does_not_delay_the_others(
    sinks: Sinks, loopback: Settings, in_process: jobs.InProcessJobs
) -> None:
    timeout = 2.0
    install_settings(changed(loopback, federation_delivery_timeout_seconds=timeout))
    sinks.plan(1, *[Reply(202, delay=5.0)] * 4)
    dead = closed_port_host()
    for _ in range(4):
        await post([f"http://{dead}/inbox", sinks.inbox(1), sinks.inbox(0)])

    started = time.monotonic()
    await delivery.wake()
    await in_process.drain()
    assert len(sinks.received(0)) == 4
    healthy_took = max(hit.at for hit in sinks.received(0)) - started

    assert healthy_took < timeout
    remote = await RemoteHost.get(host=dead)
    assert remote.breaker is BreakerState.OPEN
    slow = await Delivery.filter(host=host(sinks, 1)).values_list("state", flat=True)
    assert set(slow) == {DeliveryState.PENDING}


# The sweeper and blocks ---------------------------------------------------------


async def test_the_sweeper_sends_what_a_lost_job_left_behind(
    sinks: Sinks, in_process: jobs.InProcessJobs
) -> None:
    await post([sinks.inbox(0)])
    await post([sinks.inbox(1)])
    # A worker died holding this one: its lease ran out a minute ago.
    await Delivery.filter(host=host(sinks, 1)).update(
        leased_until=datetime.now(UTC) - timedelta(minutes=1)
    )

    await delivery.sweep_deliveries()
    await in_process.drain()

    assert [len(sinks.received(i)) for i in (0, 1)] == [1, 1]
    assert await Delivery.filter(state=DeliveryState.DELIVERED).count() == 2


async def test_the_sweeper_leaves_a_held_lease_alone(
    sinks: Sinks, in_process: jobs.InProcessJobs
) -> None:
    await post([sinks.inbox(0)])
    await Delivery.all().update(leased_until=datetime.now(UTC) + timedelta(minutes=1))

    await delivery.sweep_deliveries()
    await in_process.drain()

    assert sinks.hits == []


async def test_an_instance_blocked_after_posting_gets_nothing(
    sinks: Sinks, loopback: Settings
) -> None:
    await post([sinks.inbox(0)])
    await BlockedInstance.create(domain="127.0.0.1")

    await delivery.drain(host(sinks, 0), loopback)

    assert sinks.hits == []
    failed = await only_delivery()
    assert (failed.state, failed.attempts, failed.last_error) == (
        DeliveryState.FAILED,
        0,
        "instance blocked",
    )


async def test_a_private_address_is_never_delivered_to_unless_allowed(
    sinks: Sinks, settings: Settings
) -> None:
    await post([sinks.inbox(0)])

    await delivery.drain(host(sinks, 0), settings)

    assert sinks.hits == []
    refused = await only_delivery()
    assert refused.state is DeliveryState.FAILED


# Many hosts at once -------------------------------------------------------------


async def statements_of(work: Any) -> int:
    with count_statements() as counter:
        await work
    return counter.count


async def test_a_claim_for_many_hosts_costs_what_a_claim_for_one_does(
    sinks: Sinks, loopback: Settings
) -> None:
    await post([sinks.inbox(i) for i in range(3)])
    await post([sinks.inbox(i) for i in range(3)])
    hosts = [host(sinks, i) for i in range(3)]
    now = datetime.now(UTC)
    first, _ = await delivery.claim_many(dict.fromkeys(hosts, 1), now, loopback)

    one = await statements_of(delivery.claim_many({hosts[0]: 4}, now, loopback))
    two = await statements_of(
        delivery.claim_many(dict.fromkeys(hosts[1:], 4), now, loopback)
    )

    # SQLite, which has no LATERAL join, reads the candidates of each host apart.
    extra = 0 if loopback.uses_postgres else 1
    assert two == one + extra
    assert {h: len(c) for h, c in first.items()} == dict.fromkeys(hosts, 1)
    leased = await Delivery.filter(leased_until__isnull=False).count()
    assert leased == 6


async def test_outcomes_of_many_hosts_are_recorded_together(
    sinks: Sinks, loopback: Settings
) -> None:
    await post([sinks.inbox(i) for i in range(3)])
    hosts = [host(sinks, i) for i in range(3)]
    claimed, _ = await delivery.claim_many(
        dict.fromkeys(hosts, 1), datetime.now(UTC), loopback
    )
    attempts = [
        (claims[0], Result(Outcome.DELIVERED, 202, reason="status 202"))
        for claims in claimed.values()
    ]
    now = datetime.now(UTC)

    one = await statements_of(delivery.record(attempts[:1], now, loopback))
    two = await statements_of(delivery.record(attempts[1:], now, loopback))

    assert one == two
    states = await Delivery.all().values_list("state", flat=True)
    assert set(states) == {DeliveryState.DELIVERED}
    rows = await RemoteHost.filter(host__in=hosts).values_list(
        "last_success_at", flat=True
    )
    assert None not in rows and len(rows) == 3


async def test_a_job_starts_on_every_host_of_a_fan_out_at_once(
    sinks: Sinks, loopback: Settings
) -> None:
    for index in range(3):
        sinks.plan(index, Reply(202, delay=0.3))
    await post([sinks.inbox(i) for i in range(3)])

    started = time.monotonic()
    sent = await delivery.drain_hosts([host(sinks, i) for i in range(3)], loopback)
    took = time.monotonic() - started

    assert sent == 3
    assert took < 0.3 * 2
    assert await Delivery.filter(state=DeliveryState.DELIVERED).count() == 3
