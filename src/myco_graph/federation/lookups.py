"""Look-ups: local actors by name, remote keys by id, signers of requests.

A name is looked up in the namespace members and projects share, whatever
its case. Only members and public projects are actors; anything else, a
private project above all, is reported exactly as a name nobody holds.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from tortoise.exceptions import IntegrityError

from myco_graph.domain import catalogue, consent, names
from myco_graph.domain.accounts import now
from myco_graph.domain.catalogue import ProfileField
from myco_graph.domain.models import (
    Account,
    AccountKind,
    BlockedInstance,
    MembershipState,
    Message,
    Project,
    ProjectMember,
    Purpose,
    RemoteKey,
    Visibility,
)
from myco_graph.errors import (
    NotFound,
    RemoteError,
    SignatureInvalid,
    SigningKeyUnavailable,
)
from myco_graph.federation import keys, signatures
from myco_graph.federation.fetch import fetch
from myco_graph.federation.parse import PublicKey, parse_public_key
from myco_graph.federation.urls import Urls
from myco_graph.infrastructure.config import Settings

log = logging.getLogger(__name__)

NO_SUCH_ACTOR = "No such actor."
# A key that fails a signature is fetched again (the actor may have rotated
# it), but not more often than this, so that forged signatures naming
# someone's key cannot make us hammer their server.
KEY_REFRESH_INTERVAL = timedelta(minutes=1)


@dataclass(frozen=True)
class FederatedViewer(consent.Viewer):
    """A reader through federation: another instance, or anyone unsigned.

    Never a local account: consent lets it read only what is shared with
    everyone, and the access log names it ``federation:<host>``.
    """

    origin: str = "anonymous"

    @property
    def key(self) -> str:
        return f"federation:{self.origin}"

    @classmethod
    def of(cls, origin: str) -> FederatedViewer:
        return cls(account_id=None, kind=None, origin=origin)


@dataclass(frozen=True)
class SharedValue:
    """One profile value a member shares with everyone, for display."""

    field: ProfileField
    value: Any


@dataclass(frozen=True)
class LocalActor:
    """A local actor's registered name and its id."""

    name: str
    url: str


@dataclass(frozen=True)
class GroupCounts:
    members: int
    messages: int


# Local actors ----------------------------------------------------------------


async def lookup_member(handle: str) -> Account:
    """The member whose handle this is, in any case; NotFound otherwise."""
    if not names.NAME_PATTERN.fullmatch(handle):
        raise NotFound(NO_SUCH_ACTOR)
    account = await Account.get_or_none(
        name__key=names.name_key(handle), kind=AccountKind.MEMBER
    )
    if account is None:
        raise NotFound(NO_SUCH_ACTOR)
    return account


async def lookup_public_project(name: str) -> Project:
    """The public project of this name; a private one is not found either."""
    if not names.NAME_PATTERN.fullmatch(name):
        raise NotFound(NO_SUCH_ACTOR)
    project = await Project.get_or_none(
        name__key=names.name_key(name), visibility=Visibility.PUBLIC
    )
    if project is None:
        raise NotFound(NO_SUCH_ACTOR)
    return project


async def lookup_local_actor(name: str, urls: Urls) -> LocalActor:
    """The member or public project holding a name, as WebFinger points at it."""
    try:
        handle = (await lookup_member(name)).handle
        return LocalActor(handle, urls.person(handle))
    except NotFound:
        handle = (await lookup_public_project(name)).handle
        return LocalActor(handle, urls.group(handle))


async def lookup_public_profile(
    account_id: int, viewer: FederatedViewer
) -> list[SharedValue]:
    """What the member shares with everyone for display, in catalogue order.

    Read through the consent decision, so every value read lands in the
    member's access log under the viewer's name.
    """
    reads = [consent.Read(account_id, key, Purpose.DISPLAY) for key in catalogue.FIELDS]
    outcomes = await consent.read_values(viewer, reads)
    return [
        SharedValue(catalogue.FIELDS[read.key], outcome.value)
        for read, outcome in zip(reads, outcomes, strict=True)
        if outcome.decision.allowed and outcome.value is not None
    ]


async def lookup_group_counts(project_id: int) -> GroupCounts:
    members = await ProjectMember.filter(
        project_id=project_id, state=MembershipState.ACTIVE
    ).count()
    messages = await Message.filter(
        project_id=project_id, deleted_at__isnull=True
    ).count()
    return GroupCounts(members=members, messages=messages)


async def lookup_member_count() -> int:
    return await Account.filter(kind=AccountKind.MEMBER).count()


async def lookup_public_message_count() -> int:
    """Messages of public projects still standing: NodeInfo's local posts."""
    return await Message.filter(
        project__visibility=Visibility.PUBLIC, deleted_at__isnull=True
    ).count()


# Remote keys and signers -----------------------------------------------------


async def lookup_remote_key(
    key_id: str, settings: Settings, *, refresh: bool = False
) -> PublicKey:
    """A remote actor's key: from the cache, or fetched (signed by the instance).

    ``refresh`` fetches it again unless the cached copy is very recent.
    """
    row = await RemoteKey.get_or_none(key_id=key_id)
    if row is not None and (
        not refresh or row.fetched_at > now() - KEY_REFRESH_INTERVAL
    ):
        return PublicKey(row.key_id, row.owner, row.public_pem)
    document = await fetch(key_id, settings, key=await instance_signing_key(settings))
    key = parse_public_key(document, key_id)
    await _store(key)
    return key


async def _store(key: PublicKey) -> None:
    moment = now()
    stored = RemoteKey.filter(key_id=key.key_id)
    if await stored.update(
        owner=key.owner, public_pem=key.public_pem, fetched_at=moment
    ):
        return
    # Another request may store it meanwhile: its copy is as fresh as ours.
    with contextlib.suppress(IntegrityError):
        await RemoteKey.create(
            key_id=key.key_id,
            owner=key.owner,
            public_pem=key.public_pem,
            fetched_at=moment,
        )


async def instance_signing_key(settings: Settings) -> signatures.SigningKey:
    """The key the instance actor signs its fetches with."""
    pair = await keys.lookup_instance_key()
    urls = Urls.of(settings)
    return signatures.SigningKey(urls.key_id(urls.instance_actor), pair.private_pem)


async def lookup_signer(
    request: signatures.InboundRequest, settings: Settings
) -> PublicKey:
    """The remote key that signed ``request``; a SignatureRefused otherwise.

    A signature that fails with the cached key is tried once more with the
    key fetched again, since the sender may have rotated its key.
    """
    signature = signatures.check_request(request, moment=now())
    try:
        key = await lookup_remote_key(signature.key_id, settings)
        if signatures.verify_request(request, signature, key.public_pem):
            return key
        fresh = await lookup_remote_key(signature.key_id, settings, refresh=True)
    except RemoteError as exc:
        log.info(
            "signing key unavailable",
            extra={"key_id": signature.key_id, "reason": type(exc).__name__},
        )
        raise SigningKeyUnavailable(
            "The key named by keyId cannot be fetched or read."
        ) from exc
    if fresh.public_pem != key.public_pem and signatures.verify_request(
        request, signature, fresh.public_pem
    ):
        return fresh
    raise SignatureInvalid("The signature does not verify with the sender's key.")


def signer_origin(key: PublicKey) -> str:
    """How the access log names a remote reader: the host of its actor."""
    return urlsplit(key.owner).netloc.lower()


# Instance blocks ---------------------------------------------------------------


def blockable_domains(url: str) -> list[str]:
    """The domains whose block covers ``url``: its host and every parent domain."""
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        labels = host.split(".")
        return [".".join(labels[start:]) for start in range(len(labels))]
    return [host]


async def lookup_blocked(*urls: str) -> bool:
    """True when an admin blocked the instance of any of these URLs."""
    domains = {domain for url in urls for domain in blockable_domains(url)}
    return await BlockedInstance.filter(domain__in=domains).exists()
