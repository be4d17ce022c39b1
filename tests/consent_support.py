"""What the consent tests share: hypothesis profiles, accounts made fast, an oracle.

Hypothesis runs the "dev" profile by default and the "ci" profile when the
``CI`` environment variable is set; the end-to-end property takes a share of
the profile's examples, so that CI runs at least 2,000 cases in all.
"""

from __future__ import annotations

import base64
import os
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from argon2 import PasswordHasher
from hypothesis import settings

from myco_graph.app import make_services
from myco_graph.domain import catalogue, grants
from myco_graph.domain.accounts import TokenIssuer
from myco_graph.domain.consent import Grant, Read, Viewer
from myco_graph.domain.models import (
    Account,
    AccountKind,
    Audience,
    MembershipState,
    Name,
    Project,
    ProjectMember,
    ProjectRole,
    Purpose,
    TokenKind,
    Visibility,
)
from myco_graph.infrastructure.config import Settings
from tests.helpers import PASSWORD, GraphQLClient

settings.register_profile("ci", max_examples=2_000, deadline=None, print_blob=True)
settings.register_profile("dev", max_examples=200, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

# The end-to-end property runs this share of the profile's examples (50 in CI).
END_TO_END_SHARE = 0.025

# Hashed once: argon2 is slow on purpose, and tests make many accounts.
PASSWORD_HASH = PasswordHasher().hash(PASSWORD)


def end_to_end_examples() -> int:
    return max(10, int(settings.default.max_examples * END_TO_END_SHARE))


# Accounts and projects through the ORM --------------------------------------


async def make_account(handle: str, kind: AccountKind = AccountKind.MEMBER) -> Account:
    """An account made directly in the database, with the tests' password."""
    name = await Name.create(key=handle.casefold())
    return await Account.create(
        kind=kind,
        name=name,
        handle=handle,
        display_name=handle.title(),
        email=f"{handle.lower()}@example.org",
        password_hash=PASSWORD_HASH,
    )


async def session_for(issuer: TokenIssuer, account: Account) -> str:
    token, _ = await issuer.issue(account, TokenKind.SESSION)
    return token


@dataclass(frozen=True)
class People:
    """Accounts made straight in the database, signed in with real sessions."""

    issuer: TokenIssuer

    @classmethod
    def of(cls, settings: Settings) -> People:
        return cls(make_services(settings).issuer)

    async def token(self, handle: str, kind: AccountKind = AccountKind.MEMBER) -> str:
        return await session_for(self.issuer, await make_account(handle, kind))


async def make_project(handle: str, *members: Account) -> Project:
    """A private project whose given accounts are active members."""
    name = await Name.create(key=handle.casefold())
    project = await Project.create(
        name=name, handle=handle, visibility=Visibility.PRIVATE
    )
    for account in members:
        await ProjectMember.create(
            project=project,
            account=account,
            role=ProjectRole.MEMBER,
            state=MembershipState.ACTIVE,
        )
    return project


ISSUER = grants.Issuer("http://coop.test", "coop.test")


async def give(
    subject: Account,
    keys: list[str],
    audience: Audience = Audience.COOP,
    audience_id: int | None = None,
    purpose: Purpose = Purpose.DISPLAY,
    expires_at: datetime | None = None,
) -> int:
    """Records a grant of the subject's, not explicit, through the domain."""
    request = grants.GrantRequest(
        field_keys=keys,
        audience=audience,
        audience_id=audience_id,
        purpose=purpose,
        expires_at=expires_at,
        explicit=False,
    )
    return (await grants.grant(subject, request, ISSUER)).id


def viewer_of(account: Account) -> Viewer:
    return Viewer(account_id=account.id, kind=account.kind)


# Global ids and GraphQL spellings --------------------------------------------


def global_id(type_name: str, row_id: int) -> str:
    return base64.b64encode(f"{type_name}:{row_id}".encode()).decode()


def row_id_of(gid: str) -> int:
    return int(base64.b64decode(gid).decode().split(":", 1)[1])


def key_name(key: str) -> str:
    """``music.favoriteGenres`` → ``MUSIC_FAVORITE_GENRES`` (ProfileFieldKey)."""
    section, name = key.split(".")
    snake = re.sub(r"([A-Z])", r"_\1", name)
    return f"{section}_{snake}".upper()


def profile_selection() -> str:
    """``profile { identity { firstName … } … }`` with every catalogue field."""
    sections = " ".join(
        f"{section.name} {{ {' '.join(spec.name for spec in section.fields)} }}"
        for section in catalogue.SECTIONS
    )
    return f"profile {{ {sections} }}"


def shown(profile: dict[str, Any] | None, key: str) -> Any:
    """The value a profile response holds for ``key`` (None when absent)."""
    if profile is None:
        return None
    section, name = key.split(".")
    return (profile.get(section) or {}).get(name)


def as_input(key: str, value: Any) -> Any:
    """A stored value as GraphQL takes it (and gives it back): enums by name."""
    spec = catalogue.FIELDS[key]
    if spec.type is catalogue.FieldType.CHOICE:
        return value.upper()
    if spec.type is catalogue.FieldType.CHOICES:
        return sorted(item.upper() for item in value)
    return value


def values_input(values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``{"music.favoriteGenres": [...]}`` → SetProfileValuesInput's nesting."""
    nested: dict[str, dict[str, Any]] = {}
    for key, value in values.items():
        section, name = key.split(".")
        given = None if value is None else as_input(key, value)
        nested.setdefault(section, {})[name] = given
    return nested


SET_VALUES = """
mutation Set($input: SetProfileValuesInput!) {
  setProfileValues(input: $input) { changedFields userErrors { field code message } }
}
"""

GRANT = """
mutation Grant($input: GrantConsentInput!) {
  grantConsent(input: $input) {
    grant {
      id status fields purpose explicit legalBasis receipt receiptJws
      audience { kind id }
    }
    userErrors { field code message }
  }
}
"""

WITHDRAW = """
mutation Withdraw($id: ID!) {
  withdrawConsent(input: {id: $id}) {
    grant { id status withdrawnAt }
    userErrors { field code message }
  }
}
"""

VIEWER_ID = "{ viewer { id } }"


async def set_values(api: GraphQLClient, token: str, values: dict[str, Any]) -> None:
    result = await api(SET_VALUES, {"input": values_input(values)}, token=token)
    assert result.data["setProfileValues"]["userErrors"] == []


async def grant(
    api: GraphQLClient,
    token: str,
    keys: list[str],
    audience: str = "COOP",
    audience_id: str | None = None,
    *,
    purpose: str = "DISPLAY",
    explicit: bool = False,
    expires_at: str | None = None,
) -> dict[str, Any]:
    """Grants through the API and returns the grant; the grant must be taken."""
    given = {
        "fields": [key_name(key) for key in keys],
        "audience": {"kind": audience, "id": audience_id},
        "purpose": purpose,
        "explicit": explicit,
        "expiresAt": expires_at,
    }
    result = await api(GRANT, {"input": given}, token=token)
    payload = result.data["grantConsent"]
    assert payload["userErrors"] == []
    return payload["grant"]  # type: ignore[no-any-return]


async def withdraw(api: GraphQLClient, token: str, grant_id: str) -> dict[str, Any]:
    result = await api(WITHDRAW, {"id": grant_id}, token=token)
    return result.data["withdrawConsent"]  # type: ignore[no-any-return]


# The oracle -------------------------------------------------------------------


@dataclass(frozen=True)
class Expected:
    """What should come of one read, by the rules of DESIGN.md."""

    allowed: bool
    grant_id: int | None = None
    reason: str | None = None


def audience_includes(grant: Grant, viewer: Viewer, read: Read) -> bool:
    """Whether the viewer is in the grant's audience, read by read."""
    if grant.audience is Audience.PUBLIC:
        return True
    if grant.audience is Audience.COOP:
        # The coop's members; staff accounts, brands and strangers are out.
        return viewer.kind is AccountKind.MEMBER
    if viewer.account_id is None or grant.audience_id is None:
        return False
    if grant.audience is Audience.MEMBER:
        return (
            viewer.kind is AccountKind.MEMBER and viewer.account_id == grant.audience_id
        )
    if grant.audience is Audience.BRAND:
        return (
            viewer.kind is AccountKind.BRAND and viewer.account_id == grant.audience_id
        )
    # A project's members, and only while they work within that project.
    return read.project_id == grant.audience_id and read.project_id in viewer.projects


def in_force(grant: Grant, moment: datetime) -> bool:
    if grant.withdrawn_at is not None:
        return False
    return grant.expires_at is None or moment < grant.expires_at


def expected(
    viewer: Viewer, read: Read, grants: list[Grant], moment: datetime
) -> Expected:
    """The oracle: written from the rules, without looking at ``consent.decide``."""
    if viewer.account_id is not None and viewer.account_id == read.subject_id:
        return Expected(allowed=True)
    special = catalogue.FIELDS[read.key].special
    if special and read.purpose is Purpose.OFFER_MATCHING:
        return Expected(allowed=False, reason="NOT_SHARED")

    covering = [
        grant
        for grant in grants
        if grant.subject_id == read.subject_id
        and read.key in grant.field_keys
        and audience_includes(grant, viewer, read)
    ]
    for_purpose = [grant for grant in covering if grant.purpose is read.purpose]
    usable = [
        grant.id
        for grant in for_purpose
        if in_force(grant, moment) and (grant.explicit or not special)
    ]
    if usable:
        return Expected(allowed=True, grant_id=max(usable))

    if for_purpose:
        newest = max(for_purpose, key=lambda grant: grant.id)
        if newest.withdrawn_at is not None:
            return Expected(allowed=False, reason="WITHDRAWN")
        if not in_force(newest, moment):
            return Expected(allowed=False, reason="EXPIRED")
        return Expected(allowed=False, reason="EXPLICIT_REQUIRED")
    if any(in_force(grant, moment) for grant in covering):
        return Expected(allowed=False, reason="PURPOSE_MISMATCH")
    return Expected(allowed=False, reason="NOT_SHARED")
