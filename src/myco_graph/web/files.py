"""``GET /files/<id>``: the bytes of a project file, behind a signed link.

The link comes from ``File.url`` in GraphQL, given only to those who may
read the project; this route trusts the signature alone, so a link works
without a token (in an ``<img>``, say) and only until it expires. Every
refusal is the same 404, whatever was wrong.
"""

from __future__ import annotations

import time
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from myco_graph.domain import files
from myco_graph.domain.models import StoredFile
from myco_graph.errors import NotFound
from myco_graph.infrastructure.config import Settings, secret_key
from myco_graph.infrastructure.storage import Storage, storage_for

# Served bytes are never run as a page: no sniffing, no scripts, no frames.
SAFE_HEADERS = {
    "x-content-type-options": "nosniff",
    "content-security-policy": "default-src 'none'; sandbox",
}


def disposition(stored: StoredFile) -> str:
    """``Content-Disposition``: images show inline, anything else downloads."""
    kind = "inline" if stored.content_type.startswith("image/") else "attachment"
    name = files.download_name(stored.name, stored.content_type)
    fallback = "".join(c if c.isascii() and c not in '"\\' else "_" for c in name)
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}"


class FileDownloads:
    """Serves files for valid download links."""

    def __init__(self, signer: files.DownloadSigner, storage: Storage) -> None:
        self.signer = signer
        self.storage = storage

    @classmethod
    def of(cls, settings: Settings) -> FileDownloads:
        signer = files.DownloadSigner(
            secret_key(settings), settings.file_url_ttl_seconds
        )
        return cls(signer, storage_for(settings))

    async def get(self, request: Request) -> Response:
        expires = request.query_params.get("expires", "")
        stored = await files.by_signed_link(
            request.path_params["file_id"],
            expires,
            request.query_params.get("signature", ""),
            self.signer,
        )
        if stored is None:
            return self.not_found()
        try:
            data = await self.storage.read(stored.storage_key)
        except NotFound:
            return self.not_found()
        # The link's remaining life bounds how long the browser keeps a copy.
        max_age = max(0, int(expires) - int(time.time()))
        headers = {
            **SAFE_HEADERS,
            "content-disposition": disposition(stored),
            "cache-control": f"private, max-age={max_age}",
        }
        return Response(data, media_type=stored.content_type, headers=headers)

    @staticmethod
    def not_found() -> Response:
        return Response(
            b"Not found.",
            status_code=404,
            media_type="text/plain",
            headers={**SAFE_HEADERS, "cache-control": "no-store"},
        )
