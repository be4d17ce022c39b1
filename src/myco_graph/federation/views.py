"""The HTTP side of federation: discovery documents and actors.

Actor documents are served only to clients that ask for ActivityPub JSON
(``application/activity+json``, or ``application/ld+json`` with or without
the ActivityStreams profile); any other ``Accept`` gets 406 Not Acceptable,
since this instance has no HTML profile pages to redirect browsers to.

The inboxes (the shared ``/inbox`` and each actor's) take signed POSTs, as
:mod:`.inbox` describes. The objects of public projects (Notes, Questions)
and the actors' collections are served like actors, under authorized fetch
when it is on; a deleted object, or an erased member, answers 410 Gone with
a Tombstone. A Group's ``members`` collection holds what members share with
their project only: it is served to signed reads by the Group's accepted
followers alone, whatever the authorized-fetch setting.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from myco_graph.domain.models import ActorKind
from myco_graph.errors import (
    BadUserInput,
    Forbidden,
    MycoError,
    NotFound,
    SignatureRefused,
)
from myco_graph.federation import inbox, keys, lookups, render
from myco_graph.federation.handlers import Context
from myco_graph.federation.lookups import FederatedViewer
from myco_graph.federation.signatures import InboundRequest
from myco_graph.federation.urls import Urls
from myco_graph.infrastructure.config import Settings

log = logging.getLogger(__name__)

ACTIVITY_JSON = "application/activity+json"
LD_JSON = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
JRD_JSON = "application/jrd+json"
NODEINFO_JSON = f'application/json; profile="{render.NODEINFO_SCHEMA}#"'
# Discovery documents are public and read by browser clients too (RFC 7033 §5).
OPEN = {"access-control-allow-origin": "*"}
# A Person shows consent-governed values: a withdrawal must hold on the very
# next read, so no HTTP cache keeps one.
PERSON_CACHE = "no-store"
ACTOR_CACHE = "public, max-age=180"
SIGNED_CACHE = "private, max-age=180"
# What an outbox lists: the activities its actor sent to everyone.
PERSON_ACTIVITIES = frozenset({"Create", "Update", "Delete"})
GROUP_ACTIVITIES = frozenset({"Announce"})


def negotiate(accept: str) -> str | None:
    """The ActivityPub media type to answer with, if ``accept`` asks for one."""
    for item in accept.split(","):
        media, *parameters = (part.strip() for part in item.split(";"))
        values = {
            name.strip().lower(): value.strip().strip('"')
            for name, _, value in (p.partition("=") for p in parameters)
        }
        if _weight(values.get("q", "1")) <= 0:
            continue
        if media.lower() == ACTIVITY_JSON:
            return ACTIVITY_JSON
        if media.lower() == "application/ld+json":
            return LD_JSON
    return None


def _weight(given: str) -> float:
    try:
        return float(given)
    except ValueError:
        return 0.0


def json_response(
    document: dict[str, Any],
    media_type: str,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    return Response(
        orjson.dumps(document), status, headers=headers, media_type=media_type
    )


def problem(
    status: int, message: str, headers: dict[str, str] | None = None
) -> Response:
    return json_response(
        {"error": message}, "application/json", status=status, headers=headers
    )


def inbound(request: Request, body: bytes = b"") -> InboundRequest:
    """The request as signatures see it: the target exactly as sent."""
    target = request.scope.get("raw_path", request.url.path.encode()).decode("latin-1")
    if query := request.scope.get("query_string", b""):
        target += "?" + query.decode("latin-1")
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return InboundRequest(request.method, target, headers, body)


Handler = Callable[["Views", Request, str], Awaitable[Response]]


def negotiated(handler: Handler) -> Callable[[Views, Request], Awaitable[Response]]:
    """A GET of an ActivityPub document: negotiated, each refusal answered.

    The handler gets the media type to answer in; a refused signature is
    401, and what it raises for a missing, forbidden or badly asked document
    is 404, 403 or 400.
    """

    @functools.wraps(handler)
    async def view(self: Views, request: Request) -> Response:
        if (media := negotiate(request.headers.get("accept", ""))) is None:
            return not_acceptable()
        try:
            return await handler(self, request, media)
        except SignatureRefused as exc:
            return refused(exc)
        except NotFound as exc:
            return problem(404, exc.message)
        except Forbidden as exc:
            return problem(403, exc.message)
        except BadUserInput as exc:
            return problem(400, exc.message)

    return view


class Views:
    """The federation endpoints of one instance."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.urls = Urls.of(settings)

    def routes(self) -> list[Route]:
        return [
            Route("/.well-known/webfinger", self.webfinger, methods=["GET"]),
            Route("/.well-known/nodeinfo", self.nodeinfo_links, methods=["GET"]),
            Route("/nodeinfo/2.1", self.nodeinfo, methods=["GET"]),
            Route("/actor", self.instance_actor, methods=["GET"]),
            Route("/users/{handle}", self.person, methods=["GET"]),
            Route("/groups/{name}", self.group, methods=["GET"]),
            Route("/notes/{id:int}", self.note, methods=["GET"]),
            Route("/questions/{id:int}", self.question, methods=["GET"]),
            Route("/users/{handle}/outbox", self.person_outbox, methods=["GET"]),
            Route("/groups/{name}/outbox", self.group_outbox, methods=["GET"]),
            Route("/groups/{name}/followers", self.followers, methods=["GET"]),
            Route("/groups/{name}/members", self.members, methods=["GET"]),
            Route("/inbox", self.shared_inbox, methods=["POST"]),
            Route("/users/{handle}/inbox", self.person_inbox, methods=["POST"]),
            Route("/groups/{name}/inbox", self.group_inbox, methods=["POST"]),
        ]

    # Discovery -----------------------------------------------------------

    async def webfinger(self, request: Request) -> Response:
        try:
            name = self.webfinger_name(request.query_params.get("resource"))
            actor = await lookups.lookup_local_actor(name, self.urls)
        except BadUserInput as exc:
            return problem(400, exc.message, OPEN)
        except NotFound as exc:
            return problem(404, exc.message, OPEN)
        document = render.render_webfinger(actor.name, actor.url, self.urls)
        return json_response(document, JRD_JSON, headers=OPEN)

    def webfinger_name(self, resource: str | None) -> str:
        """The local name a WebFinger resource asks for: ``acct:`` or an actor URL."""
        if not resource:
            raise BadUserInput("Give a resource: acct:name@domain.", field="resource")
        if resource.startswith(("https://", "http://")):
            for prefix in (self.urls.person(""), self.urls.group("")):
                if resource.startswith(prefix) and "/" not in resource[len(prefix) :]:
                    return resource[len(prefix) :]
            raise NotFound("No such actor here.")
        scheme, _, address = resource.partition(":")
        name, at, domain = address.lstrip("@").rpartition("@")
        if scheme.lower() != "acct" or not at or not name or not domain:
            raise BadUserInput(
                "A resource is acct:name@domain or an actor URL.", field="resource"
            )
        if domain.lower() not in self.local_domains():
            raise NotFound("This domain is not served here.")
        return name

    def local_domains(self) -> set[str]:
        """The domain, with its port when the base URL has one."""
        base = self.settings.base_url
        domains = {self.urls.domain.lower()}
        if base.port is not None:
            domains.add(f"{self.urls.domain}:{base.port}".lower())
        return domains

    async def nodeinfo_links(self, request: Request) -> Response:
        document = render.render_nodeinfo_links(self.urls)
        return json_response(document, "application/json", headers=OPEN)

    async def nodeinfo(self, request: Request) -> Response:
        document = render.render_nodeinfo(
            self.urls,
            users=await lookups.lookup_member_count(),
            local_posts=await lookups.lookup_public_message_count(),
            open_registrations=True,
        )
        headers = {**OPEN, "cache-control": "public, max-age=1800"}
        return json_response(document, NODEINFO_JSON, headers=headers)

    # Actors --------------------------------------------------------------

    @negotiated
    async def instance_actor(self, request: Request, media: str) -> Response:
        # Always readable unsigned: a peer under authorized fetch must read
        # this key to check our own signed fetches (Mastodon does the same).
        pair = await keys.lookup_instance_key()
        document = render.render_instance_actor(self.urls, pair.public_pem)
        return actor_response(document, media)

    @negotiated
    async def person(self, request: Request, media: str) -> Response:
        viewer = await self.reader(request)
        try:
            account = await lookups.lookup_member(request.path_params["handle"])
        except NotFound as exc:
            url = self.urls.person(request.path_params["handle"])
            return await gone(url, media) or problem(404, exc.message)
        shared = await lookups.lookup_public_profile(account.id, viewer)
        pair = await keys.lookup_actor_key(ActorKind.PERSON, account.id)
        document = render.render_person(account, shared, self.urls, pair.public_pem)
        return actor_response(document, media, cache=PERSON_CACHE)

    @negotiated
    async def group(self, request: Request, media: str) -> Response:
        await self.reader(request)
        project = await lookups.lookup_public_project(request.path_params["name"])
        counts = await lookups.lookup_group_counts(project.id)
        pair = await keys.lookup_actor_key(ActorKind.GROUP, project.id)
        body = render.render_group(project, counts, self.urls, pair.public_pem)
        return actor_response(body, media, cache=self.cache)

    async def reader(self, request: Request) -> FederatedViewer:
        """Who reads an actor: a verified remote instance under authorized fetch.

        Without authorized fetch, a signature on a GET is not checked and the
        read is logged as an anonymous federated one.
        """
        if not self.settings.authorized_fetch:
            return FederatedViewer.of("anonymous")
        key = await lookups.lookup_signer(inbound(request), self.settings)
        return FederatedViewer.of(lookups.signer_origin(key))

    # Objects -------------------------------------------------------------

    @negotiated
    async def note(self, request: Request, media: str) -> Response:
        await self.reader(request)
        try:
            message = await lookups.lookup_public_message(request.path_params["id"])
        except NotFound as exc:
            url = self.urls.note(request.path_params["id"])
            return await gone(url, media) or problem(404, exc.message)
        author = message.author.handle if message.author else None
        body = render.render_note(message, message.project, author, self.urls)
        return actor_response(body, media, cache=self.cache)

    @negotiated
    async def question(self, request: Request, media: str) -> Response:
        await self.reader(request)
        poll = await lookups.lookup_public_poll(request.path_params["id"])
        tally = await lookups.lookup_tally(None, poll.id)
        author = poll.author.handle if poll.author else None
        body = render.render_question(poll, poll.project, author, tally, self.urls)
        # Counts change with every ballot.
        return actor_response(body, media, cache="no-cache")

    @property
    def cache(self) -> str:
        # A shared cache would hand a signed read to unsigned readers.
        return SIGNED_CACHE if self.settings.authorized_fetch else ACTOR_CACHE

    # Collections ---------------------------------------------------------

    @negotiated
    async def person_outbox(self, request: Request, media: str) -> Response:
        await self.reader(request)
        account = await lookups.lookup_member(request.path_params["handle"])
        actor = self.urls.person(account.handle)
        signer = (ActorKind.PERSON, account.id)
        return await self.outbox(request, media, actor, signer, PERSON_ACTIVITIES)

    @negotiated
    async def group_outbox(self, request: Request, media: str) -> Response:
        await self.reader(request)
        project = await lookups.lookup_public_project(request.path_params["name"])
        actor = self.urls.group(project.handle)
        signer = (ActorKind.GROUP, project.id)
        return await self.outbox(request, media, actor, signer, GROUP_ACTIVITIES)

    async def outbox(
        self,
        request: Request,
        media: str,
        actor: str,
        signer: tuple[ActorKind, int],
        types: frozenset[str],
    ) -> Response:
        """An outbox: the collection, or one page of it, newest first."""
        collection = self.urls.outbox(actor)
        paged, before = page_cursor(request, "max_id")
        page = await lookups.lookup_outbox(signer, types, before)
        if not paged:
            first = f"{collection}?page=true"
            document = render.render_collection(collection, page.total, first=first)
            return actor_response(document, media, cache="no-cache")
        items = [render.without_context(item) for item in page.documents]
        following = next_url(collection, "max_id", page.next_before)
        document = render.render_page(
            page_url(collection, "max_id", before), collection, items, following
        )
        return actor_response(document, media, cache="no-cache")

    @negotiated
    async def followers(self, request: Request, media: str) -> Response:
        """How many follow a Group; who they are is not ours to publish."""
        await self.reader(request)
        project = await lookups.lookup_public_project(request.path_params["name"])
        url = self.urls.followers(self.urls.group(project.handle))
        total = await lookups.lookup_follower_count(project.id)
        document = render.render_collection(url, total)
        return actor_response(document, media, cache="no-cache")

    @negotiated
    async def members(self, request: Request, media: str) -> Response:
        """A Group's members with what each shares with the project.

        Always a signed read, by an accepted follower of the Group: a remote
        member of the project reads what the project's members read.
        """
        project = await lookups.lookup_public_project(request.path_params["name"])
        key = await lookups.lookup_signer(inbound(request), self.settings)
        await lookups.lookup_accepted_follower(project.id, key.owner)
        paged, after = page_cursor(request, "after")
        viewer = FederatedViewer(
            account_id=None,
            kind=None,
            projects=frozenset({project.id}),
            origin=lookups.signer_origin(key),
        )
        collection = self.urls.members(self.urls.group(project.handle))
        page = await lookups.lookup_sharing_members(project.id, viewer, after)
        if not paged:
            first = f"{collection}?page=true"
            document = render.render_collection(collection, page.total, first=first)
            return actor_response(document, media, cache=PERSON_CACHE)
        items = [
            render.render_member(item.handle, item.shared, self.urls)
            for item in page.members
        ]
        following = next_url(collection, "after", page.next_after)
        document = render.render_page(
            page_url(collection, "after", after), collection, items, following
        )
        return actor_response(document, media, cache=PERSON_CACHE)

    # Inboxes -------------------------------------------------------------

    async def shared_inbox(self, request: Request) -> Response:
        return await self.deliver(request)

    async def person_inbox(self, request: Request) -> Response:
        try:
            await lookups.lookup_member(request.path_params["handle"])
        except NotFound as exc:
            return problem(404, exc.message)
        return await self.deliver(request)

    async def group_inbox(self, request: Request) -> Response:
        try:
            await lookups.lookup_public_project(request.path_params["name"])
        except NotFound as exc:
            return problem(404, exc.message)
        return await self.deliver(request)

    async def deliver(self, request: Request) -> Response:
        """Takes an activity POSTed to an inbox: 202, or a refusal, nothing kept."""
        limit = self.settings.max_body_bytes
        body = await read_body(request, limit)
        if body is None:
            return problem(413, f"The activity exceeds {limit} bytes.")
        context = Context(self.settings, self.urls)
        try:
            await inbox.receive(inbound(request, body), context)
        except MycoError as exc:
            if (status := inbox.status_of(exc)) is None:
                raise
            return refused_activity(exc, status)
        return Response(status_code=202)


async def read_body(request: Request, limit: int) -> bytes | None:
    """The request body, or None when it is larger than ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def refused_activity(error: MycoError, status: int) -> Response:
    message = getattr(error, "message", None) or str(error)
    level = logging.INFO if status == 502 else logging.WARNING
    log.log(
        level,
        "refused inbound activity",
        extra={"reason": type(error).__name__, "detail": message, "status": status},
    )
    return problem(status, message)


def actor_response(
    document: dict[str, Any], media_type: str, *, cache: str = ACTOR_CACHE
) -> Response:
    headers = {"vary": "Accept", "cache-control": cache}
    return json_response(document, media_type, headers=headers)


def not_acceptable() -> Response:
    return problem(
        406,
        f"This document is served as {ACTIVITY_JSON} or {LD_JSON} only.",
        {"vary": "Accept"},
    )


def refused(error: SignatureRefused) -> Response:
    log.warning(
        "refused signed request",
        extra={"reason": type(error).__name__, "detail": error.message},
    )
    return problem(401, error.message, {"vary": "Accept, Signature"})


async def gone(url: str, media: str) -> Response | None:
    """410 Gone with the Tombstone of a deleted object; None if never deleted."""
    tombstone = await lookups.lookup_tombstone(url)
    if tombstone is None:
        return None
    document = render.render_tombstone(tombstone)
    return json_response(document, media, status=410, headers={"vary": "Accept"})


def page_cursor(request: Request, name: str) -> tuple[bool, int | None]:
    """Whether a page is asked for, and its cursor: ``?page=true&{name}=N``."""
    paged = request.query_params.get("page") == "true"
    given = request.query_params.get(name)
    if given is None:
        return paged, None
    if not (given.isascii() and given.isdigit() and len(given) < 19):
        raise BadUserInput(f"{name} is a whole number.", field=name)
    return True, int(given)


def page_url(collection: str, name: str, cursor: int | None) -> str:
    if cursor is None:
        return f"{collection}?page=true"
    return f"{collection}?page=true&{name}={cursor}"


def next_url(collection: str, name: str, cursor: int | None) -> str | None:
    """The next page, when the last one was full."""
    return None if cursor is None else page_url(collection, name, cursor)


def routes(settings: Settings) -> list[Route]:
    """The federation routes of an instance, for the app to mount."""
    return Views(settings).routes()
