"""The HTTP side of federation: discovery documents and actors.

Actor documents are served only to clients that ask for ActivityPub JSON
(``application/activity+json``, or ``application/ld+json`` with or without
the ActivityStreams profile); any other ``Accept`` gets 406 Not Acceptable,
since this instance has no HTML profile pages to redirect browsers to.

The inboxes (the shared ``/inbox`` and each actor's) take signed POSTs, as
:mod:`.inbox` describes. Outbox and followers URLs appear in the documents,
but their routes do not exist yet: they answer 404.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from myco_graph.domain.models import ActorKind
from myco_graph.errors import BadUserInput, MycoError, NotFound, SignatureRefused
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

    async def instance_actor(self, request: Request) -> Response:
        # Always readable unsigned: a peer under authorized fetch must read
        # this key to check our own signed fetches (Mastodon does the same).
        if (media := negotiate(request.headers.get("accept", ""))) is None:
            return not_acceptable()
        pair = await keys.lookup_instance_key()
        document = render.render_instance_actor(self.urls, pair.public_pem)
        return actor_response(document, media)

    async def person(self, request: Request) -> Response:
        if (media := negotiate(request.headers.get("accept", ""))) is None:
            return not_acceptable()
        try:
            viewer = await self.reader(request)
            account = await lookups.lookup_member(request.path_params["handle"])
        except SignatureRefused as exc:
            return refused(exc)
        except NotFound as exc:
            return problem(404, exc.message)
        shared = await lookups.lookup_public_profile(account.id, viewer)
        pair = await keys.lookup_actor_key(ActorKind.PERSON, account.id)
        document = render.render_person(account, shared, self.urls, pair.public_pem)
        return actor_response(document, media, cache=PERSON_CACHE)

    async def group(self, request: Request) -> Response:
        if (media := negotiate(request.headers.get("accept", ""))) is None:
            return not_acceptable()
        try:
            await self.reader(request)
            project = await lookups.lookup_public_project(request.path_params["name"])
        except SignatureRefused as exc:
            return refused(exc)
        except NotFound as exc:
            return problem(404, exc.message)
        counts = await lookups.lookup_group_counts(project.id)
        pair = await keys.lookup_actor_key(ActorKind.GROUP, project.id)
        document = render.render_group(project, counts, self.urls, pair.public_pem)
        # A shared cache would hand a signed read to unsigned readers.
        cache = SIGNED_CACHE if self.settings.authorized_fetch else ACTOR_CACHE
        return actor_response(document, media, cache=cache)

    async def reader(self, request: Request) -> FederatedViewer:
        """Who reads an actor: a verified remote instance under authorized fetch.

        Without authorized fetch, a signature on a GET is not checked and the
        read is logged as an anonymous federated one.
        """
        if not self.settings.authorized_fetch:
            return FederatedViewer.of("anonymous")
        key = await lookups.lookup_signer(inbound(request), self.settings)
        return FederatedViewer.of(lookups.signer_origin(key))

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


def routes(settings: Settings) -> list[Route]:
    """The federation routes of an instance, for the app to mount."""
    return Views(settings).routes()
