"""Instance blocks in GraphQL, for admins."""

from __future__ import annotations

from datetime import datetime

import strawberry

from myco_graph.domain import instances, models
from myco_graph.domain.models import AccountKind
from myco_graph.graphql.context import Info
from myco_graph.graphql.errors import UserError, user_errors
from myco_graph.graphql.paging import DEFAULT_PAGE_SIZE, Connection, connection


@strawberry.type(description="A remote instance whose activities are refused.")
class BlockedInstance:
    domain: str = strawberry.field(description="Its subdomains are blocked too.")
    created_at: datetime

    @classmethod
    def of(cls, row: models.BlockedInstance) -> BlockedInstance:
        return cls(domain=row.domain, created_at=row.created_at)


@strawberry.input
class InstanceInput:
    domain: str


@strawberry.type
class BlockInstancePayload:
    user_errors: list[UserError]
    blocked_instance: BlockedInstance | None = None


@strawberry.type
class UnblockInstancePayload:
    user_errors: list[UserError]
    unblocked: bool = False


@strawberry.type
class InstanceQuery:
    @strawberry.field(description="Blocked instances, newest first; admins only.")
    async def blocked_instances(
        self, info: Info, first: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Connection[BlockedInstance]:
        info.context.require_kind(AccountKind.ADMIN)
        query = models.BlockedInstance.all()
        return await connection(query, BlockedInstance.of, first, after)


@strawberry.type
class InstanceMutation:
    @strawberry.mutation(description="Refuses every activity from an instance.")
    @user_errors
    async def block_instance(
        self, info: Info, input: InstanceInput
    ) -> BlockInstancePayload:
        info.context.require_kind(AccountKind.ADMIN)
        row = await instances.block(input.domain)
        return BlockInstancePayload(
            user_errors=[], blocked_instance=BlockedInstance.of(row)
        )

    @strawberry.mutation(description="Lifts a block.")
    @user_errors
    async def unblock_instance(
        self, info: Info, input: InstanceInput
    ) -> UnblockInstancePayload:
        info.context.require_kind(AccountKind.ADMIN)
        return UnblockInstancePayload(
            user_errors=[], unblocked=await instances.unblock(input.domain)
        )
