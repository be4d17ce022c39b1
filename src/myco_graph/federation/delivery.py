"""Delivery: the outbox's activities sent to remote inboxes, signed, with retries.

:func:`.outbox.post` writes one PENDING delivery per inbox in the caller's
transaction. Once it commits, :func:`wake` enqueues one :func:`deliver_to_host`
job per remote host with fresh deliveries; :func:`sweep_deliveries` runs every
minute and enqueues a job for every host with due deliveries, so that a wake-up
lost with Redis or a worker, and every retry, is picked up anyway.

A job claims a host's due deliveries under a lease (``leased_until``), with
the host's row locked and ``FOR UPDATE SKIP LOCKED`` on PostgreSQL: two
workers never send the same delivery at once, no more than
``federation_host_parallelism`` POSTs are in flight to one host, and a crashed
worker's claim runs out by itself. To one inbox, a delivery waits while an
older delivery about the same object is pending there, so that an Update
never overtakes its Create.

What each answer does to a delivery is declared in :data:`RULES`; what it
does to its host, in :mod:`.breakers`. Each POST is signed by the activity's
signer (draft-cavage ``rsa-sha256`` with a Digest, see :mod:`.signatures`)
and sent to the address :func:`.fetch.resolve_target` checked.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import orjson
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q
from tortoise.functions import Count, Min
from tortoise.transactions import in_transaction

from myco_graph.domain import events
from myco_graph.domain.models import (
    ActorKind,
    BreakerState,
    Delivery,
    DeliveryState,
    Event,
    OutboxActivity,
    RemoteHost,
)
from myco_graph.errors import BackendUnavailable, FetchRefused, RemoteUnavailable
from myco_graph.federation import breakers
from myco_graph.federation.fetch import resolve_target
from myco_graph.federation.keys import KeyPair, lookup_actor_key
from myco_graph.federation.lookups import lookup_blocked
from myco_graph.federation.outcomes import (
    RULES,
    Change,
    Outcome,
    Result,
    outcome_of,
    transition,
)
from myco_graph.federation.signatures import SigningKey, sign_request
from myco_graph.federation.software import USER_AGENT
from myco_graph.federation.urls import Urls
from myco_graph.infrastructure import jobs
from myco_graph.infrastructure.config import Settings, installed_settings

log = logging.getLogger(__name__)

ACTIVITY_JSON = "application/activity+json"
# What is read of an inbox's answer: enough for a log line, never a flood.
MAX_RESPONSE_BYTES = 4_096
# How long a claim holds a delivery: well over one POST's timeout.
LEASE = timedelta(minutes=2)
# A job hands its host over to a fresh job after this long, so that a long
# backlog to one host never meets arq's job timeout half-way through a POST.
JOB_BUDGET_SECONDS = 120.0
# Deliveries created this long before an event still count as fresh for it.
WAKE_MARGIN = timedelta(seconds=30)

Clock = Callable[[], datetime]
Signer = tuple[ActorKind, int]


def utcnow() -> datetime:
    return datetime.now(UTC)


# Claiming --------------------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    """A delivery this worker holds under lease."""

    id: int
    activity_id: int
    inbox: str
    attempts: int
    last_status: int | None


async def claim(
    host: str, wanted: int, now: datetime, settings: Settings
) -> list[Claimed]:
    """Leases up to ``wanted`` of ``host``'s due deliveries to this worker.

    The host's row stays locked for the claim, so that claims for one host
    follow each other and the parallelism bound holds across workers.
    """
    return (await _claim(host, wanted, now, settings))[0]


async def _claim(
    host: str, wanted: int, now: datetime, settings: Settings
) -> tuple[list[Claimed], bool]:
    """The claimed deliveries, and whether the host may have more due now:
    False only when every due delivery found was taken."""
    if await lookup_blocked(f"//{host}"):
        await _fail_blocked(host)
        return [], False
    async with in_transaction() as conn:
        row = await breakers.locked_host(conn, host)
        in_flight = (
            await Delivery.filter(
                host=host, state=DeliveryState.PENDING, leased_until__gt=now
            )
            .using_db(conn)
            .count()
        )
        free = min(wanted, settings.federation_host_parallelism - in_flight)
        if free <= 0:
            return [], True
        admitted = await breakers.admit(conn, row, free, now)
        if admitted <= 0:
            return [], True
        candidates = await (
            Delivery.filter(
                Q(leased_until=None) | Q(leased_until__lte=now),
                host=host,
                state=DeliveryState.PENDING,
                next_attempt_at__lte=now,
            )
            .order_by("id")
            .limit(admitted * 4)
            .select_for_update(skip_locked=True)
            .using_db(conn)
        )
        firsts = await _first_of_their_object(conn, host, candidates)
        chosen = firsts[:admitted]
        await (
            Delivery.filter(id__in=[d.id for d in chosen])
            .using_db(conn)
            .update(leased_until=now + LEASE)
        )
    claimed = [
        Claimed(d.id, d.activity_id, d.inbox, d.attempts, d.last_status) for d in chosen
    ]
    # Held back by the breaker or by an older delivery of the same object,
    # or a full batch: more may be due once these are done.
    more = admitted < wanted or len(candidates) > len(chosen) or len(chosen) == wanted
    return claimed, more


async def _first_of_their_object(
    conn: BaseDBAsyncClient, host: str, candidates: list[Delivery]
) -> list[Delivery]:
    """The candidates with no older pending delivery of their object to their inbox."""
    if not candidates:
        return []
    firsts = await (
        Delivery.filter(
            host=host,
            state=DeliveryState.PENDING,
            object_id__in={d.object_id for d in candidates},
        )
        .annotate(first=Min("id"))
        .group_by("inbox", "object_id")
        .using_db(conn)
        .values("inbox", "object_id", "first")
    )
    first = {(r["inbox"], r["object_id"]): r["first"] for r in firsts}
    return [d for d in candidates if first.get((d.inbox, d.object_id)) == d.id]


async def _fail_blocked(host: str) -> None:
    """Gives up every pending delivery to a host an admin blocked after posting."""
    failed = await Delivery.filter(host=host, state=DeliveryState.PENDING).update(
        state=DeliveryState.FAILED, leased_until=None, last_error="instance blocked"
    )
    log.info(
        "deliveries to a blocked instance given up",
        extra={"remote_host": host, "deliveries": failed},
    )


# Sending ---------------------------------------------------------------------


@dataclass
class Outgoing:
    """What a job keeps of one activity while it sends it: its body and key."""

    activity_id: str
    body: bytes
    key: SigningKey


async def load_outgoing(activity_pk: int, pairs: dict[Signer, KeyPair]) -> Outgoing:
    """The activity's body and signing key; ``pairs`` keeps the keys of one job."""
    activity = await OutboxActivity.get(id=activity_pk)
    signer = (activity.signer_kind, activity.signer_id)
    pair = pairs.get(signer)
    if pair is None:
        pair = pairs[signer] = await lookup_actor_key(*signer)
    key = SigningKey(Urls.key_id(activity.document["actor"]), pair.private_pem)
    return Outgoing(activity.activity_id, orjson.dumps(activity.document), key)


async def send(
    client: httpx.AsyncClient,
    inbox: str,
    outgoing: Outgoing,
    settings: Settings,
    previous_status: int | None,
) -> Result:
    """POSTs the activity to the inbox, signed; the outcome, never an exception."""
    try:
        target = await resolve_target(
            inbox, allow_private=settings.federation_allow_private_addresses
        )
    except FetchRefused as exc:
        return Result(Outcome.FORBIDDEN, reason=exc.args[0])
    except RemoteUnavailable:
        return Result(Outcome.UNREACHABLE, reason="name not resolved")
    headers = {
        "content-type": ACTIVITY_JSON,
        "user-agent": USER_AGENT,
        "host": target.host,
    }
    headers |= sign_request(outgoing.key, "POST", target.url, outgoing.body)
    request = client.build_request(
        "POST",
        target.connect_url,
        content=outgoing.body,
        headers=headers,
        extensions=target.extensions,
    )
    try:
        async with asyncio.timeout(settings.federation_delivery_timeout_seconds):
            response = await client.send(request, stream=True)
            try:
                await _read_some(response)
            finally:
                await response.aclose()
    except (TimeoutError, httpx.TimeoutException):
        return Result(Outcome.UNREACHABLE, reason="timeout")
    except httpx.HTTPError as exc:
        return Result(Outcome.UNREACHABLE, reason=type(exc).__name__)
    status = response.status_code
    return Result(
        outcome_of(status, previous_status),
        status,
        reason=f"status {status}",
        retry_after=response.headers.get("retry-after"),
    )


async def _read_some(response: httpx.Response) -> None:
    # The answer is read (so that the connection can be reused) but not kept.
    read = 0
    async for chunk in response.aiter_raw():
        read += len(chunk)
        if read >= MAX_RESPONSE_BYTES:
            break


# Recording -------------------------------------------------------------------


async def record(
    claimed: Claimed, host: str, result: Result, now: datetime, settings: Settings
) -> Change:
    """Stores the attempt's outcome on the delivery and on its host's breaker."""
    attempts = claimed.attempts + 1
    change = transition(result, attempts, now)
    async with in_transaction() as conn:
        row = await breakers.locked_host(conn, host)
        await (
            Delivery.filter(id=claimed.id)
            .using_db(conn)
            .update(
                state=change.state,
                attempts=attempts,
                next_attempt_at=change.next_attempt_at,
                leased_until=None,
                last_status=result.status,
                last_error=result.reason[:200],
                delivered_at=now if change.state is DeliveryState.DELIVERED else None,
            )
        )
        await breakers.record(
            conn,
            row,
            RULES[result.outcome].host,
            now,
            settings.federation_breaker_threshold,
        )
    return change


# Jobs ------------------------------------------------------------------------


@functools.cache
def tls() -> ssl.SSLContext:
    """The TLS context of delivery clients, made once per process.

    Making one reads the whole CA bundle, some 50 ms of CPU: made per job, it
    cost more than the deliveries themselves.
    """
    return httpx.create_ssl_context(trust_env=False)


async def drain(host: str, settings: Settings, *, clock: Clock = utcnow) -> int:
    """Sends ``host``'s due deliveries until none is left; returns how many went.

    At most ``federation_host_parallelism`` are in flight at once; a host
    whose breaker opens on the way stops being claimed from.
    """
    timeout = httpx.Timeout(settings.federation_delivery_timeout_seconds)
    async with httpx.AsyncClient(
        timeout=timeout, follow_redirects=False, trust_env=False, verify=tls()
    ) as client:
        run = _HostRun(host, settings, clock, client)
        await run.drain()
    if run.out_of_time:
        await _enqueue([host])
    return run.attempted


class _HostRun:
    """One job's pass over one host: its HTTP client, bodies and keys."""

    def __init__(
        self, host: str, settings: Settings, clock: Clock, client: httpx.AsyncClient
    ) -> None:
        self.host = host
        self.settings = settings
        self.clock = clock
        self.client = client
        self.started = time.monotonic()
        self.attempted = 0
        self.outgoing: dict[int, Outgoing] = {}
        self.pairs: dict[Signer, KeyPair] = {}

    @property
    def out_of_time(self) -> bool:
        return time.monotonic() - self.started >= JOB_BUDGET_SECONDS

    async def drain(self) -> None:
        running: set[asyncio.Task[None]] = set()
        failure: BaseException | None = None
        # Once a claim took every due delivery it found, claiming again would
        # only cost a transaction: what is posted meanwhile wakes its own job.
        more = True
        while True:
            free = self.settings.federation_host_parallelism - len(running)
            if free > 0 and more and failure is None and not self.out_of_time:
                now = self.clock()
                claimed, more = await _claim(self.host, free, now, self.settings)
                for one in claimed:
                    running.add(asyncio.create_task(self.attempt(one)))
                    self.attempted += 1
            if not running:
                break
            done, running = await asyncio.wait(
                running, return_when=asyncio.FIRST_COMPLETED
            )
            # A bug or a lost database stops the claiming, but what is in
            # flight is let finish, so that its outcome is recorded.
            failure = failure or next(
                (t.exception() for t in done if t.exception()), None
            )
        if failure is not None:
            raise failure

    async def attempt(self, claimed: Claimed) -> None:
        outgoing = self.outgoing.get(claimed.activity_id)
        if outgoing is None:
            outgoing = await load_outgoing(claimed.activity_id, self.pairs)
            self.outgoing[claimed.activity_id] = outgoing
        result = await send(
            self.client, claimed.inbox, outgoing, self.settings, claimed.last_status
        )
        change = await record(claimed, self.host, result, self.clock(), self.settings)
        fields = {
            "remote_host": self.host,
            "activity_id": outgoing.activity_id,
            "status": result.status,
            "outcome": result.outcome.value,
            "state": change.state.value,
        }
        if result.outcome is Outcome.DELIVERED:
            log.debug("activity delivered", extra=fields)
        else:
            log.info("delivery not taken", extra=fields | {"reason": result.reason})


@jobs.job()
async def deliver_to_host(host: str) -> None:
    """Sends one remote host's due deliveries (a job per host, so that a dead
    or slow host holds only its own job)."""
    await drain(host, installed_settings())


async def due_hosts(now: datetime) -> list[str]:
    """Hosts with deliveries due now whose breaker lets them be tried."""
    due = await (
        Delivery.filter(
            Q(leased_until=None) | Q(leased_until__lte=now),
            state=DeliveryState.PENDING,
            next_attempt_at__lte=now,
        )
        .distinct()
        .values_list("host", flat=True)
    )
    hosts = {str(host) for host in due}
    waiting = await RemoteHost.filter(
        host__in=hosts, breaker=BreakerState.OPEN, probe_at__gt=now
    ).values_list("host", flat=True)
    return sorted(hosts - {str(host) for host in waiting})


@jobs.job(every=timedelta(minutes=1))
async def sweep_deliveries() -> None:
    """Wakes every host with due deliveries: retries, and wake-ups that were lost."""
    await _enqueue(await due_hosts(utcnow()))


async def wake(since: datetime | None = None) -> None:
    """Enqueues a job for each host with deliveries posted since ``since``.

    Called once the transaction that posted them has committed; code that
    posts outside a recorded domain event calls it itself. A queue that
    cannot be reached loses nothing: the sweeper finds the deliveries.
    """
    now = utcnow()
    since = since or now - WAKE_MARGIN
    hosts = await (
        Delivery.filter(
            state=DeliveryState.PENDING,
            leased_until=None,
            next_attempt_at__gte=since,
            next_attempt_at__lte=now,
        )
        .distinct()
        .values_list("host", flat=True)
    )
    await _enqueue(sorted({str(host) for host in hosts}))


async def _enqueue(hosts: list[str]) -> None:
    try:
        for host in hosts:
            await jobs.queue().enqueue(deliver_to_host, host=host)
    except BackendUnavailable:
        log.warning("deliveries not woken; the sweeper will send them")


async def announce_deliveries(event: Event) -> None:
    """Wakes delivery after every committed event, whose activities may be due."""
    await wake(event.created_at - WAKE_MARGIN)


events.announcers.append(announce_deliveries)


# What admins see ---------------------------------------------------------------


@dataclass(frozen=True)
class Backlog:
    """Undelivered deliveries: how many, and when the oldest was posted."""

    pending: int
    oldest_at: datetime | None


async def lookup_backlogs(hosts: list[str]) -> dict[str, Backlog]:
    """The backlog of each of ``hosts`` (absent when it has none), one query."""
    rows = (
        await Delivery.filter(host__in=hosts, state=DeliveryState.PENDING)
        .annotate(pending=Count("id"), oldest_at=Min("created_at"))
        .group_by("host")
        .values("host", "pending", "oldest_at")
    )
    return {row["host"]: Backlog(row["pending"], row["oldest_at"]) for row in rows}


async def lookup_backlog() -> Backlog:
    """The backlog of the whole instance, hosts never tried yet included."""
    row = (
        await Delivery.filter(state=DeliveryState.PENDING)
        .annotate(pending=Count("id"), oldest_at=Min("created_at"))
        .first()
        .values("pending", "oldest_at")
    )
    return Backlog(row["pending"], row["oldest_at"]) if row else Backlog(0, None)
