"""What every resolver gets: the viewer, the instance's services, the request."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeAlias

import strawberry
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from myco_graph.domain.accounts import TokenIssuer
from myco_graph.domain.models import Account, AccountKind, Token
from myco_graph.errors import Forbidden, Unauthenticated
from myco_graph.infrastructure.config import Settings


@dataclass(frozen=True)
class Services:
    """The instance-wide objects a request needs, made once at start."""

    settings: Settings
    issuer: TokenIssuer


@dataclass
class Context:
    """Per request (or per websocket connection) state."""

    services: Services
    request: Request | WebSocket
    response: Response | WebSocket | None = None
    viewer: Account | None = None
    token: Token | None = None
    connection_params: dict[str, Any] | None = None
    language: str = "en"
    loaders: dict[str, Any] = field(default_factory=dict)

    def require_viewer(self) -> Account:
        if self.viewer is None:
            raise Unauthenticated("Sign in first.")
        return self.viewer

    def require_kind(self, *kinds: AccountKind) -> Account:
        viewer = self.require_viewer()
        if viewer.kind not in kinds:
            raise Forbidden("Your account cannot do this.")
        return viewer

    def is_self_or_admin(self, account_id: int) -> bool:
        viewer = self.viewer
        return viewer is not None and (
            viewer.id == account_id or viewer.kind is AccountKind.ADMIN
        )


Info: TypeAlias = strawberry.Info[Context, None]
