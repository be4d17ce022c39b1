"""A project's money pools in GraphQL: totals for readers, a ledger for members.

A hidden amount and every payment reference are shown only to the person who
gave and to the project's staff; totals always include hidden amounts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

import strawberry
from strawberry import relay
from strawberry.dataloader import DataLoader

from myco_graph.domain import listings, models, pools
from myco_graph.domain.accounts import now
from myco_graph.domain.projects import STAFF, Operation
from myco_graph.errors import NotFound
from myco_graph.graphql.accounts import (
    Account,
    account_loader,
    account_node,
    load_account,
    node_row_id,
)
from myco_graph.graphql.context import Context, Info
from myco_graph.graphql.errors import UserError, user_errors
from myco_graph.graphql.execution import prepared
from myco_graph.graphql.paging import (
    DEFAULT_PAGE_SIZE,
    Connection,
    connection,
    position,
    wrapped,
)
from myco_graph.graphql.project_base import ProjectBase, authorize, readable


def totals_loader(context: Context) -> DataLoader[int, pools.Totals]:
    """Batches the totals of the pools of one request, never caching them."""
    loader = context.loaders.get("pool_totals")
    if loader is None:

        async def load(ids: list[int]) -> list[pools.Totals]:
            found = await pools.totals(ids)
            return [found[i] for i in ids]

        loader = DataLoader(load_fn=load, cache=False)
        context.loaders["pool_totals"] = loader
    return loader


@strawberry.type(description="A line of a pool's ledger.")
class LedgerEntry:
    created_at: datetime
    hidden: bool = strawberry.field(description="Whether the amount was hidden.")
    amount_cents: int | None = strawberry.field(
        description="Null when hidden, except for the contributor and staff."
    )
    payment_reference: str | None = strawberry.field(
        description="For the contributor and the project's staff only."
    )
    contributor_id: strawberry.Private[int | None]

    @strawberry.field(description="Who gave; null once they erased their account.")
    async def contributor(self, info: Info) -> Account | None:
        if self.contributor_id is None:
            return None
        row = await account_loader(info.context).load(self.contributor_id)
        return account_node(row) if row is not None else None


def ledger_entry(
    viewer_id: int | None, staff: bool
) -> Callable[[models.Contribution], LedgerEntry]:
    """Turns contributions into ledger lines as this viewer may read them."""

    def convert(row: models.Contribution) -> LedgerEntry:
        details = pools.reveals(row, viewer_id, staff=staff)
        return LedgerEntry(
            created_at=row.created_at,
            hidden=row.hidden,
            amount_cents=row.amount_cents if details or not row.hidden else None,
            payment_reference=row.payment_reference if details else None,
            contributor_id=row.account_id,
        )

    return convert


@strawberry.type(description="A money pool: a target, a deadline, a ledger.")
class Pool(relay.Node):
    id: relay.NodeID[int]
    title: str
    target_cents: int
    deadline: datetime
    closed_at: datetime | None
    created_at: datetime
    project_id: strawberry.Private[int]
    author_id: strawberry.Private[int | None]
    # The totals when the pool was read with them (a list).
    listed_raised: strawberry.Private[int | None] = None
    listed_contributors: strawberry.Private[int | None] = None

    @strawberry.field(description="Whether staff closed the pool.")
    def closed(self) -> bool:
        return self.closed_at is not None

    @strawberry.field(description="Open, and its deadline not yet passed.")
    def accepting_contributions(self) -> bool:
        return pools.accepts_contributions(self, now())

    @strawberry.field(description="Everything given, hidden amounts included.")
    @prepared("listed_raised")
    async def raised_cents(self, info: Info) -> int:
        return (await totals_loader(info.context).load(self.id)).raised_cents

    @strawberry.field(description="How many people gave.")
    @prepared("listed_contributors")
    async def contributors(self, info: Info) -> int:
        return (await totals_loader(info.context).load(self.id)).contributors

    @strawberry.field(description="Contributions, newest first; for members.")
    async def ledger(
        self, info: Info, first: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Connection[LedgerEntry]:
        # The ledger names who gave, so it is read like the member list.
        _, actor = await authorize(info, self.project_id, Operation.LIST_MEMBERS)
        viewer = info.context.viewer
        convert = ledger_entry(viewer.id if viewer else None, actor in STAFF)
        query = models.Contribution.filter(pool_id=self.id)
        return await connection(query, convert, first, after)

    @strawberry.field
    async def author(self, info: Info) -> Account | None:
        return await load_account(info, self.author_id)

    @classmethod
    def listed(cls, row: listings.PoolRow) -> Pool:
        """A pool of a list, read with its totals."""
        pool = cls.of(row)
        pool.listed_raised = row.totals.raised_cents
        pool.listed_contributors = row.totals.contributors
        return pool

    @classmethod
    def of(cls, row: models.Pool | listings.PoolRow) -> Pool:
        return cls(
            id=row.id,
            title=row.title,
            target_cents=row.target_cents,
            deadline=row.deadline,
            closed_at=row.closed_at,
            created_at=row.created_at,
            project_id=row.project_id,
            author_id=row.author_id,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Pool | None]:
        return await readable(info, models.Pool, node_ids, cls.of)


@strawberry.type
class PoolsOfProject(ProjectBase):
    @strawberry.field(description="Money pools, newest first.")
    async def pools(
        self, info: Info, first: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Connection[Pool]:
        await authorize(info, self.id, Operation.READ_CONTENT)
        rows = await listings.pools(self.id, first, position(first, after))
        return wrapped(rows, Pool.listed, after)


@strawberry.input
class CreatePoolInput:
    project_id: relay.GlobalID
    title: str
    target_cents: int
    deadline: datetime = strawberry.field(description="In the future, with an offset.")


@strawberry.input
class ContributeInput:
    pool_id: relay.GlobalID
    amount_cents: int
    payment_reference: str = strawberry.field(
        description="The payment provider's reference: the payment is made there."
    )
    hidden: bool = strawberry.field(
        default=False, description="Shows the amount to you and staff only."
    )


@strawberry.input
class PoolInput:
    pool_id: relay.GlobalID


@strawberry.type
class PoolPayload:
    user_errors: list[UserError]
    pool: Pool | None = None


@strawberry.type
class ContributePayload:
    user_errors: list[UserError]
    pool: Pool | None = None
    entry: LedgerEntry | None = None


async def _pool_row(global_id: relay.GlobalID) -> models.Pool:
    row = await models.Pool.get_or_none(id=node_row_id(global_id, Pool, "poolId"))
    if row is None:
        raise NotFound("No such pool.")
    return row


@strawberry.type
class PoolMutation:
    @strawberry.mutation(description="Project staff open a money pool.")
    @user_errors
    async def create_pool(self, info: Info, input: CreatePoolInput) -> PoolPayload:
        project_id = node_row_id(input.project_id, "Project", "projectId")
        project, _ = await authorize(info, project_id, Operation.CREATE_POOL)
        draft = pools.PoolDraft(input.title, input.target_cents, input.deadline)
        row = await pools.create(project, info.context.require_viewer(), draft)
        return PoolPayload(user_errors=[], pool=Pool.of(row))

    @strawberry.mutation(description="Records a contribution paid to the provider.")
    @user_errors
    async def contribute(self, info: Info, input: ContributeInput) -> ContributePayload:
        row = await _pool_row(input.pool_id)
        _, actor = await authorize(info, row.project_id, Operation.CONTRIBUTE)
        viewer = info.context.require_viewer()
        gift = pools.Gift(input.amount_cents, input.payment_reference, input.hidden)
        limit = info.context.services.settings.max_contribution_cents
        given = await pools.contribute(row, viewer, gift, limit)
        entry = ledger_entry(viewer.id, actor in STAFF)(given)
        return ContributePayload(user_errors=[], pool=Pool.of(row), entry=entry)

    @strawberry.mutation(description="Project staff close a pool to contributions.")
    @user_errors
    async def close_pool(self, info: Info, input: PoolInput) -> PoolPayload:
        row = await _pool_row(input.pool_id)
        await authorize(info, row.project_id, Operation.CLOSE_POOL)
        row = await pools.close(row, info.context.require_viewer())
        return PoolPayload(user_errors=[], pool=Pool.of(row))
