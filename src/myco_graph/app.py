"""Assembles the ASGI application: routes, middleware and start-up."""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Route, WebSocketRoute

from myco_graph.domain import accounts
from myco_graph.federation import views as federation
from myco_graph.graphql.context import Services
from myco_graph.graphql.schema import build_schema
from myco_graph.graphql.view import GraphQLView
from myco_graph.infrastructure.config import Settings, load_settings, secret_key
from myco_graph.infrastructure.logs import configure_logging
from myco_graph.runtime import running
from myco_graph.web import health, wellknown
from myco_graph.web.files import FileDownloads
from myco_graph.web.middleware import BodyLimit, RequestContext

log = logging.getLogger(__name__)


def make_services(settings: Settings) -> Services:
    issuer = accounts.TokenIssuer(
        secret=secret_key(settings),
        session_ttl=timedelta(hours=settings.session_ttl_hours),
    )
    return Services(settings=settings, issuer=issuer)


def settle_garbage_collector() -> None:
    """Keeps the collector off the long-lived start-up objects, and runs it less.

    A GraphQL response allocates tens of thousands of short-lived objects;
    with the default thresholds, full collections over the ORM's and the
    schema's objects took more than half of a large page's time. Frozen
    objects are never scanned again (see the gc module's ``freeze``).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def create_app(settings: Settings | None = None) -> Starlette:
    """The whole instance as one ASGI app."""
    settings = settings or load_settings()
    services = make_services(settings)
    graphql = GraphQLView(build_schema(settings), services)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with running(settings, periodic=True):
            settle_garbage_collector()
            log.info("instance ready", extra={"domain": settings.domain})
            yield

    return Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/healthz", health.healthz),
            Route("/readyz", health.readyz),
            Route("/metrics", health.metrics),
            Route("/.well-known/jwks.json", wellknown.jwks),
            *federation.routes(settings),
            Route("/files/{file_id:int}", FileDownloads.of(settings).get),
        ],
        middleware=[
            Middleware(RequestContext),
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origins,
                allow_methods=["GET", "POST"],
                allow_headers=["authorization", "content-type", "x-request-id"],
                expose_headers=["x-request-id", "retry-after"],
                max_age=600,
            ),
            Middleware(
                BodyLimit,
                max_bytes=settings.max_body_bytes,
                max_upload_bytes=settings.max_upload_bytes,
            ),
        ],
        lifespan=lifespan,
    )


def app_factory() -> Starlette:
    """Entry point for ``uvicorn --factory``: settings come from the environment."""
    settings = load_settings()
    configure_logging(settings.log_level.value, settings.log_format.value)
    return create_app(settings)
