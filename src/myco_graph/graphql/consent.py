"""Consent grants, receipts and the access log in GraphQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from enum import Enum
from typing import cast

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from myco_graph.domain import catalogue, grants, models
from myco_graph.domain.models import AccountKind, Audience, Purpose
from myco_graph.errors import BadUserInput
from myco_graph.graphql.accounts import (
    Account,
    account_loader,
    account_node,
    node_row_id,
    row_id,
)
from myco_graph.graphql.context import Info
from myco_graph.graphql.errors import UserError, user_errors


def _field_key_member(key: str) -> str:
    section, name = key.split(".")
    return "".join(f"_{c}" if c.isupper() else c.upper() for c in f"{section}_{name}")


_KEYS = {_field_key_member(key): key for key in catalogue.FIELDS}
_FieldKeys: type[Enum] = Enum("ProfileFieldKey", _KEYS)  # type: ignore[misc]
ProfileFieldKey = strawberry.enum(
    _FieldKeys, description="A profile field, by its catalogue key."
)

AudienceKind = strawberry.enum(Audience, name="AudienceKind")
ConsentPurpose = strawberry.enum(Purpose, name="ConsentPurpose")


@strawberry.enum
class GrantStatus(Enum):
    ACTIVE = "active"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"


@strawberry.type(description="Who a grant lets use the fields.")
class ConsentAudience:
    kind: AudienceKind  # type: ignore[valid-type]
    id: relay.GlobalID | None = strawberry.field(
        description="The project, member or brand, as the id the API takes."
    )


@strawberry.type(description="A member's consent: audience, fields, purpose, validity.")
class ConsentGrant(relay.Node):
    id: relay.NodeID[int]
    fields: list[ProfileFieldKey]  # type: ignore[valid-type]
    audience: ConsentAudience
    purpose: ConsentPurpose  # type: ignore[valid-type]
    explicit: bool
    status: GrantStatus
    legal_basis: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    withdrawn_at: dt.datetime | None
    receipt: JSON = strawberry.field(description="The ISO/IEC TS 27560 receipt.")
    receipt_jws: str = strawberry.field(
        description="The receipt signed by the instance (compact JWS, EdDSA)."
    )

    @classmethod
    def of(cls, row: models.ConsentGrant) -> ConsentGrant:
        return cls(
            id=row.id,
            fields=[ProfileFieldKey(key) for key in row.field_keys],
            audience=ConsentAudience(
                kind=row.audience, id=audience_global_id(row.audience, row.audience_id)
            ),
            purpose=row.purpose,
            explicit=row.explicit,
            status=GrantStatus(grants.status(row)),
            legal_basis=row.receipt.get("legalBasis", {}).get("id", ""),
            created_at=row.created_at,
            expires_at=row.expires_at,
            withdrawn_at=row.withdrawn_at,
            receipt=cast(JSON, row.receipt),
            receipt_jws=row.receipt_jws,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[ConsentGrant | None]:
        ids = [row_id(node_id) for node_id in node_ids]
        viewer = info.context.viewer
        rows = await models.ConsentGrant.filter(
            id__in=ids, subject_id=viewer.id if viewer else None
        )
        by_id = {row.id: cls.of(row) for row in rows}
        return [by_id.get(i) for i in ids]


@strawberry.type(description="Reads of the member's values by one viewer on one day.")
class AccessLogEntry:
    viewer: str = strawberry.field(
        description="'account:<id>', 'anonymous', or 'erased:…' for a reader who left."
    )
    viewer_id: strawberry.Private[int | None]
    purpose: ConsentPurpose  # type: ignore[valid-type]
    day: dt.date
    fields: list[ProfileFieldKey]  # type: ignore[valid-type]
    grant_ids: list[strawberry.ID]
    reads: int
    first_at: dt.datetime
    last_at: dt.datetime

    @strawberry.field(description="The reading account, while it exists.")
    async def viewer_account(self, info: Info) -> Account | None:
        if self.viewer_id is None:
            return None
        row = await account_loader(info.context).load(self.viewer_id)
        return account_node(row) if row is not None else None

    @classmethod
    def of(cls, row: models.AccessLogEntry) -> AccessLogEntry:
        return cls(
            viewer=row.viewer_key,
            viewer_id=row.viewer_id,
            purpose=row.purpose,
            day=row.day,
            fields=[ProfileFieldKey(key) for key in row.field_keys],
            grant_ids=[
                relay.to_base64(ConsentGrant, grant_id)  # type: ignore[misc]
                for grant_id in row.grant_ids
            ],
            reads=row.reads,
            first_at=row.first_at,
            last_at=row.last_at,
        )


@strawberry.input
class AudienceInput:
    kind: AudienceKind  # type: ignore[valid-type]
    id: relay.GlobalID | None = strawberry.field(
        default=None, description="The project, member or brand; none for the others."
    )


@strawberry.input
class GrantConsentInput:
    fields: list[ProfileFieldKey]  # type: ignore[valid-type]
    audience: AudienceInput
    purpose: ConsentPurpose  # type: ignore[valid-type]
    expires_at: dt.datetime | None = None
    explicit: bool = strawberry.field(
        default=False,
        description="Required for special-category fields (GDPR art. 9(2)(a)).",
    )


@strawberry.type
class GrantConsentPayload:
    user_errors: list[UserError]
    grant: ConsentGrant | None = None


@strawberry.input
class WithdrawConsentInput:
    id: relay.GlobalID


@strawberry.type
class WithdrawConsentPayload:
    user_errors: list[UserError]
    grant: ConsentGrant | None = None


AUDIENCE_NODE_TYPES = {
    Audience.PROJECT: "Project",
    Audience.MEMBER: "Member",
    Audience.BRAND: "Brand",
}


def audience_global_id(
    audience: Audience, audience_id: int | None
) -> relay.GlobalID | None:
    type_name = AUDIENCE_NODE_TYPES.get(audience)
    if type_name is None or audience_id is None:
        return None
    return relay.GlobalID(type_name, str(audience_id))


def audience_row_id(audience: AudienceInput) -> int | None:
    if audience.id is None:
        return None
    expected = AUDIENCE_NODE_TYPES.get(audience.kind)
    if expected is None or audience.id.type_name != expected:
        raise BadUserInput("This id does not fit the audience.", field="audience.id")
    return row_id(audience.id.node_id, field="audience.id")


@strawberry.type
class ConsentMutation:
    @strawberry.mutation(description="Lets an audience use some of your fields.")
    @user_errors
    async def grant_consent(
        self, info: Info, input: GrantConsentInput
    ) -> GrantConsentPayload:
        member = info.context.require_kind(AccountKind.MEMBER)
        settings = info.context.services.settings
        request = grants.GrantRequest(
            field_keys=[key.value for key in input.fields],  # type: ignore[attr-defined]
            audience=input.audience.kind,
            audience_id=audience_row_id(input.audience),
            purpose=input.purpose,
            expires_at=input.expires_at,
            explicit=input.explicit,
        )
        issuer = grants.Issuer(str(settings.base_url).rstrip("/"), settings.domain)
        row = await grants.grant(member, request, issuer)
        return GrantConsentPayload(user_errors=[], grant=ConsentGrant.of(row))

    @strawberry.mutation(description="Withdraws a grant; effective on the next read.")
    @user_errors
    async def withdraw_consent(
        self, info: Info, input: WithdrawConsentInput
    ) -> WithdrawConsentPayload:
        member = info.context.require_kind(AccountKind.MEMBER)
        grant_id = node_row_id(input.id, ConsentGrant, "id")
        row = await grants.withdraw(member, grant_id)
        return WithdrawConsentPayload(user_errors=[], grant=ConsentGrant.of(row))
