"""Projects of other instances in GraphQL: found, joined, read and written in.

Only signed-in members take part: they act as their own Person actor. What a
remote project says about itself (its name and summary) anyone signed in may
read; its messages, members and polls only a member whose joining the
project accepted.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import Enum

import strawberry
from strawberry import relay

from myco_graph.domain import models
from myco_graph.domain.models import AccountKind, RemoteMembershipState
from myco_graph.errors import NotFound
from myco_graph.federation import remote
from myco_graph.graphql.accounts import node_row_id, row_id
from myco_graph.graphql.context import Info
from myco_graph.graphql.errors import UserError, user_errors
from myco_graph.graphql.paging import DEFAULT_PAGE_SIZE, Connection, connection
from myco_graph.infrastructure.config import Settings


@strawberry.enum(description="Where the viewer's joining of a remote project is.")
class RemoteMembership(Enum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


@strawberry.type(description="A profile value a remote member shares with a project.")
class RemoteField:
    key: str = strawberry.field(description="The field's key; empty if not given.")
    label: str
    value: str


@strawberry.type(description="A member of a remote project, read from there now.")
class RemoteMember:
    handle: str
    url: str
    fields: list[RemoteField]

    @classmethod
    def of(cls, member: remote.RemoteMember) -> RemoteMember:
        fields = [
            RemoteField(key=f.key, label=f.label, value=f.value) for f in member.fields
        ]
        return cls(handle=member.handle, url=member.url, fields=fields)


@strawberry.type
class RemotePollOption:
    name: str
    votes: int


@strawberry.type(description="A poll of a remote project, read from there now.")
class RemotePoll:
    url: str
    question: str
    options: list[RemotePollOption]
    multiple: bool
    closes_at: datetime | None
    closed: bool

    @classmethod
    def of(cls, question: remote.RemoteQuestion) -> RemotePoll:
        return cls(
            url=question.url,
            question=question.text,
            options=[
                RemotePollOption(name=o.name, votes=o.votes) for o in question.options
            ],
            multiple=question.multiple,
            closes_at=question.closes_at,
            closed=question.closed,
        )


@strawberry.type(description="A message of a remote project.")
class RemoteNote(relay.Node):
    id: relay.NodeID[int]
    url: str
    author_url: str
    author_handle: str
    content: str = strawberry.field(description="HTML, as the project relayed it.")
    text: str = strawberry.field(description="The content as plain text.")
    published_at: datetime
    updated_at: datetime | None

    @classmethod
    def of(cls, row: models.RemoteNote) -> RemoteNote:
        return cls(
            id=row.id,
            url=row.ap_id,
            author_url=row.author_url,
            author_handle=row.author_name,
            content=row.content,
            text=remote.plain_text(row.content),
            published_at=row.published_at,
            updated_at=row.updated_at,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[RemoteNote | None]:
        viewer = info.context.viewer
        ids = [row_id(node_id) for node_id in node_ids]
        if viewer is None:
            return [None for _ in ids]
        rows = await models.RemoteNote.filter(
            id__in=ids,
            deleted_at__isnull=True,
            group__memberships__account_id=viewer.id,
            group__memberships__state=RemoteMembershipState.ACCEPTED,
        )
        found = {row.id: cls.of(row) for row in rows}
        return [found.get(i) for i in ids]


@strawberry.type(description="A project on another instance.")
class RemoteProject(relay.Node):
    id: relay.NodeID[int]
    address: str = strawberry.field(description="name@domain, as members write it.")
    url: str
    name: str
    summary: str
    row: strawberry.Private[models.RemoteActor]

    @strawberry.field(description="The viewer's joining of it, or null.")
    async def membership(self, info: Info) -> RemoteMembership | None:
        viewer = info.context.require_viewer()
        row = await remote.membership_of(viewer, self.row)
        return RemoteMembership(row.state.value) if row is not None else None

    @strawberry.field(description="Its messages, newest first; for its members.")
    async def messages(
        self, info: Info, first: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Connection[RemoteNote]:
        viewer = _member(info)
        await remote.accepted_group(viewer, self.id)
        query = models.RemoteNote.filter(group_id=self.id, deleted_at__isnull=True)
        return await connection(query, RemoteNote.of, first, after)

    @strawberry.field(description="Its members and what they share with it.")
    async def members(self, info: Info) -> list[RemoteMember]:
        viewer = _member(info)
        found = await remote.fetch_members(viewer, self.id, _settings(info))
        return [RemoteMember.of(member) for member in found]

    @strawberry.field(description="One of its polls, by the poll's URL.")
    async def poll(self, info: Info, url: str) -> RemotePoll:
        viewer = _member(info)
        group = await remote.accepted_group(viewer, self.id)
        question = await remote.fetch_question(viewer, group, url, _settings(info))
        return RemotePoll.of(question)

    @classmethod
    def of(cls, row: models.RemoteActor) -> RemoteProject:
        return cls(
            id=row.id,
            address=f"{row.handle}@{row.domain}",
            url=row.url,
            name=row.name or row.handle,
            summary=row.summary,
            row=row,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[RemoteProject | None]:
        ids = [row_id(node_id) for node_id in node_ids]
        if info.context.viewer is None:
            return [None for _ in ids]
        rows = await models.RemoteActor.filter(id__in=ids, type=remote.GROUP)
        found = {row.id: cls.of(row) for row in rows}
        return [found.get(i) for i in ids]


def _member(info: Info) -> models.Account:
    return info.context.require_kind(AccountKind.MEMBER)


def _settings(info: Info) -> Settings:
    return info.context.services.settings


async def _project_row(global_id: relay.GlobalID, field: str) -> models.RemoteActor:
    group_id = node_row_id(global_id, RemoteProject, field)
    row = await models.RemoteActor.get_or_none(id=group_id, type=remote.GROUP)
    if row is None:
        raise NotFound("No such remote project.")
    return row


@strawberry.type
class RemoteQuery:
    @strawberry.field(description="A project on another instance, by its address.")
    async def remote_project(self, info: Info, address: str) -> RemoteProject:
        _member(info)
        row = await remote.lookup_remote(address, _settings(info))
        return RemoteProject.of(row)

    @strawberry.field(
        description="The remote projects the viewer joined, newest first."
    )
    async def my_remote_projects(
        self, info: Info, first: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Connection[RemoteProject]:
        viewer = _member(info)
        query = models.RemoteActor.filter(memberships__account_id=viewer.id)
        return await connection(query, RemoteProject.of, first, after)


@strawberry.input
class JoinRemoteProjectInput:
    address: str = strawberry.field(description="name@domain, or the project's URL.")


@strawberry.input
class RemoteProjectInput:
    project_id: relay.GlobalID


@strawberry.input
class PostToRemoteProjectInput:
    project_id: relay.GlobalID
    body: str


@strawberry.input
class EditRemoteNoteInput:
    id: relay.GlobalID
    body: str


@strawberry.input
class DeleteRemoteNoteInput:
    id: relay.GlobalID


@strawberry.input
class VoteInRemotePollInput:
    question_url: str
    choices: list[str] = strawberry.field(
        description="Option names, as the poll has them."
    )


@strawberry.type
class RemoteProjectPayload:
    user_errors: list[UserError]
    project: RemoteProject | None = None


@strawberry.type
class RemoteNotePayload:
    user_errors: list[UserError]
    note: RemoteNote | None = None


@strawberry.type
class RemotePollPayload:
    user_errors: list[UserError]
    poll: RemotePoll | None = strawberry.field(
        default=None, description="As it was before the ballot counts."
    )


def _note_id(global_id: relay.GlobalID) -> int:
    return node_row_id(global_id, RemoteNote, "id")


@strawberry.type
class RemoteMutation:
    @strawberry.mutation(description="Asks to join a project on another instance.")
    @user_errors
    async def join_remote_project(
        self, info: Info, input: JoinRemoteProjectInput
    ) -> RemoteProjectPayload:
        viewer = _member(info)
        row = await remote.lookup_remote(input.address, _settings(info))
        await remote.join(viewer, row, _settings(info))
        return RemoteProjectPayload(user_errors=[], project=RemoteProject.of(row))

    @strawberry.mutation(description="Leaves a project on another instance.")
    @user_errors
    async def leave_remote_project(
        self, info: Info, input: RemoteProjectInput
    ) -> RemoteProjectPayload:
        viewer = _member(info)
        row = await _project_row(input.project_id, "projectId")
        await remote.leave(viewer, row, _settings(info))
        return RemoteProjectPayload(user_errors=[], project=RemoteProject.of(row))

    @strawberry.mutation(description="Posts a message in a remote project.")
    @user_errors
    async def post_to_remote_project(
        self, info: Info, input: PostToRemoteProjectInput
    ) -> RemoteNotePayload:
        viewer = _member(info)
        group = await _project_row(input.project_id, "projectId")
        note = await remote.post_note(viewer, group.id, input.body, _settings(info))
        return RemoteNotePayload(user_errors=[], note=RemoteNote.of(note))

    @strawberry.mutation(description="Edits your own message in a remote project.")
    @user_errors
    async def edit_remote_note(
        self, info: Info, input: EditRemoteNoteInput
    ) -> RemoteNotePayload:
        viewer = _member(info)
        note_id = _note_id(input.id)
        note = await remote.edit_note(viewer, note_id, input.body, _settings(info))
        return RemoteNotePayload(user_errors=[], note=RemoteNote.of(note))

    @strawberry.mutation(description="Deletes your own message in a remote project.")
    @user_errors
    async def delete_remote_note(
        self, info: Info, input: DeleteRemoteNoteInput
    ) -> RemoteNotePayload:
        viewer = _member(info)
        note = await remote.delete_note(viewer, _note_id(input.id), _settings(info))
        return RemoteNotePayload(user_errors=[], note=RemoteNote.of(note))

    @strawberry.mutation(description="Votes in a poll of a remote project.")
    @user_errors
    async def vote_in_remote_poll(
        self, info: Info, input: VoteInRemotePollInput
    ) -> RemotePollPayload:
        viewer = _member(info)
        settings = _settings(info)
        question = await remote.vote(
            viewer, input.question_url, input.choices, settings
        )
        return RemotePollPayload(user_errors=[], poll=RemotePoll.of(question))
