from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from myco_graph.domain.files import DownloadSigner
from myco_graph.domain.models import StoredFile
from myco_graph.infrastructure.config import Settings, secret_key
from tests.helpers import GraphQLClient
from tests.project_support import (
    MINIMAL_PDF,
    crew,
    jpeg_with_gps,
    local_path,
    row_id,
    upload,
)


async def uploaded(
    api: GraphQLClient, *, visibility: str = "PUBLIC", **kw: Any
) -> dict[str, Any]:
    team = await crew(api, members=("alice",), visibility=visibility)
    response = await upload(api, team["alice"], team.project_id, **kw)
    file: dict[str, Any] = response.json()["data"]["uploadFile"]["file"]
    return file


async def photo(api: GraphQLClient, visibility: str = "PUBLIC") -> dict[str, Any]:
    return await uploaded(api, visibility=visibility, data=jpeg_with_gps())


def link_parts(url: str) -> tuple[str, dict[str, str]]:
    parts = urlsplit(url)
    return parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()}


async def test_a_signed_link_serves_the_photo_safely(api: GraphQLClient) -> None:
    file = await photo(api)

    response = await api.http.get(local_path(file["url"]))

    assert response.status_code == 200
    assert response.headers["content-type"] == "image/jpeg"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"].startswith("private, max-age=")
    assert response.headers["content-disposition"].startswith("inline;")


async def test_a_link_is_absolute_and_short_lived(
    api: GraphQLClient, settings: Settings
) -> None:
    file = await photo(api)

    path, query = link_parts(file["url"])

    assert file["url"].startswith("http://coop.test/files/")
    assert path == f"/files/{row_id(file['id'])}"
    assert 0 < int(query["expires"]) - time.time() <= settings.file_url_ttl_seconds


async def test_a_pdf_downloads_as_an_attachment_named_as_a_pdf(
    api: GraphQLClient,
) -> None:
    file = await uploaded(
        api,
        data=MINIMAL_PDF,
        filename="minutes",
        content_type="application/pdf",
    )

    response = await api.http.get(local_path(file["url"]))

    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == (
        "attachment; filename=\"minutes.pdf\"; filename*=UTF-8''minutes.pdf"
    )


async def test_a_name_outside_ascii_survives_the_download_header(
    api: GraphQLClient,
) -> None:
    file = await uploaded(api, data=jpeg_with_gps(), name='Fête "été".jpg')

    response = await api.http.get(local_path(file["url"]))

    assert response.headers["content-disposition"] == (
        'inline; filename="F_te __t__.jpg"; '
        "filename*=UTF-8''F%C3%AAte%20%22%C3%A9t%C3%A9%22.jpg"
    )


@pytest.mark.parametrize(
    "change",
    [
        lambda q: {**q, "signature": q["signature"][::-1]},
        lambda q: {**q, "expires": str(int(q["expires"]) + 60)},
        lambda q: {"expires": q["expires"]},
        lambda q: {},
    ],
    ids=["tampered", "extended", "unsigned", "bare"],
)
async def test_a_link_that_was_not_signed_as_is_is_not_found(
    api: GraphQLClient, change: Any
) -> None:
    file = await photo(api)
    path, query = link_parts(file["url"])

    response = await api.http.get(path, params=change(query))

    assert response.status_code == 404
    assert response.content == b"Not found."


async def test_a_private_projects_file_is_unreachable_without_a_signature(
    api: GraphQLClient,
) -> None:
    file = await photo(api, visibility="PRIVATE")
    path, _ = link_parts(file["url"])

    assert (await api.http.get(path)).status_code == 404
    assert (await api.http.get(local_path(file["url"]))).status_code == 200


async def test_an_expired_link_is_not_found(
    api: GraphQLClient, settings: Settings
) -> None:
    file = await photo(api)
    stored = await StoredFile.get(id=row_id(file["id"]))
    signer = DownloadSigner(secret_key(settings), settings.file_url_ttl_seconds)

    stale = signer.query(stored, now=time.time() - 3_600)

    response = await api.http.get(f"/files/{stored.id}?{stale}")
    assert response.status_code == 404


async def test_a_link_moved_to_another_file_is_not_found(api: GraphQLClient) -> None:
    file = await photo(api)
    path, query = link_parts(file["url"])

    response = await api.http.get(f"{path}0", params=query)

    assert response.status_code == 404


async def test_a_file_whose_bytes_are_gone_is_not_found(
    api: GraphQLClient, settings: Settings
) -> None:
    file = await photo(api)
    stored = await StoredFile.get(id=row_id(file["id"]))
    (settings.files_dir / stored.storage_key[:2] / stored.storage_key).unlink()

    response = await api.http.get(local_path(file["url"]))

    assert response.status_code == 404


async def test_an_id_beyond_any_row_is_not_found(api: GraphQLClient) -> None:
    response = await api.http.get(f"/files/{2**70}?expires=1&signature=x")

    assert response.status_code == 404
