"""Members in GraphQL: their profile, shares, grants, access log, data rights."""

from __future__ import annotations

import functools
from collections.abc import AsyncGenerator
from typing import Any, cast

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from myco_graph.domain import data_rights, models
from myco_graph.domain.events import account_channel
from myco_graph.domain.models import AccountKind, Purpose, TokenKind
from myco_graph.errors import Forbidden, NotFound
from myco_graph.graphql.accounts import ACCOUNT_TYPES, Account, node_row_id
from myco_graph.graphql.consent import AccessLogEntry, ConsentGrant
from myco_graph.graphql.context import Info
from myco_graph.graphql.errors import UserError, user_errors
from myco_graph.graphql.execution import prepared
from myco_graph.graphql.paging import DEFAULT_PAGE_SIZE, Connection, connection
from myco_graph.graphql.profile import (
    Profile,
    ProfileAccess,
    prepare_profiles,
    profile_of,
    requested_keys,
)
from myco_graph.graphql.shares import ShareHolding
from myco_graph.infrastructure.events import bus

# Events after which a member's profile may read differently.
PROFILE_EVENTS = {"profile.changed", "consent.granted", "consent.withdrawn"}


def _own(info: Info, member_id: int, what: str) -> None:
    if not info.context.is_self_or_admin(member_id):
        raise Forbidden(f"Only the member and admins see {what}.")


@strawberry.type(description="A natural person who owns shares of the cooperative.")
class Member(Account):
    # The profile fields a list selects under all its members (see listed),
    # and the profile itself when the list decided it (see prepare_profiles).
    profile_keys: strawberry.Private[tuple[str, ...] | None] = None
    listed_profile: strawberry.Private[Any] = None

    @strawberry.field(description="The profile, read for display.")
    @prepared("listed_profile")
    def profile(self, info: Info) -> Profile:  # type: ignore[valid-type]
        access = ProfileAccess(self.id, Purpose.DISPLAY)
        return profile_of(info, access, self.profile_keys)  # type: ignore[no-any-return]

    @strawberry.field(description="Seen by the member and by admins only.")
    async def shares(self, info: Info) -> ShareHolding:
        _own(info, self.id, "a member's shares")
        return await ShareHolding.of_account(self.id)

    @strawberry.field(description="The member's grants, newest first; theirs only.")
    async def consent_grants(
        self, info: Info, first: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Connection[ConsentGrant]:
        if info.context.viewer is None or info.context.viewer.id != self.id:
            raise Forbidden("Only the member sees their grants.")
        query = models.ConsentGrant.filter(subject_id=self.id)
        return await connection(query, ConsentGrant.of, first, after)

    @strawberry.field(description="Who read the member's values, newest first.")
    async def access_log(
        self, info: Info, first: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Connection[AccessLogEntry]:
        if info.context.viewer is None or info.context.viewer.id != self.id:
            raise Forbidden("Only the member sees their access log.")
        query = models.AccessLogEntry.filter(subject_id=self.id)
        return await connection(query, AccessLogEntry.of, first, after)

    @classmethod
    def listed(cls, row: models.Account, profile_keys: tuple[str, ...]) -> Member:
        """A member of a list whose profiles were decided for the whole page."""
        member = cls.of(row)
        member.profile_keys = profile_keys
        return member


ACCOUNT_TYPES[AccountKind.MEMBER] = Member


@strawberry.input
class ExportMyDataInput:
    include_access_log: bool = True


@strawberry.type
class ExportMyDataPayload:
    user_errors: list[UserError]
    document: JSON | None = None


@strawberry.input
class DeleteMyAccountInput:
    password: str = strawberry.field(description="Confirms that it is really you.")


@strawberry.type
class DeleteMyAccountPayload:
    user_errors: list[UserError]
    deleted: bool = False


@strawberry.type
class MemberQuery:
    @strawberry.field(description="The coop's members, newest first; members only.")
    async def members(
        self, info: Info, first: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Connection[Member]:
        info.context.require_kind(AccountKind.MEMBER, AccountKind.ADMIN)
        query = models.Account.filter(kind=AccountKind.MEMBER)
        keys = requested_keys(info, ("edges", "node", "profile"))
        convert = functools.partial(Member.listed, profile_keys=keys)
        page = await connection(query, convert, first, after)
        listed = [(edge.node, edge.node.id) for edge in page.edges]
        await prepare_profiles(info, listed, keys, Purpose.DISPLAY)
        return page


@strawberry.type
class MemberMutation:
    @strawberry.mutation(description="Everything the coop holds about you, as JSON.")
    @user_errors
    async def export_my_data(
        self, info: Info, input: ExportMyDataInput
    ) -> ExportMyDataPayload:
        member = info.context.require_kind(AccountKind.MEMBER)
        document = await data_rights.export(member)
        if not input.include_access_log:
            document.pop("accessLog")
        return ExportMyDataPayload(user_errors=[], document=cast(JSON, document))

    @strawberry.mutation(description="Erases your account and personal data.")
    @user_errors
    async def delete_my_account(
        self, info: Info, input: DeleteMyAccountInput
    ) -> DeleteMyAccountPayload:
        member = info.context.require_kind(AccountKind.MEMBER)
        token = info.context.token
        if token is None or token.kind is not TokenKind.SESSION:
            raise Forbidden("Erasing an account takes a signed-in session.")
        await data_rights.erase(member, input.password)
        return DeleteMyAccountPayload(user_errors=[], deleted=True)


@strawberry.type
class MemberSubscription:
    @strawberry.subscription(
        description="The member again each time their profile or grants change; "
        "every value is decided anew, so a withdrawal stops its delivery."
    )
    async def member_profile(
        self, info: Info, member_id: relay.GlobalID
    ) -> AsyncGenerator[Member, None]:
        info.context.require_viewer()
        subject_id = node_row_id(member_id, Member, "memberId")
        row = await models.Account.get_or_none(id=subject_id, kind=AccountKind.MEMBER)
        if row is None:
            raise NotFound("No such member.")
        async for message in bus().listen(account_channel(subject_id)):
            if message["kind"] in PROFILE_EVENTS:
                yield Member.of(row)
