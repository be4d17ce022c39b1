"""Accounts in GraphQL: members, brands, admins, signing in and API tokens."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime
from enum import Enum
from typing import Any, Protocol, Self

import strawberry
from strawberry import relay
from strawberry.dataloader import DataLoader

from myco_graph.domain import accounts, models
from myco_graph.domain.models import AccountKind, TokenKind
from myco_graph.errors import BadUserInput, Forbidden, RateLimited
from myco_graph.graphql.context import Context, Info
from myco_graph.graphql.errors import UserError, user_errors
from myco_graph.graphql.paging import DEFAULT_PAGE_SIZE, Connection, connection
from myco_graph.infrastructure import ratelimit


@strawberry.enum
class AccountType(Enum):
    MEMBER = "member"
    BRAND = "brand"
    ADMIN = "admin"


def row_id(node_id: str, *, field: str = "id") -> int:
    try:
        return int(node_id)
    except ValueError:
        raise BadUserInput(
            "This id does not name anything here.", field=field
        ) from None


class AccountLike(Protocol):
    """An account as read: a model, or a plain row of a list (AccountRow)."""

    @property
    def id(self) -> int: ...
    @property
    def kind(self) -> AccountKind: ...
    @property
    def handle(self) -> str: ...
    @property
    def display_name(self) -> str: ...
    @property
    def email(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...


ACCOUNT_TYPE_OF = {AccountKind(kind.value): kind for kind in AccountType}


@strawberry.interface(description="Anyone who signs in: a member, a brand or an admin.")
class Account(relay.Node):
    id: relay.NodeID[int]
    handle: str
    display_name: str
    account_type: AccountType
    created_at: datetime
    address: strawberry.Private[str]

    @strawberry.field(description="Seen by the account itself and by admins only.")
    def email(self, info: Info) -> str | None:
        if not info.context.is_self_or_admin(self.id):
            raise Forbidden("Only this account and admins see its email.")
        return self.address

    @classmethod
    def of(cls, row: AccountLike) -> Self:
        return cls(
            id=row.id,
            handle=row.handle,
            display_name=row.display_name,
            account_type=ACCOUNT_TYPE_OF[row.kind],
            created_at=row.created_at,
            address=row.email,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls,
        *,
        info: Info,
        node_ids: Iterable[str],
        required: bool = False,
    ) -> list[Self | None]:
        ids = [row_id(node_id) for node_id in node_ids]
        kind = AccountKind(cls.__name__.lower())
        rows = await models.Account.filter(id__in=ids, kind=kind)
        by_id = {row.id: cls.of(row) for row in rows}
        return [by_id.get(i) for i in ids]


@strawberry.type(description="An organisation that meets members only through offers.")
class Brand(Account):
    @strawberry.field(description="The brand's API tokens, newest first.")
    async def api_tokens(
        self, info: Info, first: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Connection[ApiToken]:
        if not info.context.is_self_or_admin(self.id):
            raise Forbidden("Only the brand itself sees its API tokens.")
        query = models.Token.filter(account_id=self.id, kind=TokenKind.API)
        return await connection(query, ApiToken.of, first, after)


@strawberry.type(description="A member of the coop's staff.")
class Admin(Account):
    pass


# Filled by each module that defines an account type (Member lives with the
# profile, which needs this module), read by account_node.
ACCOUNT_TYPES: dict[AccountKind, type[Account]] = {
    AccountKind.BRAND: Brand,
    AccountKind.ADMIN: Admin,
}


def account_loader(context: Context) -> DataLoader[int, models.Account | None]:
    """Loads accounts by id, one query per batch, for the request."""
    loader = context.loaders.get("account")
    if loader is None:

        async def load(ids: list[int]) -> list[models.Account | None]:
            rows = {row.id: row for row in await models.Account.filter(id__in=ids)}
            return [rows.get(i) for i in ids]

        loader = DataLoader(load_fn=load)
        context.loaders["account"] = loader
    return loader


async def load_account(info: Info, account_id: int | None) -> Account | None:
    """The account with this id, read in the request's batch; None when gone."""
    if account_id is None:
        return None
    row = await account_loader(info.context).load(account_id)
    return account_node(row) if row is not None else None


def account_node(row: AccountLike) -> Account:
    return ACCOUNT_TYPES[row.kind].of(row)


@strawberry.type(description="A brand's API token; its secret is shown only once.")
class ApiToken(relay.Node):
    id: relay.NodeID[int]
    label: str
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def of(cls, row: models.Token) -> ApiToken:
        return cls(
            id=row.id,
            label=row.label,
            created_at=row.created_at,
            revoked_at=row.revoked_at,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[ApiToken | None]:
        ids = [row_id(node_id) for node_id in node_ids]
        viewer = info.context.viewer
        owner = viewer.id if viewer is not None else None
        rows = await models.Token.filter(
            id__in=ids, kind=TokenKind.API, account_id=owner
        )
        by_id = {row.id: cls.of(row) for row in rows}
        return [by_id.get(i) for i in ids]


@strawberry.enum
class SignUpAccountType(Enum):
    MEMBER = "member"
    BRAND = "brand"


@strawberry.input
class SignUpInput:
    email: str
    password: str
    handle: str
    display_name: str
    account_type: SignUpAccountType = SignUpAccountType.MEMBER


@strawberry.type
class SignUpPayload:
    user_errors: list[UserError]
    token: str | None = None
    account: Account | None = None


@strawberry.input
class LogInInput:
    email: str
    password: str


@strawberry.type
class LogInPayload:
    user_errors: list[UserError]
    token: str | None = None
    account: Account | None = None


@strawberry.input
class LogOutInput:
    everywhere: bool = strawberry.field(
        default=False, description="Also end every other session of this account."
    )


@strawberry.type
class LogOutPayload:
    user_errors: list[UserError]
    ended_sessions: int = 0


@strawberry.input
class CreateApiTokenInput:
    label: str


@strawberry.type
class CreateApiTokenPayload:
    user_errors: list[UserError]
    token: str | None = None
    api_token: ApiToken | None = None


@strawberry.input
class RevokeApiTokenInput:
    id: relay.GlobalID


@strawberry.type
class RevokeApiTokenPayload:
    user_errors: list[UserError]
    api_token: ApiToken | None = None


def node_row_id(
    global_id: relay.GlobalID, node_type: type[Any] | str, field: str
) -> int:
    """The row id inside a global id, which must name a ``node_type``."""
    name = node_type if isinstance(node_type, str) else node_type.__name__
    if global_id.type_name != name:
        raise BadUserInput(f"This id does not name a {name}.", field=field)
    return row_id(global_id.node_id, field=field)


async def _limit_log_ins(info: Info, email: str) -> None:
    """Slows password guessing: per address, and per account whatever the address."""
    request = info.context.request
    address = request.client.host if request.client else "unknown"
    email_key = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
    limit = info.context.services.settings.login_attempts_per_minute
    for key in (f"login:address:{address}", f"login:email:{email_key}"):
        wait = await ratelimit.limiter().hit(key, limit, 60)
        if wait is not None:
            raise RateLimited("Too many sign-in attempts; wait.", retry_after=wait)


@strawberry.type
class AccountQuery:
    @strawberry.field(description="The signed-in account, or null when anonymous.")
    def viewer(self, info: Info) -> Account | None:
        viewer = info.context.viewer
        return account_node(viewer) if viewer is not None else None


@strawberry.type
class AccountMutation:
    @strawberry.mutation(description="Opens an account and signs it in.")
    @user_errors
    async def sign_up(self, info: Info, input: SignUpInput) -> SignUpPayload:
        form = accounts.SignUp(
            email=input.email,
            password=input.password,
            handle=input.handle,
            display_name=input.display_name,
            kind=AccountKind(input.account_type.value),
        )
        account = await accounts.sign_up(form)
        token, row = await info.context.services.issuer.issue(
            account, TokenKind.SESSION
        )
        # The rest of the payload is read as the new session sees it.
        info.context.viewer, info.context.token = account, row
        return SignUpPayload(user_errors=[], token=token, account=account_node(account))

    @strawberry.mutation(description="Signs in with email and password.")
    @user_errors
    async def log_in(self, info: Info, input: LogInInput) -> LogInPayload:
        await _limit_log_ins(info, input.email)
        account = await accounts.check_password(input.email, input.password)
        token, row = await info.context.services.issuer.issue(
            account, TokenKind.SESSION
        )
        info.context.viewer, info.context.token = account, row
        return LogInPayload(user_errors=[], token=token, account=account_node(account))

    @strawberry.mutation(description="Ends this session, or every session.")
    @user_errors
    async def log_out(self, info: Info, input: LogOutInput) -> LogOutPayload:
        viewer = info.context.require_viewer()
        token = info.context.token
        if token is None or token.kind is not TokenKind.SESSION:
            raise Forbidden("Only a session token can log out.")
        ended = await accounts.end_sessions(viewer, token, everywhere=input.everywhere)
        return LogOutPayload(user_errors=[], ended_sessions=ended)

    @strawberry.mutation(description="Creates an API token for a brand.")
    @user_errors
    async def create_api_token(
        self, info: Info, input: CreateApiTokenInput
    ) -> CreateApiTokenPayload:
        brand = info.context.require_kind(AccountKind.BRAND)
        token, row = await accounts.create_api_token(
            info.context.services.issuer, brand, input.label
        )
        return CreateApiTokenPayload(
            user_errors=[], token=token, api_token=ApiToken.of(row)
        )

    @strawberry.mutation(description="Revokes one of the brand's API tokens.")
    @user_errors
    async def revoke_api_token(
        self, info: Info, input: RevokeApiTokenInput
    ) -> RevokeApiTokenPayload:
        brand = info.context.require_kind(AccountKind.BRAND)
        token_id = node_row_id(input.id, ApiToken, "id")
        row = await accounts.revoke_api_token(brand, token_id)
        return RevokeApiTokenPayload(user_errors=[], api_token=ApiToken.of(row))
