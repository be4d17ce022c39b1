from __future__ import annotations

import gc
import io
import warnings
from typing import Any

import httpx
from PIL import ExifTags, Image

from myco_graph.infrastructure.config import Settings
from tests.helpers import GraphQLClient, row_counts
from tests.project_support import (
    MINIMAL_PDF,
    UPLOAD_FILE,
    crew,
    global_id,
    jpeg_with_gps,
    local_path,
    ok,
    png,
    stored_files,
    upload,
)

FILES = """
query Files($name: String!, $first: Int, $after: String) {
  project(name: $name) {
    files(first: $first, after: $after) {
      edges { node { id name contentType size url uploader { handle } } }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""

DELETE_FILE = """
mutation Delete($input: DeleteFileInput!) {
  deleteFile(input: $input) { deletedFileId userErrors { field message code } }
}
"""

NODE = "query Node($id: ID!) { node(id: $id) { ... on File { name url } } }"


def payload(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert "errors" not in body, body["errors"]
    result: dict[str, Any] = body["data"]["uploadFile"]
    return result


async def uploaded(api: GraphQLClient, token: str, project_id: str, **kw: Any) -> Any:
    result = payload(await upload(api, token, project_id, jpeg_with_gps(), **kw))
    assert result["userErrors"] == [], result["userErrors"]
    return result["file"]


async def test_a_member_uploads_a_photo_and_the_project_lists_it(
    api: GraphQLClient,
) -> None:
    team = await crew(api)

    file = await uploaded(api, team["alice"], team.project_id, name="Picnic")

    listed = await api(FILES, {"name": "olgas"}, token=team["bob"])
    [edge] = listed.data["project"]["files"]["edges"]
    assert edge["node"]["id"] == file["id"]
    assert edge["node"]["name"] == "Picnic"
    assert edge["node"]["contentType"] == "image/jpeg"
    assert edge["node"]["uploader"] == {"handle": "alice"}


async def test_a_downloaded_photo_has_no_exif_and_no_gps_left(
    api: GraphQLClient,
) -> None:
    team = await crew(api)
    file = await uploaded(api, team["alice"], team.project_id)

    response = await api.http.get(local_path(file["url"]))

    photo = Image.open(io.BytesIO(response.content))
    assert response.status_code == 200
    assert dict(photo.getexif()) == {}
    assert photo.getexif().get_ifd(ExifTags.IFD.GPSInfo) == {}
    assert not {"exif", "xmp", "icc_profile", "comment"} & set(photo.info)
    assert b"taken at home" not in response.content
    assert photo.size == (20, 40)
    assert file["size"] == len(response.content)


async def test_files_are_listed_newest_first_one_page_at_a_time(
    api: GraphQLClient,
) -> None:
    team = await crew(api)
    for name in ("first", "second", "third"):
        await uploaded(api, team["alice"], team.project_id, name=name)

    page = await api(FILES, {"name": "olgas", "first": 2}, token=team["bob"])
    files = page.data["project"]["files"]
    after = files["pageInfo"]["endCursor"]
    rest = await api(FILES, {"name": "olgas", "after": after}, token=team["bob"])

    assert [e["node"]["name"] for e in files["edges"]] == ["third", "second"]
    assert files["pageInfo"]["hasNextPage"] is True
    assert [e["node"]["name"] for e in rest.data["project"]["files"]["edges"]] == [
        "first"
    ]


async def test_a_name_given_with_folders_keeps_only_its_last_part(
    api: GraphQLClient,
) -> None:
    team = await crew(api)

    file = await uploaded(api, team["alice"], team.project_id, filename="../../a.jpg")

    assert file["name"] == "a.jpg"


async def test_an_upload_leaves_no_temporary_file_open(api: GraphQLClient) -> None:
    team = await crew(api)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        await uploaded(api, team["alice"], team.project_id)
        gc.collect()

    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []


async def test_an_upload_just_over_the_limit_is_refused_and_stores_nothing(
    api: GraphQLClient, settings: Settings
) -> None:
    team = await crew(api)
    before, files_before = await row_counts(), stored_files(settings)
    too_big = jpeg_with_gps() + b"\x00" * settings.max_upload_bytes

    result = payload(await upload(api, team["alice"], team.project_id, too_big))

    assert [e["code"] for e in result["userErrors"]] == ["BAD_USER_INPUT"]
    assert "at most" in result["userErrors"][0]["message"]
    assert await row_counts() == before
    assert stored_files(settings) == files_before


async def test_an_upload_far_over_the_limit_is_refused_with_413(
    api: GraphQLClient, settings: Settings
) -> None:
    team = await crew(api)
    before, files_before = await row_counts(), stored_files(settings)
    far_too_big = b"\xff\xd8\xff" + b"\x00" * (settings.max_upload_bytes + 100_000)

    response = await upload(api, team["alice"], team.project_id, far_too_big)

    assert response.status_code == 413
    assert await row_counts() == before
    assert stored_files(settings) == files_before


async def test_content_that_contradicts_its_claimed_type_is_refused(
    api: GraphQLClient, settings: Settings
) -> None:
    team = await crew(api)
    before, files_before = await row_counts(), stored_files(settings)

    response = await upload(
        api, team["alice"], team.project_id, png(), content_type="image/jpeg"
    )

    [error] = payload(response)["userErrors"]
    assert (error["code"], error["field"]) == ("BAD_USER_INPUT", ["file"])
    assert "does not match" in error["message"]
    assert await row_counts() == before
    assert stored_files(settings) == files_before


async def test_a_text_file_is_refused_even_named_and_claimed_as_a_photo(
    api: GraphQLClient, settings: Settings
) -> None:
    team = await crew(api)
    before, files_before = await row_counts(), stored_files(settings)

    response = await upload(
        api,
        team["alice"],
        team.project_id,
        b"<html><script>alert(1)</script></html>",
        filename="photo.png",
        content_type="image/png",
    )

    [error] = payload(response)["userErrors"]
    assert "Only these files are accepted" in error["message"]
    assert await row_counts() == before
    assert stored_files(settings) == files_before


async def test_a_broken_photo_is_refused_without_quoting_it(
    api: GraphQLClient, settings: Settings
) -> None:
    team = await crew(api)
    files_before = stored_files(settings)

    response = await upload(api, team["alice"], team.project_id, jpeg_with_gps()[:300])

    [error] = payload(response)["userErrors"]
    assert error["message"] == "The image could not be read."
    assert stored_files(settings) == files_before


async def test_someone_outside_the_project_may_not_upload(
    api: GraphQLClient, settings: Settings
) -> None:
    team = await crew(api, outsiders=("eve",))
    before, files_before = await row_counts(), stored_files(settings)

    response = await upload(api, team["eve"], team.project_id, jpeg_with_gps())

    assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["FORBIDDEN"]
    assert await row_counts() == before
    assert stored_files(settings) == files_before


async def test_an_anonymous_upload_is_refused(
    api: GraphQLClient, settings: Settings
) -> None:
    team = await crew(api)
    before = await row_counts()

    response = await upload(api, None, team.project_id, jpeg_with_gps())

    # Project operations refuse anonymous callers as they refuse outsiders.
    assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["FORBIDDEN"]
    assert await row_counts() == before


async def test_a_private_project_does_not_exist_for_an_outsider_uploading(
    api: GraphQLClient,
) -> None:
    team = await crew(api, visibility="PRIVATE", outsiders=("eve",))

    response = await upload(api, team["eve"], team.project_id, jpeg_with_gps())

    assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["NOT_FOUND"]


async def test_a_file_sent_as_plain_json_is_refused(api: GraphQLClient) -> None:
    team = await crew(api)
    variables = {"input": {"projectId": team.project_id, "file": "not a file"}}

    result = await api(UPLOAD_FILE, variables, token=team["alice"])

    [error] = result.data["uploadFile"]["userErrors"]
    assert "multipart" in error["message"]


async def test_anyone_gets_links_to_a_public_projects_files(
    api: GraphQLClient,
) -> None:
    team = await crew(api)
    await uploaded(api, team["alice"], team.project_id)

    listed = await api(FILES, {"name": "olgas"})

    [edge] = listed.data["project"]["files"]["edges"]
    response = await api.http.get(local_path(edge["node"]["url"]))
    assert response.status_code == 200


async def test_a_private_projects_files_are_hidden_from_outsiders(
    api: GraphQLClient,
) -> None:
    team = await crew(api, visibility="PRIVATE", outsiders=("eve",))
    file = await uploaded(api, team["alice"], team.project_id)

    listed = await api(FILES, {"name": "olgas"}, token=team["eve"])
    node = await api(NODE, {"id": file["id"]}, token=team["eve"])
    seen = await api(NODE, {"id": file["id"]}, token=team["bob"])

    assert listed.data["project"] is None
    assert node.data["node"] is None
    assert seen.data["node"]["name"] == "photo.jpg"


async def test_the_uploader_deletes_a_file_and_its_bytes_and_link_go(
    api: GraphQLClient, settings: Settings
) -> None:
    team = await crew(api)
    files_before = stored_files(settings)
    file = await uploaded(api, team["alice"], team.project_id)

    deleted = await ok(api, DELETE_FILE, team["alice"], id=file["id"])

    assert deleted["deletedFileId"] == file["id"]
    assert stored_files(settings) == files_before
    assert (await api.http.get(local_path(file["url"]))).status_code == 404
    listed = await api(FILES, {"name": "olgas"}, token=team["alice"])
    assert listed.data["project"]["files"]["edges"] == []


async def test_another_member_may_not_delete_a_file_but_an_admin_may(
    api: GraphQLClient,
) -> None:
    team = await crew(api, admins=("ada",))
    file = await uploaded(api, team["alice"], team.project_id)

    refused = await api(DELETE_FILE, {"input": {"id": file["id"]}}, token=team["bob"])
    await ok(api, DELETE_FILE, team["ada"], id=file["id"])

    assert refused.codes == ["FORBIDDEN"]


async def test_deleting_an_unknown_file_is_not_found(api: GraphQLClient) -> None:
    team = await crew(api)

    result = await api(
        DELETE_FILE, {"input": {"id": global_id("File", 999)}}, token=team["olga"]
    )

    assert result.codes == ["NOT_FOUND"]


async def test_a_pdf_keeps_its_bytes(api: GraphQLClient) -> None:
    team = await crew(api)
    response = await upload(
        api,
        team["alice"],
        team.project_id,
        MINIMAL_PDF,
        filename="minutes.pdf",
        content_type="application/pdf",
    )
    file = payload(response)["file"]

    downloaded = await api.http.get(local_path(file["url"]))

    assert downloaded.content == MINIMAL_PDF
    assert file["contentType"] == "application/pdf"
