"""Federation throughput: fan-out delivery, delivery past dead peers, inbox intake.

Remote instances are played by sink servers on 127.0.0.1 ports, in a process
of their own so that they do not share the worker's CPU; each checks the
Digest and the rsa-sha256 signature of every POST. Three comparisons:

- fan-out: one activity to 1,000 followers spread over 100 instances goes
  through the real path (``outbox.post`` in a transaction, the wake-up, the
  delivery jobs of ONE ``myco-graph worker`` process), against a raw loop that
  signs the same string with OpenSSL (``cryptography``) and POSTs with httpx
  to the same 100 shared inboxes, 50 at a time (the worker's job slots);
- the same fan-out with 10 % of the instances dead (connection refused) or
  slow (answering after the delivery timeout): throughput to the healthy ones
  with and without them. The figure is taken once the bad instances have
  failed long enough for their circuit breakers to open, as they do within
  minutes of an instance going down (five failures in a row); the first
  fan-outs, which try them with their breakers still closed, are shown too;
- intake: signed activities (a Like of a note, an activity our inbox checks,
  takes once and records, without a handler's own work) POSTed by 50 remote
  actors whose keys are cached, to our real ``myco-graph serve``, against a
  raw Starlette endpoint that verifies with ``cryptography`` and inserts a row
  with asyncpg.

    python -m bench.federation [--instances 100] [--followers 1000] [--rounds 15]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import multiprocessing
import os
import socket
import statistics
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import uvicorn
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from tortoise.transactions import in_transaction

from bench.common import bench_instance
from myco_graph.domain.models import (
    ActorKind,
    BreakerState,
    Delivery,
    DeliveryState,
    RemoteHost,
    RemoteKey,
)
from myco_graph.federation import delivery, outbox
from myco_graph.federation.keys import generate_pair, lookup_actor_key
from myco_graph.infrastructure.config import Settings

ACTOR = "http://bench.example/users/alice"
SIGNER = (ActorKind.PERSON, 1)
SLOW_SECONDS = 6.0
DELIVERY_TIMEOUT = 2.0
RAW_CONCURRENCY = 50
INTAKE_ACTORS = 50
INTAKE_CONCURRENCY = 20
# Fan-outs at most before the bad instances' breakers must be open (they open
# after five failures in a row).
BREAKER_ROUNDS = 8


# Signing and checking with OpenSSL, as the raw yardsticks and sinks do --------


def signing_string(method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [f"(request-target): {method.lower()} {path}"]
    lines += [f"{name}: {headers[name]}" for name in ("host", "date", "digest")]
    return "\n".join(lines).encode()


def signed_headers(
    key: rsa.RSAPrivateKey, key_id: str, url: str, body: bytes
) -> dict[str, str]:
    parts = httpx.URL(url)
    headers = {
        "host": parts.netloc.decode(),
        "date": format_datetime(datetime.now(UTC), usegmt=True),
        "digest": "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode(),
    }
    signature = key.sign(
        signing_string("POST", parts.path, headers), padding.PKCS1v15(), hashes.SHA256()
    )
    headers["signature"] = (
        f'keyId="{key_id}",algorithm="rsa-sha256",'
        'headers="(request-target) host date digest",'
        f'signature="{base64.b64encode(signature).decode()}"'
    )
    headers["content-type"] = "application/activity+json"
    return headers


def verifies(public: rsa.RSAPublicKey, path: str, headers: Any, body: bytes) -> bool:
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
    if headers.get("digest") != f"SHA-256={digest}":
        return False
    value = headers.get("signature", "")
    signature = value.split('signature="')[1].rstrip('"')
    try:
        public.verify(
            base64.b64decode(signature),
            signing_string("POST", path, dict(headers)),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
    except Exception:
        return False
    return True


# Sinks, in a process of their own --------------------------------------------


def run_sinks(sockets: list[socket.socket], public_pem: str, slow: set[str]) -> None:
    public = serialization.load_pem_public_key(public_pem.encode())
    assert isinstance(public, rsa.RSAPublicKey)

    async def inbox(request: Request) -> Response:
        body = await request.body()
        if not verifies(public, request.url.path, request.headers, body):
            return Response(status_code=401)
        if request.headers["host"] in slow:
            await asyncio.sleep(SLOW_SECONDS)
        return Response(status_code=202)

    app = Starlette(routes=[Route("/inbox", inbox, methods=["POST"])])
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="off", backlog=4096
    )
    asyncio.run(uvicorn.Server(config).serve(sockets=sockets))


def bound() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def host_of(sock: socket.socket) -> str:
    return f"127.0.0.1:{sock.getsockname()[1]}"


@dataclass
class Peers:
    healthy: list[str]
    slow: list[str]
    dead: list[str]


@contextlib.contextmanager
def sinks(instances: int, public_pem: str) -> Any:
    """Healthy and slow sinks served by a child process; dead ports unbound."""
    bad = max(1, instances // 10)
    healthy = [bound() for _ in range(instances)]
    slow = [bound() for _ in range(bad - bad // 2)]
    dead_sockets = [bound() for _ in range(bad // 2)]
    dead = [host_of(s) for s in dead_sockets]
    for sock in dead_sockets:
        sock.close()
    process = multiprocessing.get_context("spawn").Process(
        target=run_sinks,
        args=(healthy + slow, public_pem, {host_of(s) for s in slow}),
        daemon=True,
    )
    process.start()
    try:
        yield Peers([host_of(s) for s in healthy], [host_of(s) for s in slow], dead)
    finally:
        process.terminate()
        process.join(10)
        for sock in healthy + slow:
            sock.close()


# Fan-out ----------------------------------------------------------------------


def followers(hosts: list[str], count: int) -> list[str]:
    """The shared inbox of each follower: followers spread evenly over hosts."""
    return [f"http://{hosts[i % len(hosts)]}/inbox" for i in range(count)]


async def ours(inboxes: list[str], healthy: set[str], serial: int) -> float:
    """Seconds from posting until every healthy inbox has the activity."""
    activity_id = f"http://bench.example/activities/{serial}"
    document = {"id": activity_id, "type": "Create", "actor": ACTOR, "object": "x"}
    started = time.perf_counter()
    async with in_transaction() as conn:
        activity = await outbox.post(
            conn, document, object_id=activity_id, signer=SIGNER, inboxes=inboxes
        )
    await delivery.wake()
    expected = len({i for i in inboxes if outbox.host_of(i) in healthy})
    delivered = Delivery.filter(activity_id=activity.id, state=DeliveryState.DELIVERED)
    deadline = started + 120
    while await delivered.count() < expected:
        if time.perf_counter() > deadline:
            raise RuntimeError("the worker did not deliver in two minutes")
        await asyncio.sleep(0.005)
    return time.perf_counter() - started


async def raw(inboxes: list[str], private_pem: str) -> float:
    """Seconds for the raw loop to sign and POST once to each distinct inbox."""
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    targets = outbox.distinct_inboxes(inboxes)
    body = orjson.dumps({"id": "raw", "type": "Create", "actor": ACTOR})
    gate = asyncio.Semaphore(RAW_CONCURRENCY)
    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=DELIVERY_TIMEOUT, trust_env=False) as client:

        async def one(url: str) -> None:
            async with gate:
                headers = signed_headers(key, f"{ACTOR}#main-key", url, body)
                response = await client.post(url, content=body, headers=headers)
                assert response.status_code == 202, response.status_code

        await asyncio.gather(*(one(url) for url in targets))
    return time.perf_counter() - started


async def until_breakers_open(
    inboxes: list[str], healthy: set[str], bad: list[str]
) -> list[float]:
    """Fans out to healthy and bad instances until every bad one's breaker is
    open; returns the seconds each of those fan-outs took to the healthy ones."""
    samples = []
    for serial in range(BREAKER_ROUNDS):
        samples.append(await ours(inboxes, healthy, 500 + serial))
        # The slow instances' attempts end at the delivery timeout.
        await asyncio.sleep(DELIVERY_TIMEOUT + 0.5)
        opened = await RemoteHost.filter(host__in=bad, breaker=BreakerState.OPEN)
        if len(opened) == len(bad):
            return samples
    raise RuntimeError("the bad instances' breakers did not open")


def worker_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MYCO_")}
    env |= {
        "MYCO_DATABASE_URL": settings.database_url or "",
        "MYCO_REDIS_URL": settings.redis_url or "",
        "MYCO_SECRET_KEY": settings.secret_key or "",
        "MYCO_BASE_URL": "http://bench.example",
        "MYCO_LOG_LEVEL": "WARNING",
        "MYCO_FEDERATION_ALLOW_PRIVATE_ADDRESSES": "true",
        "MYCO_FEDERATION_DELIVERY_TIMEOUT_SECONDS": str(DELIVERY_TIMEOUT),
        "MYCO_REQUESTS_PER_MINUTE": "100000000",
    }
    return env


@contextlib.asynccontextmanager
async def command(settings: Settings, *args: str) -> AsyncIterator[None]:
    executable = str(Path(sys.executable).parent / "myco-graph")
    process = await asyncio.create_subprocess_exec(
        executable, *args, env=worker_env(settings)
    )
    try:
        yield
    finally:
        process.terminate()
        await process.wait()


# Intake -----------------------------------------------------------------------


RAW_TABLE = """
CREATE TABLE IF NOT EXISTS bench_raw_inbox (
    activity_id text PRIMARY KEY, actor text NOT NULL, type text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now())
"""


def run_raw_inbox(sock: socket.socket, database_url: str, keys: dict[str, str]) -> None:
    publics = {
        key_id: serialization.load_pem_public_key(pem.encode())
        for key_id, pem in keys.items()
    }
    state: dict[str, asyncpg.Pool] = {}

    async def inbox(request: Request) -> Response:
        body = await request.body()
        key_id = request.headers["signature"].split('keyId="')[1].split('"')[0]
        public = publics.get(key_id)
        if not isinstance(public, rsa.RSAPublicKey) or not verifies(
            public, request.url.path, request.headers, body
        ):
            return Response(status_code=401)
        document = orjson.loads(body)
        await state["pool"].execute(
            "INSERT INTO bench_raw_inbox (activity_id, actor, type) VALUES ($1, $2, $3)"
            " ON CONFLICT DO NOTHING",
            document["id"],
            document["actor"],
            document["type"],
        )
        return Response(status_code=202)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state["pool"] = await asyncpg.create_pool(database_url, min_size=2, max_size=10)
        await state["pool"].execute(RAW_TABLE)
        yield
        await state["pool"].close()

    app = Starlette(
        routes=[Route("/inbox", inbox, methods=["POST"])], lifespan=lifespan
    )
    config = uvicorn.Config(app, log_level="warning", access_log=False)
    asyncio.run(uvicorn.Server(config).serve(sockets=[sock]))


async def intake_keys() -> tuple[rsa.RSAPrivateKey, dict[str, str]]:
    """One key shared by the remote actors, cached as ours caches fetched keys."""
    pair = generate_pair()
    key = serialization.load_pem_private_key(pair.private_pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    keys = {
        f"http://remote.example/users/u{i}#main-key": pair.public_pem
        for i in range(INTAKE_ACTORS)
    }
    await RemoteKey.bulk_create(
        [
            RemoteKey(
                key_id=key_id,
                owner=key_id.removesuffix("#main-key"),
                public_pem=pem,
                fetched_at=datetime.now(UTC),
            )
            for key_id, pem in keys.items()
        ]
    )
    return key, keys


def intake_requests(
    key: rsa.RSAPrivateKey, url: str, count: int, tag: str
) -> list[tuple[bytes, dict[str, str]]]:
    requests = []
    for n in range(count):
        actor = f"http://remote.example/users/u{n % INTAKE_ACTORS}"
        body = orjson.dumps(
            {
                "@context": "https://www.w3.org/ns/activitystreams",
                "id": f"{actor}/likes/{tag}-{n}",
                "type": "Like",
                "actor": actor,
                "object": "http://bench.example/notes/1",
            }
        )
        requests.append((body, signed_headers(key, f"{actor}#main-key", url, body)))
    return requests


async def post_all(url: str, requests: list[tuple[bytes, dict[str, str]]]) -> float:
    gate = asyncio.Semaphore(INTAKE_CONCURRENCY)
    async with httpx.AsyncClient(timeout=30, trust_env=False) as client:

        async def one(body: bytes, headers: dict[str, str]) -> None:
            async with gate:
                response = await client.post(url, content=body, headers=headers)
                assert response.status_code in (200, 202), response.text

        started = time.perf_counter()
        await asyncio.gather(*(one(body, headers) for body, headers in requests))
        return time.perf_counter() - started


async def until_answers(url: str) -> None:
    async with httpx.AsyncClient(timeout=2, trust_env=False) as client:
        for _ in range(200):
            with contextlib.suppress(httpx.HTTPError):
                await client.get(url)
                return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} never answered")


async def intake(settings: Settings, count: int, rounds: int) -> tuple[float, float]:
    key, keys = await intake_keys()
    ours_sock, raw_sock = bound(), bound()
    ours_port = ours_sock.getsockname()[1]
    ours_sock.close()
    ours_url = f"http://127.0.0.1:{ours_port}/inbox"
    raw_url = f"http://{host_of(raw_sock)}/inbox"
    raw_process = multiprocessing.get_context("spawn").Process(
        target=run_raw_inbox,
        args=(raw_sock, settings.database_url, keys),
        daemon=True,
    )
    raw_process.start()
    try:
        async with command(settings, "serve", "--port", str(ours_port)):
            await until_answers(ours_url.removesuffix("/inbox") + "/healthz")
            await until_answers(raw_url)
            await post_all(ours_url, intake_requests(key, ours_url, 50, "warm"))
            await post_all(raw_url, intake_requests(key, raw_url, 50, "warm"))
            ours_times, raw_times = [], []
            for r in range(rounds):
                batch = f"m{r}"
                requests = intake_requests(key, ours_url, count // rounds, batch)
                ours_times.append(await post_all(ours_url, requests))
                requests = intake_requests(key, raw_url, count // rounds, batch)
                raw_times.append(await post_all(raw_url, requests))
    finally:
        raw_process.terminate()
        raw_process.join(10)
        raw_sock.close()
    per_round = count // rounds
    return (
        per_round / statistics.median(ours_times),
        per_round / statistics.median(raw_times),
    )


# The run ------------------------------------------------------------------------


async def main(
    instances: int, follower_count: int, rounds: int, intake_count: int
) -> None:
    overrides = {"federation_allow_private_addresses": True}
    async with bench_instance("federation", **overrides) as settings:
        pair = await lookup_actor_key(*SIGNER)
        with sinks(instances, pair.public_pem) as peers:
            good = followers(peers.healthy, follower_count)
            share = max(1, instances // 10)
            mixed = followers(
                peers.healthy[: instances - share] + peers.slow + peers.dead,
                follower_count,
            )
            healthy = set(peers.healthy)
            async with command(settings, "worker"):
                await ours(good, healthy, 0)  # warm-up: keys, connections
                await raw(good, pair.private_pem)
                first_mixed = await until_breakers_open(
                    mixed, healthy, peers.slow + peers.dead
                )
                # Interleaved, so that drift on the machine hits all three alike.
                ours_good, raw_good, ours_mixed = [], [], []
                for r in range(rounds):
                    ours_good.append(await ours(good, healthy, 1 + r))
                    raw_good.append(await raw(good, pair.private_pem))
                    ours_mixed.append(await ours(mixed, healthy, 1000 + r))
        healthy_mixed = len(set(mixed) & {f"http://{h}/inbox" for h in healthy})
        ours_rate = instances / statistics.median(ours_good)
        raw_rate = instances / statistics.median(raw_good)
        mixed_rate = healthy_mixed / statistics.median(ours_mixed)
        first_rate = healthy_mixed / statistics.median(first_mixed)
        ours_intake, raw_intake = await intake(settings, intake_count, rounds)

    print(
        f"fan-out of one activity to {follower_count} followers on {instances} "
        f"instances ({instances} POSTs), {rounds} rounds, one worker process"
    )
    print(f"{'variant':<34}{'POSTs/s':>10}{'median s':>10}")
    rows = [
        ("ours (outbox, jobs, httpsig)", ours_rate, ours_good),
        ("raw (OpenSSL + httpx loop)", raw_rate, raw_good),
        ("ours, 10 % bad, breakers closed", first_rate, first_mixed),
        ("ours, 10 % bad, breakers open", mixed_rate, ours_mixed),
    ]
    for label, rate, samples in rows:
        print(f"{label:<34}{rate:>10.1f}{statistics.median(samples):>10.3f}")
    print(
        f"intake of {intake_count} signed activities in {rounds} rounds, "
        f"{INTAKE_CONCURRENCY} at a time"
    )
    print(f"{'ours (myco-graph serve /inbox)':<34}{ours_intake:>10.1f}")
    print(f"{'raw (Starlette, OpenSSL, asyncpg)':<34}{raw_intake:>10.1f}")
    print(f"delivery_vs_raw = {ours_rate / raw_rate:.2f}")
    print(f"healthy_share_with_dead_peers = {mixed_rate / ours_rate:.2f}")
    print(f"inbox_vs_raw = {ours_intake / raw_intake:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--instances", type=int, default=100)
    parser.add_argument("--followers", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--intake", type=int, default=1000)
    arguments = parser.parse_args()
    asyncio.run(
        main(
            arguments.instances, arguments.followers, arguments.rounds, arguments.intake
        )
    )
