"""Giving and withdrawing consent grants, each with its signed receipt."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from myco_graph.domain import catalogue, events, receipts
from myco_graph.domain.accounts import now
from myco_graph.domain.models import (
    Account,
    AccountKind,
    Audience,
    ConsentGrant,
    Event,
    Project,
    Purpose,
)
from myco_graph.errors import BadUserInput, Forbidden, NotFound

# Audiences that name one party need its id; the others must not carry one.
NAMED_AUDIENCES = {Audience.PROJECT, Audience.MEMBER, Audience.BRAND}


@dataclass(frozen=True)
class GrantRequest:
    field_keys: list[str]
    audience: Audience
    audience_id: int | None
    purpose: Purpose
    expires_at: datetime | None
    explicit: bool


@dataclass(frozen=True)
class Issuer:
    """Who signs receipts: this instance, by its public URL and domain."""

    base_url: str
    domain: str


async def _check(
    conn: BaseDBAsyncClient, subject: Account, request: GrantRequest
) -> list[str]:
    if subject.kind is not AccountKind.MEMBER:
        raise Forbidden("Only members give consent over their own profile.")
    if not request.field_keys:
        raise BadUserInput("Name at least one field.", field="fields")
    keys = sorted({catalogue.lookup(key).key for key in request.field_keys})
    special = [key for key in keys if catalogue.FIELDS[key].special]
    if special and request.purpose is Purpose.OFFER_MATCHING:
        raise BadUserInput(
            "Special-category fields are never used to match offers.", field="fields"
        )
    if special and not request.explicit:
        raise BadUserInput(
            "Special-category fields need an explicit grant (explicit: true).",
            field="explicit",
        )
    if request.expires_at is not None and request.expires_at <= now():
        raise BadUserInput("The expiry must be in the future.", field="expiresAt")
    await _check_audience(conn, request)
    return keys


async def _check_audience(conn: BaseDBAsyncClient, request: GrantRequest) -> None:
    if request.audience not in NAMED_AUDIENCES:
        if request.audience_id is not None:
            raise BadUserInput("This audience takes no id.", field="audience.id")
        return
    if request.audience_id is None:
        raise BadUserInput("This audience needs an id.", field="audience.id")
    if request.audience is Audience.PROJECT:
        if not await Project.exists(id=request.audience_id, using_db=conn):
            raise BadUserInput("No such project.", field="audience.id")
        return
    kind = (
        AccountKind.MEMBER if request.audience is Audience.MEMBER else AccountKind.BRAND
    )
    if not await Account.exists(id=request.audience_id, kind=kind, using_db=conn):
        raise BadUserInput(f"No such {kind.value}.", field="audience.id")


async def grant(
    subject: Account, request: GrantRequest, issuer: Issuer
) -> ConsentGrant:
    """Records a grant and its signed receipt."""
    async with in_transaction() as conn:
        row, event = await grant_within(conn, subject, request, issuer)
    await events.announce(event)
    return row


async def grant_within(
    conn: BaseDBAsyncClient, subject: Account, request: GrantRequest, issuer: Issuer
) -> tuple[ConsentGrant, Event]:
    """Records a grant in the caller's transaction; announce the event after it."""
    keys = await _check(conn, subject, request)
    row = await ConsentGrant.create(
        subject=subject,
        audience=request.audience,
        audience_id=request.audience_id,
        purpose=request.purpose,
        field_keys=keys,
        explicit=request.explicit,
        created_at=now(),
        expires_at=request.expires_at,
        receipt={},
        receipt_jws="",
        using_db=conn,
    )
    row.receipt = receipts.document(
        row, subject, base_url=issuer.base_url, domain=issuer.domain
    )
    row.receipt_jws = await receipts.sign(row.receipt)
    await row.save(update_fields=["receipt", "receipt_jws"], using_db=conn)
    event = await events.record(
        conn, "consent.granted", account_id=subject.id, payload={"grant": row.id}
    )
    return row, event


async def withdraw(subject: Account, grant_id: int) -> ConsentGrant:
    """Withdraws one of the subject's grants; the next read already sees it."""
    row = await ConsentGrant.filter(id=grant_id, subject_id=subject.id).first()
    if row is None:
        raise NotFound("No such consent grant.")
    if row.withdrawn_at is not None:
        return row
    async with in_transaction() as conn:
        row.withdrawn_at = now()
        await row.save(update_fields=["withdrawn_at"], using_db=conn)
        event = await events.record(
            conn, "consent.withdrawn", account_id=subject.id, payload={"grant": row.id}
        )
    await events.announce(event)
    return row


class Status:
    ACTIVE = "active"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"


def status(row: ConsentGrant, moment: datetime | None = None) -> str:
    if row.withdrawn_at is not None:
        return Status.WITHDRAWN
    if row.expires_at is not None and row.expires_at <= (moment or now()):
        return Status.EXPIRED
    return Status.ACTIVE
