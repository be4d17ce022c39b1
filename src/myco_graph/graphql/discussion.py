"""A project's discussion in GraphQL."""

from __future__ import annotations

from collections.abc import Awaitable, Iterable
from datetime import datetime

import strawberry
from strawberry import relay

from myco_graph.domain import discussion, listings, models
from myco_graph.domain.projects import Operation
from myco_graph.errors import NotFound
from myco_graph.graphql.accounts import (
    Account,
    AccountLike,
    account_loader,
    account_node,
    load_account,
    node_row_id,
    row_id,
)
from myco_graph.graphql.context import Info
from myco_graph.graphql.errors import UserError, user_errors
from myco_graph.graphql.paging import DEFAULT_PAGE_SIZE, Connection, position, wrapped
from myco_graph.graphql.project_base import ProjectBase, access, authorize, may


@strawberry.type(description="A message of a project discussion.")
class Message(relay.Node):
    id: relay.NodeID[int]
    body: str = strawberry.field(description="Empty once deleted or removed.")
    links: list[str]
    created_at: datetime
    edited_at: datetime | None
    deleted: bool
    removed_by_admin: bool
    author_id: strawberry.Private[int | None]
    mention_ids: strawberry.Private[list[int]]
    author_row: strawberry.Private[AccountLike | None] = None

    @strawberry.field(graphql_type=Account | None)
    def author(self, info: Info) -> Account | Awaitable[Account | None] | None:
        # Synchronous when the list read the author with the message: a page
        # of messages then makes no coroutine per message.
        if self.author_row is not None:
            return account_node(self.author_row)
        if self.author_id is None:
            return None
        return load_account(info, self.author_id)

    @strawberry.field(description="Accounts named with @handle in the body.")
    async def mentions(self, info: Info) -> list[Account]:
        rows = await account_loader(info.context).load_many(self.mention_ids)
        return [account_node(row) for row in rows if row is not None]

    @classmethod
    def of(cls, row: models.Message | listings.MessageRow) -> Message:
        """From a model, or a row of a list read with its authors."""
        if isinstance(row, listings.MessageRow):
            author: AccountLike | None = row.author
        else:
            # A model shows its author when it was read with it.
            author = row.author if isinstance(row.author, models.Account) else None
        return cls(
            id=row.id,
            body=row.body,
            links=row.links,
            created_at=row.created_at,
            edited_at=row.edited_at,
            deleted=row.deleted_at is not None,
            removed_by_admin=row.removed_by_admin,
            author_id=row.author_id,
            mention_ids=row.mentions,
            author_row=author,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Message | None]:
        ids = [row_id(node_id) for node_id in node_ids]
        found = {
            row.id: cls.of(row)
            for row in await models.Message.filter(id__in=ids)
            if await may(info, row.project_id, Operation.READ_CONTENT)
        }
        return [found.get(i) for i in ids]


@strawberry.type
class MessagesOfProject(ProjectBase):
    @strawberry.field(description="The discussion, newest first.")
    async def messages(
        self, info: Info, first: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Connection[Message]:
        await authorize(info, self.id, Operation.READ_CONTENT)
        rows = await listings.messages(self.id, first, position(first, after))
        return wrapped(rows, Message.of, after)


@strawberry.input
class PostMessageInput:
    project_id: relay.GlobalID
    body: str


@strawberry.input
class EditMessageInput:
    id: relay.GlobalID
    body: str


@strawberry.input
class DeleteMessageInput:
    id: relay.GlobalID


@strawberry.type
class MessagePayload:
    user_errors: list[UserError]
    message: Message | None = None


async def _message_row(info: Info, global_id: relay.GlobalID) -> models.Message:
    row = await models.Message.get_or_none(id=node_row_id(global_id, Message, "id"))
    if row is None:
        raise NotFound("No such message.")
    await access(info, row.project_id)
    return row


@strawberry.type
class DiscussionMutation:
    @strawberry.mutation(description="Posts a message in a project's discussion.")
    @user_errors
    async def post_message(self, info: Info, input: PostMessageInput) -> MessagePayload:
        project_id = node_row_id(input.project_id, "Project", "projectId")
        project, _ = await authorize(info, project_id, Operation.POST_MESSAGE)
        author = info.context.require_viewer()
        row = await discussion.post(project, author, input.body)
        return MessagePayload(user_errors=[], message=Message.of(row))

    @strawberry.mutation(description="Edits your own message.")
    @user_errors
    async def edit_message(self, info: Info, input: EditMessageInput) -> MessagePayload:
        row = await _message_row(info, input.id)
        # Editing writes in the discussion as posting does: a member who left
        # or was removed no longer rewrites what they posted.
        await authorize(info, row.project_id, Operation.POST_MESSAGE)
        author = info.context.require_viewer()
        row = await discussion.edit(author, row.id, input.body)
        return MessagePayload(user_errors=[], message=Message.of(row))

    @strawberry.mutation(description="Deletes your own message.")
    @user_errors
    async def delete_message(
        self, info: Info, input: DeleteMessageInput
    ) -> MessagePayload:
        author = info.context.require_viewer()
        row = await _message_row(info, input.id)
        row = await discussion.delete(author, row.id)
        return MessagePayload(user_errors=[], message=Message.of(row))

    @strawberry.mutation(description="A project admin removes a message.")
    @user_errors
    async def remove_message(
        self, info: Info, input: DeleteMessageInput
    ) -> MessagePayload:
        row = await _message_row(info, input.id)
        await authorize(info, row.project_id, Operation.REMOVE_MESSAGE)
        row = await discussion.remove(row, info.context.require_viewer())
        return MessagePayload(user_errors=[], message=Message.of(row))
