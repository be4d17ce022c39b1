"""A project's polls in GraphQL: counts for readers, one ballot per member.

No field exposes a Vote row: results are counts, and a member sees only their
own choices. Counts and choices load in batches, so a page of polls costs the
same few statements whatever its length.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import strawberry
from strawberry import relay
from strawberry.dataloader import DataLoader

from myco_graph.domain import listings, models, polls
from myco_graph.domain.accounts import now
from myco_graph.domain.projects import Operation
from myco_graph.errors import NotFound
from myco_graph.graphql.accounts import (
    Account,
    load_account,
    node_row_id,
)
from myco_graph.graphql.context import Context, Info
from myco_graph.graphql.errors import UserError, user_errors
from myco_graph.graphql.execution import prepared
from myco_graph.graphql.paging import DEFAULT_PAGE_SIZE, Connection, position, wrapped
from myco_graph.graphql.project_base import ProjectBase, authorize, readable


def tally_loader(context: Context) -> DataLoader[int, polls.Tally]:
    """Batches the results of the polls of one request.

    Nothing is cached between loads: a websocket keeps its context for hours,
    and each event must show the counts as they are now.
    """
    loader = context.loaders.get("poll_tally")
    if loader is None:

        async def load(ids: list[int]) -> list[polls.Tally]:
            found = await polls.tallies(ids)
            return [found[i] for i in ids]

        loader = DataLoader(load_fn=load, cache=False)
        context.loaders["poll_tally"] = loader
    return loader


def ballot_loader(context: Context, viewer_id: int) -> DataLoader[int, list[int]]:
    """Batches the viewer's own choices in the polls of one request."""
    key = f"poll_ballot:{viewer_id}"
    loader = context.loaders.get(key)
    if loader is None:

        async def load(ids: list[int]) -> list[list[int]]:
            found = await polls.ballots_of(viewer_id, ids)
            return [found[i] for i in ids]

        loader = DataLoader(load_fn=load, cache=False)
        context.loaders[key] = loader
    return loader


@strawberry.type(description="One answer of a poll and how many chose it.")
class PollOption:
    index: int = strawberry.field(description="What a ballot names, from 0.")
    label: str
    votes: int


def _options(labels: list[str], tally: polls.Tally) -> list[PollOption]:
    return [
        PollOption(index=index, label=label, votes=tally.votes.get(index, 0))
        for index, label in enumerate(labels)
    ]


@strawberry.type(description="A question to a project's members; results are counts.")
class Poll(relay.Node):
    id: relay.NodeID[int]
    question: str
    multiple: bool = strawberry.field(description="Whether a ballot names several.")
    closes_at: datetime
    created_at: datetime
    labels: strawberry.Private[list[str]]
    author_id: strawberry.Private[int | None]
    # The options and voters when the poll was read with its counts (a list).
    listed_options: strawberry.Private[list[PollOption] | None] = None
    listed_voters: strawberry.Private[int | None] = None

    @strawberry.field(description="Whether the poll no longer takes ballots.")
    def closed(self) -> bool:
        return not polls.is_open(self, now())

    @strawberry.field(description="The answers in order, with their counts.")
    @prepared("listed_options")
    async def options(self, info: Info) -> list[PollOption]:
        tally = await tally_loader(info.context).load(self.id)
        return _options(self.labels, tally)

    @strawberry.field(description="How many members cast a ballot.")
    @prepared("listed_voters")
    async def voters(self, info: Info) -> int:
        return (await tally_loader(info.context).load(self.id)).voters

    @strawberry.field(
        description="The options you chose, empty until you vote; nobody else's."
    )
    async def viewer_choices(self, info: Info) -> list[int]:
        viewer = info.context.viewer
        if viewer is None:
            return []
        return await ballot_loader(info.context, viewer.id).load(self.id)

    @strawberry.field
    async def author(self, info: Info) -> Account | None:
        return await load_account(info, self.author_id)

    @classmethod
    def listed(cls, row: listings.PollRow) -> Poll:
        """A poll of a list, read with its counts."""
        poll = cls.of(row)
        poll.listed_options = _options(poll.labels, row.tally)
        poll.listed_voters = row.tally.voters
        return poll

    @classmethod
    def of(cls, row: models.Poll | listings.PollRow) -> Poll:
        return cls(
            id=row.id,
            question=row.question,
            multiple=row.multiple,
            closes_at=row.closes_at,
            created_at=row.created_at,
            labels=row.options,
            author_id=row.author_id,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Poll | None]:
        return await readable(info, models.Poll, node_ids, cls.of)


@strawberry.type
class PollsOfProject(ProjectBase):
    @strawberry.field(
        description="Polls, newest first; `open` keeps open or closed ones."
    )
    async def polls(
        self,
        info: Info,
        first: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
        open: bool | None = None,
    ) -> Connection[Poll]:
        await authorize(info, self.id, Operation.READ_CONTENT)
        rows = await listings.polls(self.id, first, position(first, after), open)
        return wrapped(rows, Poll.listed, after)


@strawberry.input
class CreatePollInput:
    project_id: relay.GlobalID
    question: str
    options: list[str]
    closes_at: datetime = strawberry.field(
        description="In the future, at most 90 days ahead, with an offset."
    )
    multiple: bool = False


@strawberry.input
class VoteInput:
    poll_id: relay.GlobalID
    choices: list[int] = strawberry.field(
        description="Option indexes: exactly one, or at least one if multiple."
    )


@strawberry.type
class PollPayload:
    user_errors: list[UserError]
    poll: Poll | None = None


@strawberry.type
class PollMutation:
    @strawberry.mutation(description="Asks the members of a project a question.")
    @user_errors
    async def create_poll(self, info: Info, input: CreatePollInput) -> PollPayload:
        project_id = node_row_id(input.project_id, "Project", "projectId")
        project, _ = await authorize(info, project_id, Operation.CREATE_POLL)
        draft = polls.PollDraft(
            question=input.question,
            options=input.options,
            closes_at=input.closes_at,
            multiple=input.multiple,
        )
        row = await polls.create(project, info.context.require_viewer(), draft)
        return PollPayload(user_errors=[], poll=Poll.of(row))

    @strawberry.mutation(
        description="Casts your ballot, replacing any earlier one, until closing."
    )
    @user_errors
    async def vote(self, info: Info, input: VoteInput) -> PollPayload:
        row = await models.Poll.get_or_none(
            id=node_row_id(input.poll_id, Poll, "pollId")
        )
        if row is None:
            raise NotFound("No such poll.")
        await authorize(info, row.project_id, Operation.VOTE)
        await polls.vote(row, info.context.require_viewer(), input.choices)
        return PollPayload(user_errors=[], poll=Poll.of(row))
