"""Delivery: the outbox's activities sent to remote inboxes, signed, with retries.

:func:`.outbox.post` writes one PENDING delivery per inbox in the caller's
transaction. Once it commits, :func:`wake` enqueues :func:`deliver_to_hosts`
jobs for the remote hosts with fresh deliveries (up to ``HOSTS_PER_JOB``
each); :func:`sweep_deliveries` runs every minute and does the same for every
host with due deliveries, so that a wake-up lost with Redis or a worker, and
every retry, is picked up anyway.

A job drives each of its hosts as a lane of its own. It claims due
deliveries under a lease (``leased_until``), with the hosts' rows locked and
``FOR UPDATE SKIP LOCKED`` on PostgreSQL: two workers never send the same
delivery at once, no more than ``federation_host_parallelism`` POSTs are in
flight to one host, and a crashed worker's claim runs out by itself. Claims
and outcomes are written for all the lanes together, a few statements each
whatever the number of hosts, so that a fan-out to a hundred instances costs
the database about what one delivery does. To one inbox, a delivery waits while an
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
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
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
from myco_graph.federation.lookups import lookup_blocked_hosts
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
# A job hands its hosts over to a fresh job after this long, so that a long
# backlog never meets arq's job timeout half-way through a POST.
JOB_BUDGET_SECONDS = 120.0
# The hosts one job drives, and how many POSTs it has in flight at most,
# whatever their hosts' own bounds allow.
HOSTS_PER_JOB = 100
JOB_CONCURRENCY = 100
# How long a job waits for more answers to record together with one.
RECORD_WINDOW = 0.005
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
    host: str
    object_id: str
    attempts: int
    last_status: int | None


async def claim(
    host: str, wanted: int, now: datetime, settings: Settings
) -> list[Claimed]:
    """Leases up to ``wanted`` of ``host``'s due deliveries to this worker."""
    claimed, _ = await claim_many({host: wanted}, now, settings)
    return claimed.get(host, [])


async def claim_many(
    wanted: Mapping[str, int], now: datetime, settings: Settings
) -> tuple[dict[str, list[Claimed]], set[str]]:
    """Leases due deliveries of several hosts at once, up to ``wanted`` of each.

    Returns the claims by host, and the hosts that may have more due now:
    those held back by their parallelism bound or their breaker, and those
    with due deliveries left unclaimed (more than wanted, or waiting for an
    older delivery of their object). The hosts' rows stay locked for
    the claim, so that claims for one host follow each other and the bound
    holds across workers; a statement does each step for all the hosts.
    """
    blocked = await lookup_blocked_hosts(wanted)
    if blocked:
        await _fail_blocked(blocked)
    hosts = sorted(set(wanted) - blocked)
    if not hosts:
        return {}, set()
    more: set[str] = set()
    async with in_transaction() as conn:
        rows = await breakers.locked_hosts(conn, hosts)
        in_flight = await _in_flight(conn, hosts, now)
        admitted: dict[str, int] = {}
        for host in hosts:
            free = min(
                wanted[host],
                settings.federation_host_parallelism - in_flight.get(host, 0),
            )
            if free <= 0:
                more.add(host)
                continue
            # An open breaker admits nothing until its probe: the sweeper
            # wakes the host then.
            allowed = await breakers.admit(conn, rows[host], free, now)
            if allowed > 0:
                admitted[host] = allowed
        if not admitted:
            return {}, more
        candidates = await _candidates(conn, admitted, now)
        firsts = await _first_of_their_object(conn, candidates)
        chosen: dict[str, list[Claimed]] = {}
        for host, allowed in admitted.items():
            found = candidates.get(host, [])
            chosen[host] = [c for c in found if c.id in firsts][:allowed]
            # Candidates are read four times what is admitted: some left
            # means some due.
            if allowed < wanted[host] or len(found) > len(chosen[host]):
                more.add(host)
        leased = [c.id for claims in chosen.values() for c in claims]
        if leased:
            await (
                Delivery.filter(id__in=leased)
                .using_db(conn)
                .update(leased_until=now + LEASE)
            )
    return chosen, more


async def _in_flight(
    conn: BaseDBAsyncClient, hosts: list[str], now: datetime
) -> dict[str, int]:
    """How many deliveries to each host some worker holds under lease now."""
    rows = (
        await Delivery.filter(
            host__in=hosts, state=DeliveryState.PENDING, leased_until__gt=now
        )
        .annotate(count=Count("id"))
        .group_by("host")
        .using_db(conn)
        .values_list("host", "count")
    )
    return {str(host): int(count) for host, count in rows}


# The due deliveries of each host, oldest first, up to a number per host,
# skipping those another worker is claiming: one statement for all the hosts.
CANDIDATES_POSTGRES = """
SELECT d.id, d.activity_id, d.inbox, d.host, d.object_id, d.attempts, d.last_status
FROM unnest($1::text[], $2::int[]) AS wanted(host, count)
CROSS JOIN LATERAL (
    SELECT id, activity_id, inbox, host, object_id, attempts, last_status
    FROM {table}
    WHERE host = wanted.host AND state = $3 AND next_attempt_at <= $4
        AND (leased_until IS NULL OR leased_until <= $4)
    ORDER BY id
    LIMIT wanted.count
    FOR UPDATE SKIP LOCKED
) AS d
"""


async def _candidates(
    conn: BaseDBAsyncClient, admitted: Mapping[str, int], now: datetime
) -> dict[str, list[Claimed]]:
    """Up to four times as many due deliveries per host as it admits.

    More than admitted, because some wait for an older delivery of their
    object to the same inbox.
    """
    hosts = sorted(admitted)
    limits = [admitted[host] * 4 for host in hosts]
    if conn.capabilities.dialect == "postgres":
        sql = CANDIDATES_POSTGRES.format(table=Delivery._meta.db_table)
        _, locked = await conn.execute_query(
            sql, [hosts, limits, DeliveryState.PENDING.value, now]
        )
        found = [Claimed(*row) for row in locked]
    else:
        # SQLite has neither LATERAL nor row locks; one process owns it.
        found = []
        for host, limit in zip(hosts, limits, strict=True):
            rows = await (
                Delivery.filter(
                    Q(leased_until=None) | Q(leased_until__lte=now),
                    host=host,
                    state=DeliveryState.PENDING,
                    next_attempt_at__lte=now,
                )
                .order_by("id")
                .limit(limit)
                .using_db(conn)
                .values_list(*CLAIMED_COLUMNS)
            )
            found += [Claimed(*row) for row in rows]
    by_host: dict[str, list[Claimed]] = defaultdict(list)
    for claimed in sorted(found, key=lambda c: c.id):
        by_host[claimed.host].append(claimed)
    return by_host


CLAIMED_COLUMNS = (
    "id",
    "activity_id",
    "inbox",
    "host",
    "object_id",
    "attempts",
    "last_status",
)


async def _first_of_their_object(
    conn: BaseDBAsyncClient, candidates: Mapping[str, list[Claimed]]
) -> set[int]:
    """Those candidates with no older pending delivery of their object to their
    inbox."""
    found = [c for claims in candidates.values() for c in claims]
    if not found:
        return set()
    firsts = await (
        Delivery.filter(
            host__in=sorted(candidates),
            state=DeliveryState.PENDING,
            object_id__in={c.object_id for c in found},
        )
        .annotate(first=Min("id"))
        .group_by("inbox", "object_id")
        .using_db(conn)
        .values("inbox", "object_id", "first")
    )
    first = {(r["inbox"], r["object_id"]): r["first"] for r in firsts}
    return {c.id for c in found if first.get((c.inbox, c.object_id)) == c.id}


async def _fail_blocked(hosts: set[str]) -> None:
    """Gives up every pending delivery to hosts an admin blocked after posting."""
    failed = await Delivery.filter(
        host__in=sorted(hosts), state=DeliveryState.PENDING
    ).update(
        state=DeliveryState.FAILED, leased_until=None, last_error="instance blocked"
    )
    log.info(
        "deliveries to a blocked instance given up",
        extra={"remote_hosts": sorted(hosts), "deliveries": failed},
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


Attempt = tuple[Claimed, Result]
RECORDED = (
    "state",
    "attempts",
    "next_attempt_at",
    "leased_until",
    "last_status",
    "last_error",
    "delivered_at",
)


async def record(
    attempts: list[Attempt], now: datetime, settings: Settings
) -> list[Change]:
    """Stores the outcomes of attempts on their deliveries and their hosts' breakers.

    One transaction for all of them: the hosts' rows locked, the deliveries
    updated with one statement and the hosts with another.
    """
    changes = [
        transition(result, claimed.attempts + 1, now) for claimed, result in attempts
    ]
    updates = [
        Delivery(
            id=claimed.id,
            state=change.state,
            attempts=claimed.attempts + 1,
            next_attempt_at=change.next_attempt_at,
            leased_until=None,
            last_status=result.status,
            last_error=result.reason[:200],
            delivered_at=now if change.state is DeliveryState.DELIVERED else None,
        )
        for (claimed, result), change in zip(attempts, changes, strict=True)
    ]
    async with in_transaction() as conn:
        rows = await breakers.locked_hosts(conn, {c.host for c, _ in attempts})
        await Delivery.bulk_update(updates, fields=RECORDED, using_db=conn)
        changed: dict[str, RemoteHost] = {}
        threshold = settings.federation_breaker_threshold
        for claimed, result in attempts:
            row = rows[claimed.host]
            if breakers.record(row, RULES[result.outcome].host, now, threshold):
                changed[claimed.host] = row
        await breakers.save(conn, changed.values())
    return changes


# Jobs ------------------------------------------------------------------------


@functools.cache
def tls() -> ssl.SSLContext:
    """The TLS context of delivery clients, made once per process.

    Making one reads the whole CA bundle, some 50 ms of CPU: made per job, it
    cost more than the deliveries themselves.
    """
    return httpx.create_ssl_context(trust_env=False)


async def drain(host: str, settings: Settings, *, clock: Clock = utcnow) -> int:
    """Sends ``host``'s due deliveries until none is left; returns how many went."""
    return await drain_hosts([host], settings, clock=clock)


async def drain_hosts(
    hosts: Sequence[str], settings: Settings, *, clock: Clock = utcnow
) -> int:
    """Sends the hosts' due deliveries until none is left; returns how many went.

    Each host is a lane of its own: at most ``federation_host_parallelism``
    of its deliveries are in flight at once, and a host whose breaker opens
    on the way stops being claimed from; a slow host holds only its own
    lane. Claims and outcomes are written for all the hosts together.
    """
    timeout = httpx.Timeout(settings.federation_delivery_timeout_seconds)
    async with httpx.AsyncClient(
        timeout=timeout, follow_redirects=False, trust_env=False, verify=tls()
    ) as client:
        run = _Run(hosts, settings, clock, client)
        await run.drain()
    if run.out_of_time:
        await _enqueue(sorted(run.more))
    return run.attempted


class _Run:
    """One job's pass over its hosts: their lanes, the HTTP client, bodies, keys."""

    def __init__(
        self,
        hosts: Sequence[str],
        settings: Settings,
        clock: Clock,
        client: httpx.AsyncClient,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.client = client
        self.started = time.monotonic()
        self.attempted = 0
        self.busy: dict[str, int] = dict.fromkeys(hosts, 0)
        # The hosts that may have deliveries due, not claimed yet.
        self.more: set[str] = set(hosts)
        self.outgoing: dict[int, asyncio.Future[Outgoing]] = {}
        self.pairs: dict[Signer, KeyPair] = {}

    @property
    def out_of_time(self) -> bool:
        return time.monotonic() - self.started >= JOB_BUDGET_SECONDS

    async def drain(self) -> None:
        running: dict[asyncio.Task[Result], Claimed] = {}
        failure: BaseException | None = None
        while True:
            if failure is None and not self.out_of_time:
                for claimed in await self.claim(len(running)):
                    running[asyncio.create_task(self.attempt(claimed))] = claimed
            if not running:
                break
            done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            if len(done) < len(running):
                # Answers come in close together in a fan-out: those of the
                # next moment are recorded with these, in one transaction.
                pending = [task for task in running if task not in done]
                later, _ = await asyncio.wait(pending, timeout=RECORD_WINDOW)
                done |= later
            finished: list[Attempt] = []
            for task in done:
                claimed = running.pop(task)
                self.busy[claimed.host] -= 1
                if task.exception() is None:
                    finished.append((claimed, task.result()))
                else:
                    failure = failure or task.exception()
            # A bug or a lost database stops the claiming, but what is in
            # flight is let finish, so that its outcome is recorded if it can
            # be; what is not recorded is sent again once its lease runs out.
            try:
                await self.record(finished)
            except Exception as exc:
                failure = failure or exc
        if failure is not None:
            raise failure

    async def claim(self, running: int) -> list[Claimed]:
        """Claims for every lane with room, within the job's own bound."""
        room = JOB_CONCURRENCY - running
        parallelism = self.settings.federation_host_parallelism
        open_lanes = sorted(h for h in self.more if self.busy[h] < parallelism)
        if room <= 0 or not open_lanes:
            return []
        # The room is shared out among the lanes, so that a fan-out to many
        # hosts starts on all of them at once.
        share = max(1, room // len(open_lanes))
        wanted: dict[str, int] = {}
        for host in open_lanes[:room]:
            wanted[host] = min(parallelism - self.busy[host], share)
        claimed, more = await claim_many(wanted, self.clock(), self.settings)
        self.more = (self.more - wanted.keys()) | more
        for host, claims in claimed.items():
            self.busy[host] += len(claims)
            self.attempted += len(claims)
        return [c for claims in claimed.values() for c in claims]

    async def attempt(self, claimed: Claimed) -> Result:
        outgoing = await self.load(claimed.activity_id)
        return await send(
            self.client, claimed.inbox, outgoing, self.settings, claimed.last_status
        )

    async def load(self, activity_pk: int) -> Outgoing:
        """The activity's body and key, read once for all its deliveries."""
        loading = self.outgoing.get(activity_pk)
        if loading is None:
            loading = asyncio.ensure_future(load_outgoing(activity_pk, self.pairs))
            self.outgoing[activity_pk] = loading
        return await asyncio.shield(loading)

    async def record(self, finished: list[Attempt]) -> None:
        if not finished:
            return
        changes = await record(finished, self.clock(), self.settings)
        for (claimed, result), change in zip(finished, changes, strict=True):
            outgoing = self.outgoing[claimed.activity_id].result()
            fields = {
                "remote_host": claimed.host,
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
async def deliver_to_hosts(hosts: list[str]) -> None:
    """Sends these remote hosts' due deliveries (each host a lane of its own, so
    that a dead or slow host holds only its own)."""
    await drain_hosts(hosts, installed_settings())


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
    """Enqueues jobs for the hosts with deliveries posted since ``since``.

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
    """A job per group of hosts: a fan-out to many instances is a few jobs."""
    try:
        for start in range(0, len(hosts), HOSTS_PER_JOB):
            group = hosts[start : start + HOSTS_PER_JOB]
            await jobs.queue().enqueue(deliver_to_hosts, hosts=group)
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
