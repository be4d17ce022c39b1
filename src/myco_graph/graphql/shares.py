"""The share register in GraphQL: a member's holding, the admin's register."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import strawberry
from strawberry import relay

from myco_graph.domain import models, shares
from myco_graph.domain.models import AccountKind
from myco_graph.graphql.accounts import Account, account_node, row_id
from myco_graph.graphql.context import Info
from myco_graph.graphql.errors import UserError, user_errors
from myco_graph.graphql.paging import DEFAULT_PAGE_SIZE, Connection, connection


@strawberry.type(description="One line of the share register.")
class ShareEntry(relay.Node):
    id: relay.NodeID[int]
    shares: int
    unit_price_cents: int
    amount_cents: int
    created_at: datetime
    account_id: strawberry.Private[int | None]
    holder: strawberry.Private[models.Account | None] = None

    @strawberry.field(description="The holder; null once they erased their account.")
    async def member(self, info: Info) -> Account | None:
        if self.account_id is None:
            return None
        row = self.holder or await models.Account.get_or_none(id=self.account_id)
        return account_node(row) if row is not None else None

    @classmethod
    def of(cls, row: models.ShareEntry) -> ShareEntry:
        return cls(
            id=row.id,
            shares=row.shares,
            unit_price_cents=row.unit_price_cents,
            amount_cents=row.amount_cents,
            created_at=row.created_at,
            account_id=row.account_id,
        )

    @classmethod
    def with_holder(cls, row: models.ShareEntry) -> ShareEntry:
        """For rows read with ``select_related("account")``."""
        entry = cls.of(row)
        entry.holder = row.account
        return entry

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[ShareEntry | None]:
        ids = [row_id(node_id) for node_id in node_ids]
        rows = await models.ShareEntry.filter(id__in=ids)
        visible = {
            row.id: cls.of(row)
            for row in rows
            if row.account_id is not None
            and info.context.is_self_or_admin(row.account_id)
        }
        return [visible.get(i) for i in ids]


@strawberry.type(description="A member's shares; one vote however many.")
class ShareHolding:
    shares: int
    amount_cents: int
    votes: int
    account_id: strawberry.Private[int]

    @strawberry.field(description="The member's register entries, newest first.")
    async def entries(
        self, first: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Connection[ShareEntry]:
        query = models.ShareEntry.filter(account_id=self.account_id)
        return await connection(query, ShareEntry.of, first, after)

    @classmethod
    async def of_account(cls, account_id: int) -> ShareHolding:
        held = await shares.holding(account_id)
        return cls(
            shares=held.shares,
            amount_cents=held.amount_cents,
            votes=held.votes,
            account_id=account_id,
        )


@strawberry.type(description="Totals of the whole share register.")
class RegisterTotals:
    shares: int
    amount_cents: int
    members: int
    votes: int


@strawberry.input
class SubscribeSharesInput:
    shares: int = strawberry.field(description="How many shares of 10 EUR to add.")


@strawberry.type
class SubscribeSharesPayload:
    user_errors: list[UserError]
    entry: ShareEntry | None = None
    holding: ShareHolding | None = None


@strawberry.type
class ShareQuery:
    @strawberry.field(
        description="The whole share register, newest first; admins only."
    )
    async def share_register(
        self, info: Info, first: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Connection[ShareEntry]:
        info.context.require_kind(AccountKind.ADMIN)
        query = models.ShareEntry.all().select_related("account")
        return await connection(query, ShareEntry.with_holder, first, after)

    @strawberry.field(description="Capital, shares, holders and votes; admins only.")
    async def share_register_totals(self, info: Info) -> RegisterTotals:
        info.context.require_kind(AccountKind.ADMIN)
        totals = await shares.register_totals()
        return RegisterTotals(
            shares=totals.shares,
            amount_cents=totals.amount_cents,
            members=totals.members,
            votes=totals.votes,
        )


@strawberry.type
class ShareMutation:
    @strawberry.mutation(description="Subscribes more cooperative shares.")
    @user_errors
    async def subscribe_shares(
        self, info: Info, input: SubscribeSharesInput
    ) -> SubscribeSharesPayload:
        member = info.context.require_kind(AccountKind.MEMBER)
        entry = await shares.subscribe(member, input.shares)
        return SubscribeSharesPayload(
            user_errors=[],
            entry=ShareEntry.of(entry),
            holding=await ShareHolding.of_account(member.id),
        )
