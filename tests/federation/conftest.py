"""Federation test set-up: a remote party on 127.0.0.1, and a second face of ours.

``peer`` is a tiny Starlette app under uvicorn on a loopback port that plays
another instance: each test says what it answers and reads what it received.
``secured`` serves this instance's federation routes with authorized fetch on
and a base URL the peer can reach; it shares the database the main test
server opened. Nothing here ever connects to an address other than 127.0.0.1.

``vectors/peer_key.pem`` is a throw-away RSA key made for these tests only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from cryptography.hazmat.primitives import serialization
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp

from myco_graph.domain import accounts, discussion, grants, profile, projects
from myco_graph.domain.models import Account, Audience, Project, Purpose, Visibility
from myco_graph.federation import views
from myco_graph.federation.signatures import SigningKey
from myco_graph.infrastructure.config import Settings
from tests.helpers import PASSWORD

HERE = Path(__file__).parent
VECTORS = HERE / "vectors"
PAYLOADS = HERE / "payloads"
ACTIVITY_JSON = "application/activity+json"
# Where the peer's actor lives, as on Mastodon.
ACTOR_PATH = "/users/zoe"


def vector(name: str) -> dict[str, Any]:
    return json.loads((VECTORS / name).read_text())  # type: ignore[no-any-return]


def payload(name: str) -> dict[str, Any]:
    return json.loads((PAYLOADS / name).read_text())  # type: ignore[no-any-return]


PEER_PRIVATE_PEM = (VECTORS / "peer_key.pem").read_text()


def public_pem_of(private_pem: str) -> str:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return (
        key.public_key()
        .public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        .decode()
    )


PEER_PUBLIC_PEM = public_pem_of(PEER_PRIVATE_PEM)


# Serving on a loopback port ---------------------------------------------------


@contextlib.asynccontextmanager
async def serving(make_app: Callable[[str], ASGIApp]) -> AsyncIterator[str]:
    """Serves the app ``make_app(base_url)`` on a free port of 127.0.0.1.

    The socket is bound first, so the app can know its own URL.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = uvicorn.Config(
        make_app(base_url), log_config=None, access_log=False, lifespan="off"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield base_url
    finally:
        server.should_exit = True
        await task
        sock.close()


# The remote party -------------------------------------------------------------


@dataclass
class Answer:
    """What the peer answers on one path."""

    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    media_type: str = ACTIVITY_JSON
    delay: float = 0.0
    # Sent in pieces without a Content-Length, to test the size limit as read.
    chunks: int = 0


@dataclass
class Received:
    method: str
    target: str
    headers: dict[str, str]


@dataclass
class Peer:
    """Another instance, played on 127.0.0.1."""

    url: str
    answers: dict[str, Answer] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)

    @property
    def host(self) -> str:
        return self.url.removeprefix("http://")

    @property
    def actor(self) -> str:
        return f"{self.url}{ACTOR_PATH}"

    @property
    def key_id(self) -> str:
        return f"{self.actor}#main-key"

    def signing_key(self, private_pem: str = PEER_PRIVATE_PEM) -> SigningKey:
        return SigningKey(self.key_id, private_pem)

    def answer(self, path: str, answer: Answer) -> None:
        self.answers[path] = answer

    def answer_json(self, path: str, document: Any, **options: Any) -> None:
        self.answers[path] = Answer(body=json.dumps(document).encode(), **options)

    def publish_actor(self, public_pem: str = PEER_PUBLIC_PEM) -> None:
        """Serves an actor document, Mastodon's shape, holding ``public_pem``."""
        document = payload("mastodon_person.json")
        text = json.dumps(document).replace("https://mastodon.example", self.url)
        document = json.loads(text)
        document["publicKey"]["publicKeyPem"] = public_pem
        self.answer_json(ACTOR_PATH, document)

    async def app(self, request: Request) -> Response:
        target = request.url.path + (
            f"?{request.url.query}" if request.url.query else ""
        )
        self.received.append(Received(request.method, target, dict(request.headers)))
        answer = self.answers.get(request.url.path)
        if answer is None:
            return Response("not here", 404)
        if answer.delay:
            await asyncio.sleep(answer.delay)
        if answer.chunks:
            return StreamingResponse(
                pieces(answer.body, answer.chunks),
                answer.status,
                headers=answer.headers,
                media_type=answer.media_type,
            )
        return Response(
            answer.body, answer.status, answer.headers, media_type=answer.media_type
        )


async def pieces(body: bytes, count: int) -> AsyncIterator[bytes]:
    size = max(1, len(body) // count)
    for start in range(0, len(body), size):
        yield body[start : start + size]


@pytest.fixture(scope="session")
async def peer_server() -> AsyncIterator[Peer]:
    holder: list[Peer] = []

    def make(base_url: str) -> ASGIApp:
        peer = Peer(base_url)
        holder.append(peer)
        return Starlette(
            routes=[Route("/{path:path}", peer.app, methods=["GET", "POST"])]
        )

    async with serving(make):
        yield holder[0]


@pytest.fixture
def peer(peer_server: Peer) -> Peer:
    """The remote party, with no answers and nothing received yet."""
    peer_server.answers.clear()
    peer_server.received.clear()
    return peer_server


# Settings and this instance under authorized fetch ----------------------------


def changed(settings: Settings, **changes: Any) -> Settings:
    """A copy of the settings with some changed, validated again."""
    return Settings(**(settings.model_dump() | changes))


@pytest.fixture
def loopback_settings(settings: Settings) -> Settings:
    """The test settings, allowed to fetch from the peer on 127.0.0.1."""
    return changed(settings, federation_allow_private_addresses=True)


@dataclass
class Secured:
    """This instance's federation routes under authorized fetch."""

    url: str
    settings: Settings


@pytest.fixture(scope="session")
async def secured(server: str, settings: Settings) -> AsyncIterator[Secured]:
    holder: list[Secured] = []

    def make(base_url: str) -> ASGIApp:
        strict = changed(
            settings,
            base_url=base_url,
            authorized_fetch=True,
            federation_allow_private_addresses=True,
        )
        holder.append(Secured(base_url, strict))
        return Starlette(routes=views.routes(strict))

    async with serving(make):
        yield holder[0]


@pytest.fixture
async def peer_client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield client


# Members and projects through the domain --------------------------------------

ISSUER = grants.Issuer("http://coop.test", "coop.test")


async def member(handle: str) -> Account:
    return await accounts.sign_up(
        accounts.SignUp(
            email=f"{handle.lower()}@example.org",
            password=PASSWORD,
            handle=handle,
            display_name=f"{handle.title()} Secret-Surname",
        )
    )


async def share(
    account: Account,
    values: dict[str, Any],
    audience: Audience = Audience.PUBLIC,
    purpose: Purpose = Purpose.DISPLAY,
) -> None:
    """Sets values and grants them to ``audience`` for ``purpose``."""
    await profile.set_values(account, values)
    request = grants.GrantRequest(
        field_keys=list(values),
        audience=audience,
        audience_id=None,
        purpose=purpose,
        expires_at=None,
        explicit=False,
    )
    await grants.grant(account, request, ISSUER)


async def project(
    owner: Account,
    name: str,
    *,
    summary: str = "",
    visibility: Visibility = Visibility.PUBLIC,
    members: tuple[Account, ...] = (),
    messages: tuple[str, ...] = (),
) -> Project:
    created = await projects.create(
        owner, name, summary, visibility, projects.Sharing([]), ISSUER
    )
    for joining in members:
        await projects.invite(created, joining.id, ISSUER)
        await projects.accept_invitation(created, joining, projects.Sharing([]), ISSUER)
    for body in messages:
        await discussion.post(created, owner, body)
    return created
