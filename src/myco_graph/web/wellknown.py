"""Public documents under ``/.well-known``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from myco_graph.domain import receipts


async def jwks(request: Request) -> Response:
    """The public key that signs consent receipts, for checking them offline."""
    return JSONResponse(
        await receipts.jwks(), headers={"cache-control": "public, max-age=3600"}
    )
