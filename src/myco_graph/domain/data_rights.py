"""A member's data rights: export everything held about them, or erase it."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from myco_graph.domain import accounts, events, profile
from myco_graph.domain.models import (
    AccessLogEntry,
    Account,
    ConsentGrant,
    ProjectMember,
    ShareEntry,
)

EXPORT_FORMAT = "myco-graph/member-export/v1"

# Called inside the erasure transaction, before the account row goes: other
# parts (federation, brand leads) add what erasure must reach beyond this one.
ErasureHook = Callable[[BaseDBAsyncClient, Account], Awaitable[None]]
erasure_hooks: list[ErasureHook] = []


def _json(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{key: _json(value) for key, value in row.items()} for row in rows]


async def export(account: Account) -> dict[str, Any]:
    """Everything the coop holds about the member, as one JSON document."""
    grants = await ConsentGrant.filter(subject_id=account.id).order_by("id")
    return {
        "format": EXPORT_FORMAT,
        "exportedAt": accounts.now().isoformat(),
        "account": {
            "handle": account.handle,
            "displayName": account.display_name,
            "email": account.email,
            "type": account.kind.value,
            "createdAt": account.created_at.isoformat(),
        },
        "shares": _rows(
            await ShareEntry.filter(account_id=account.id)
            .order_by("id")
            .values("id", "shares", "unit_price_cents", "amount_cents", "created_at")
        ),
        "profile": await profile.own_values(account.id),
        "consentGrants": [
            {
                "id": grant.id,
                "fields": grant.field_keys,
                "audience": grant.audience.value,
                "audienceId": grant.audience_id,
                "purpose": grant.purpose.value,
                "explicit": grant.explicit,
                "createdAt": _json(grant.created_at),
                "expiresAt": _json(grant.expires_at),
                "withdrawnAt": _json(grant.withdrawn_at),
                "receipt": grant.receipt,
                "receiptJws": grant.receipt_jws,
            }
            for grant in grants
        ],
        "accessLog": _rows(
            await AccessLogEntry.filter(subject_id=account.id)
            .order_by("id")
            .values(
                "viewer_key",
                "purpose",
                "day",
                "field_keys",
                "grant_ids",
                "reads",
                "first_at",
                "last_at",
            )
        ),
        "projects": _rows(
            await ProjectMember.filter(account_id=account.id)
            .order_by("id")
            .values("project__handle", "role", "state", "created_at")
        ),
    }


async def erase(account: Account, password: str) -> None:
    """Erases the account and its personal data; the share register keeps
    anonymised lines, as the cooperative's capital is a legal record."""
    await accounts.check_password(account.email, password)
    async with in_transaction() as conn:
        for hook in erasure_hooks:
            await hook(conn, account)
        # The members whose values this one read keep their log lines, with
        # the reader anonymised (one random key, as the lines stay unique).
        await (
            AccessLogEntry.filter(viewer_id=account.id)
            .using_db(conn)
            .update(viewer_id=None, viewer_key=f"erased:{secrets.token_hex(8)}")
        )
        # Values, grants, the member's own access log, tokens and memberships
        # go with the account row (ON DELETE CASCADE); share lines and events
        # lose their link to it (ON DELETE SET NULL). The name stays taken so
        # that nobody can later pose as the erased member.
        await Account.filter(id=account.id).using_db(conn).delete()
        await events.record(conn, "account.erased", account_id=None)
