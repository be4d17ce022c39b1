"""What the project tests share: projects and members, through the API or the ORM."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from PIL import ExifTags, Image, ImageCms
from strawberry.relay import from_base64, to_base64

from myco_graph.domain.accounts import now
from myco_graph.domain.events import project_channel
from myco_graph.domain.models import (
    Account,
    AccountKind,
    MembershipState,
    Name,
    Project,
    ProjectMember,
    ProjectRole,
    Visibility,
)
from myco_graph.infrastructure.config import Settings
from myco_graph.infrastructure.events import bus
from tests.helpers import GraphQLClient, Subscriptions

# Projects through the API -------------------------------------------------------

CREATE_PROJECT = """
mutation Create($input: CreateProjectInput!) {
  createProject(input: $input) { project { id } userErrors { field message } }
}
"""

INVITE = """
mutation Invite($input: ProjectMemberInput!) {
  inviteToProject(input: $input) { userErrors { field message } }
}
"""

JOIN = """
mutation Join($input: JoinProjectInput!) {
  joinProject(input: $input) { project { viewerRole } userErrors { field message } }
}
"""

SET_ROLE = """
mutation Role($input: SetProjectRoleInput!) {
  setProjectRole(input: $input) { userErrors { field message } }
}
"""

VIEWER_ID = "{ viewer { id } }"


@dataclass
class Crew:
    """A project made through the API, with the session token of each person."""

    project_id: str
    tokens: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, handle: str) -> str:
        return self.tokens[handle]


def row_id(global_id: str) -> int:
    return int(from_base64(global_id)[1])


def global_id(type_name: str, row: int) -> str:
    return to_base64(type_name, row)


async def viewer_id(api: GraphQLClient, token: str) -> str:
    return (await api(VIEWER_ID, token=token)).data["viewer"]["id"]  # type: ignore[no-any-return]


async def ok(api: GraphQLClient, query: str, token: str, **input: Any) -> Any:
    """Runs a mutation whose one field must answer without user errors."""
    data = (await api(query, {"input": input}, token=token)).data
    [payload] = data.values()
    assert payload["userErrors"] == [], payload["userErrors"]
    return payload


async def crew(
    api: GraphQLClient,
    owner: str = "olga",
    members: tuple[str, ...] = ("alice", "bob"),
    *,
    admins: tuple[str, ...] = (),
    outsiders: tuple[str, ...] = (),
    visibility: str = "PUBLIC",
) -> Crew:
    """A project owned by ``owner``; members and admins join by invitation."""
    tokens = {owner: await api.sign_up(owner)}
    created = await ok(
        api, CREATE_PROJECT, tokens[owner], name=f"{owner}s", visibility=visibility
    )
    project_id = created["project"]["id"]
    for handle in (*members, *admins):
        tokens[handle] = await api.sign_up(handle)
        member_id = await viewer_id(api, tokens[handle])
        target = {"projectId": project_id, "memberId": member_id}
        await ok(api, INVITE, tokens[owner], **target)
        await ok(api, JOIN, tokens[handle], projectId=project_id)
        if handle in admins:
            await ok(api, SET_ROLE, tokens[owner], **target, role="ADMIN")
    for handle in outsiders:
        tokens[handle] = await api.sign_up(handle)
    return Crew(project_id, tokens)


async def until_listening(connection: Subscriptions, project_id: str) -> None:
    """Waits until a projectActivity subscription receives from the real bus.

    A probe goes round the bus until it comes back, so that the event a test
    cares about cannot be published before the subscription listens.
    """
    probe = {"id": 0, "kind": "test.probe", "payload": {}, "at": now().isoformat()}
    for _ in range(100):
        await bus().publish(project_channel(row_id(project_id)), probe)
        try:
            message = await connection.receive(seconds=0.05)
        except TimeoutError:
            continue
        if message["payload"]["data"]["projectActivity"]["kind"] == "test.probe":
            return
    raise AssertionError("the subscription never started listening")


async def next_activity(connection: Subscriptions, kind: str) -> dict[str, Any]:
    """The next projectActivity message of ``kind``.

    Probes still in flight are skipped, and so is anything else: on a Redis
    shared with another test run, ``project:1`` may carry its events too.
    """
    while True:
        message = await connection.receive()
        assert message["type"] == "next", message
        payload = message["payload"]
        activity: dict[str, Any] = (payload["data"] or {}).get("projectActivity") or {}
        if activity.get("kind") == kind:
            assert "errors" not in payload, payload["errors"]
            return activity


# Projects through the ORM, for tests of the domain ------------------------------


async def make_account(handle: str) -> Account:
    """A member made directly in the database; it never signs in."""
    name = await Name.create(key=handle.casefold())
    return await Account.create(
        kind=AccountKind.MEMBER,
        name=name,
        handle=handle,
        display_name=handle.title(),
        email=f"{handle}@example.org",
        password_hash="-",
    )


async def make_project(
    owner: Account, *members: Account, visibility: Visibility = Visibility.PUBLIC
) -> Project:
    """A project whose owner and members are active."""
    name = await Name.create(key=f"{owner.handle}s".casefold())
    project = await Project.create(
        name=name, handle=f"{owner.handle}s", visibility=visibility, created_by=owner
    )
    roles = [(owner, ProjectRole.OWNER), *((m, ProjectRole.MEMBER) for m in members)]
    for account, role in roles:
        await ProjectMember.create(
            project=project, account=account, role=role, state=MembershipState.ACTIVE
        )
    return project


# Files and photos -------------------------------------------------------------

UPLOAD_FILE = """
mutation Upload($input: UploadFileInput!) {
  uploadFile(input: $input) {
    file { id name contentType size url uploader { handle } }
    userErrors { field message code }
  }
}
"""

MINIMAL_PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


async def upload(
    api: GraphQLClient,
    token: str | None,
    project_id: str,
    data: bytes,
    *,
    filename: str = "photo.jpg",
    content_type: str = "image/jpeg",
    name: str | None = None,
) -> httpx.Response:
    """Sends uploadFile as a GraphQL multipart request, as browsers do."""
    variables: dict[str, Any] = {"input": {"projectId": project_id, "file": None}}
    if name is not None:
        variables["input"]["name"] = name
    form = {
        "operations": json.dumps({"query": UPLOAD_FILE, "variables": variables}),
        "map": json.dumps({"0": ["variables.input.file"]}),
    }
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return await api.http.post(
        "/graphql",
        data=form,
        files={"0": (filename, data, content_type)},
        headers=headers,
    )


def jpeg_with_gps(size: tuple[int, int] = (40, 20)) -> bytes:
    """A JPEG as a phone writes it: turned by EXIF, with GPS, XMP, ICC, comment."""
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # shown turned a quarter clockwise
    exif[ExifTags.Base.Make] = "Phone maker"
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (48.0, 51.0, 29.0),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (2.0, 17.0, 40.0),
    }
    out = io.BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(
        out,
        "JPEG",
        exif=exif,
        icc_profile=ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes(),
        comment=b"taken at home",
        xmp=b"<x:xmpmeta>taken at home</x:xmpmeta>",
    )
    return out.getvalue()


def png(size: tuple[int, int] = (8, 8)) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", size, (10, 20, 30, 128)).save(out, "PNG")
    return out.getvalue()


def stored_files(settings: Settings) -> set[Path]:
    """Every file in the storage folder, to prove that an upload left nothing."""
    return {path for path in settings.files_dir.rglob("*") if path.is_file()}


def local_path(url: str) -> str:
    """The path and query of a link, to follow it on the test server."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


# Crews made fast: people through the ORM, the project through the API ---------
# (added for the membership, discussion and privacy tests)


async def quick_crew(
    api: GraphQLClient,
    settings: Settings,
    owner: str = "olga",
    members: tuple[str, ...] = ("alice", "bob"),
    *,
    admins: tuple[str, ...] = (),
    outsiders: tuple[str, ...] = (),
    visibility: str = "PUBLIC",
    sharing: dict[str, list[str]] | None = None,
) -> Crew:
    """Like :func:`crew`, but accounts are made in the database and signed in
    with issued tokens, so no password is hashed; the project, invitations and
    joins still go through the API. ``sharing`` maps a handle to the
    ProfileFieldKey names it shares with the project."""
    # Imported here so that this addition to a shared module stays in one place.
    from tests.consent_support import People

    people = People.of(settings)
    shared = sharing or {}

    def chosen(handle: str) -> dict[str, Any]:
        return {"sharing": {"fields": shared[handle]}} if handle in shared else {}

    tokens = {owner: await people.token(owner)}
    created = await ok(
        api,
        CREATE_PROJECT,
        tokens[owner],
        name=f"{owner}s",
        visibility=visibility,
        **chosen(owner),
    )
    project_id = created["project"]["id"]
    for handle in (*members, *admins):
        tokens[handle] = await people.token(handle)
        member_id = await viewer_id(api, tokens[handle])
        target = {"projectId": project_id, "memberId": member_id}
        await ok(api, INVITE, tokens[owner], **target)
        await ok(api, JOIN, tokens[handle], projectId=project_id, **chosen(handle))
        if handle in admins:
            await ok(api, SET_ROLE, tokens[owner], **target, role="ADMIN")
    for handle in outsiders:
        tokens[handle] = await people.token(handle)
    return Crew(project_id, tokens)
