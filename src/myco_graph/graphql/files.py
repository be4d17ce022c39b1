"""A project's files and photos in GraphQL: uploads, lists, signed links."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import strawberry
from starlette.datastructures import UploadFile
from strawberry import relay
from strawberry.file_uploads import Upload

from myco_graph.domain import files, models
from myco_graph.domain.projects import Operation
from myco_graph.errors import BadUserInput, NotFound
from myco_graph.graphql.accounts import (
    Account,
    load_account,
    node_row_id,
)
from myco_graph.graphql.context import Info
from myco_graph.graphql.errors import UserError, user_errors
from myco_graph.graphql.paging import DEFAULT_PAGE_SIZE, Connection, connection
from myco_graph.graphql.project_base import (
    ProjectBase,
    access,
    authorize,
    readable,
)
from myco_graph.infrastructure.config import secret_key
from myco_graph.infrastructure.storage import storage_for


def signer(info: Info) -> files.DownloadSigner:
    """The link signer, made once per request (the secret may sit in a file)."""
    loaders = info.context.loaders
    if "file_signer" not in loaders:
        settings = info.context.services.settings
        loaders["file_signer"] = files.DownloadSigner(
            secret_key(settings), settings.file_url_ttl_seconds
        )
    found: files.DownloadSigner = loaders["file_signer"]
    return found


@strawberry.type(description="A file or photo of a project.")
class File(relay.Node):
    id: relay.NodeID[int]
    name: str
    content_type: str
    size: int = strawberry.field(description="In bytes, as stored.")
    created_at: datetime
    row: strawberry.Private[models.StoredFile]

    @strawberry.field
    async def uploader(self, info: Info) -> Account | None:
        return await load_account(info, self.row.uploader_id)

    @strawberry.field(
        description="A download link, valid for a few minutes, for those who "
        "may read the project."
    )
    async def url(self, info: Info) -> str:
        await authorize(info, self.row.project_id, Operation.READ_CONTENT)
        base = str(info.context.services.settings.base_url).rstrip("/")
        return f"{base}/files/{self.id}?{signer(info).query(self.row)}"

    @classmethod
    def of(cls, row: models.StoredFile) -> File:
        return cls(
            id=row.id,
            name=row.name,
            content_type=row.content_type,
            size=row.size,
            created_at=row.created_at,
            row=row,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[File | None]:
        return await readable(info, models.StoredFile, node_ids, cls.of)


@strawberry.type
class FilesOfProject(ProjectBase):
    @strawberry.field(description="Files and photos, newest first.")
    async def files(
        self, info: Info, first: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Connection[File]:
        await authorize(info, self.id, Operation.READ_CONTENT)
        query = models.StoredFile.filter(project_id=self.id)
        return await connection(query, File.of, first, after)


@strawberry.input
class UploadFileInput:
    project_id: relay.GlobalID
    file: Upload = strawberry.field(
        description="The file, sent as the GraphQL multipart request spec says."
    )
    name: str | None = strawberry.field(
        default=None, description="Defaults to the uploaded file's name."
    )


@strawberry.input
class DeleteFileInput:
    id: relay.GlobalID


@strawberry.type
class FilePayload:
    user_errors: list[UserError]
    file: File | None = None


@strawberry.type
class DeleteFilePayload:
    user_errors: list[UserError]
    deleted_file_id: relay.GlobalID | None = None


async def _incoming(upload: object, name: str | None, max_bytes: int) -> files.Incoming:
    """The upload's bytes, read no further than one byte past the limit."""
    if not isinstance(upload, UploadFile):
        # A JSON request may put anything in the variable: only a multipart
        # request carries a file.
        raise BadUserInput("Send the file as a multipart request.", field="file")
    data = await upload.read(max_bytes + 1)
    given = name if name is not None else upload.filename or ""
    return files.Incoming(name=given, claimed_type=upload.content_type, data=data)


@strawberry.type
class FileMutation:
    @strawberry.mutation(description="Adds a file or photo to a project.")
    @user_errors
    async def upload_file(self, info: Info, input: UploadFileInput) -> FilePayload:
        project_id = node_row_id(input.project_id, "Project", "projectId")
        project, _ = await authorize(info, project_id, Operation.UPLOAD_FILE)
        uploader = info.context.require_viewer()
        settings = info.context.services.settings
        incoming = await _incoming(input.file, input.name, settings.max_upload_bytes)
        row = await files.upload(
            project,
            uploader,
            incoming,
            files.UploadPolicy.of(settings),
            storage_for(settings),
        )
        return FilePayload(user_errors=[], file=File.of(row))

    @strawberry.mutation(
        description="Deletes a file; its uploader or the project's staff may."
    )
    @user_errors
    async def delete_file(
        self, info: Info, input: DeleteFileInput
    ) -> DeleteFilePayload:
        viewer = info.context.require_viewer()
        row = await models.StoredFile.get_or_none(id=node_row_id(input.id, File, "id"))
        if row is None:
            raise NotFound("No such file.")
        _, actor = await access(info, row.project_id)
        storage = storage_for(info.context.services.settings)
        await files.delete(row, viewer, actor, storage)
        return DeleteFilePayload(user_errors=[], deleted_file_id=input.id)
