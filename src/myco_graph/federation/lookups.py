"""Look-ups: local actors by name, remote keys by id, signers of requests.

A name is looked up in the namespace members and projects share, whatever
its case. Only members and public projects are actors; anything else, a
private project above all, is reported exactly as a name nobody holds.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError

from myco_graph.domain import catalogue, consent, names, polls
from myco_graph.domain.accounts import now
from myco_graph.domain.catalogue import ProfileField
from myco_graph.domain.models import (
    Account,
    AccountKind,
    ActorKind,
    BlockedInstance,
    FollowerState,
    MembershipState,
    Message,
    OutboxActivity,
    Poll,
    Project,
    ProjectMember,
    Purpose,
    RemoteFollower,
    RemoteKey,
    RemoteMembership,
    Tombstone,
    Visibility,
)
from myco_graph.domain.polls import Tally
from myco_graph.errors import (
    Forbidden,
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


async def lookup_blocked_hosts(hosts: Iterable[str]) -> set[str]:
    """Those of these hosts (``name[:port]``) whose instance an admin blocked."""
    covering = {host: blockable_domains(f"//{host}") for host in hosts}
    domains = {domain for names in covering.values() for domain in names}
    if not domains:
        return set()
    blocked = set(
        await BlockedInstance.filter(domain__in=domains).values_list(
            "domain", flat=True
        )
    )
    return {host for host, names in covering.items() if not blocked.isdisjoint(names)}


# Followers and audiences -----------------------------------------------------


@dataclass(frozen=True)
class Follower:
    """A remote follower as an Accept or Reject addresses it."""

    actor: str
    inbox: str
    follow_id: str


async def lookup_follower_inboxes(
    conn: BaseDBAsyncClient, project_id: int
) -> list[str]:
    """Where a Group's activities go: each accepted follower's shared inbox or inbox."""
    rows = (
        await RemoteFollower.filter(project_id=project_id, state=FollowerState.ACCEPTED)
        .using_db(conn)
        .order_by("id")
        .values_list("shared_inbox", "inbox")
    )
    return [shared or inbox for shared, inbox in rows]


async def lookup_person_audience(conn: BaseDBAsyncClient, account_id: int) -> list[str]:
    """The inboxes of every remote instance that may hold a member's Person.

    Followers of the public projects the member belongs to or wrote in, and
    the remote Groups the member joined.
    """
    joined = ProjectMember.filter(account_id=account_id).using_db(conn)
    wrote = Message.filter(author_id=account_id).using_db(conn).distinct()
    project_ids = set(await joined.values_list("project_id", flat=True))
    project_ids |= set(await wrote.values_list("project_id", flat=True))
    followers = await (
        RemoteFollower.filter(
            project_id__in=project_ids,
            project__visibility=Visibility.PUBLIC,
            state=FollowerState.ACCEPTED,
        )
        .using_db(conn)
        .values_list("shared_inbox", "inbox")
    )
    groups = await (
        RemoteMembership.filter(account_id=account_id)
        .using_db(conn)
        .values_list("group__shared_inbox", "group__inbox")
    )
    return [shared or inbox for shared, inbox in [*followers, *groups]]


async def lookup_accepted_follower(project_id: int, actor: str) -> RemoteFollower:
    """The accepted remote follower ``actor`` of a project; Forbidden otherwise."""
    follower = await RemoteFollower.get_or_none(
        project_id=project_id, actor=actor, state=FollowerState.ACCEPTED
    )
    if follower is None:
        raise Forbidden("Only the Group's accepted followers may do this.")
    return follower


# Polls -----------------------------------------------------------------------


async def lookup_tally(conn: BaseDBAsyncClient | None, poll_id: int) -> Tally:
    """A poll's counts, ballots from other instances included, read in ``conn``."""
    return (await polls.tallies([poll_id], conn))[poll_id]


# Objects and collections ------------------------------------------------------

PAGE_SIZE = 20


async def lookup_tombstone(url: str) -> Tombstone | None:
    """The tombstone of one of our deleted objects, if it was deleted."""
    return await Tombstone.get_or_none(url=url)


async def lookup_public_message(message_id: int) -> Message:
    """A standing message written here in a public project; NotFound otherwise.

    Messages written on other instances are theirs to serve, at their ids.
    """
    message = await Message.get_or_none(
        id=message_id,
        project__visibility=Visibility.PUBLIC,
        deleted_at__isnull=True,
        ap_id__isnull=True,
    ).select_related("project", "author")
    if message is None:
        raise NotFound("No such note.")
    return message


async def lookup_public_poll(poll_id: int) -> Poll:
    """A poll of a public project, its author loaded; NotFound otherwise."""
    poll = await Poll.get_or_none(
        id=poll_id, project__visibility=Visibility.PUBLIC
    ).select_related("project", "author")
    if poll is None:
        raise NotFound("No such question.")
    return poll


@dataclass(frozen=True)
class OutboxPage:
    """A page of an actor's outbox: the total, the documents, the next cursor."""

    total: int
    documents: list[dict[str, Any]]
    next_before: int | None


async def lookup_outbox(
    signer: tuple[ActorKind, int],
    types: frozenset[str],
    before: int | None,
    *,
    limit: int = PAGE_SIZE,
) -> OutboxPage:
    """An actor's public activities, newest first, ``limit`` before a cursor."""
    kind, actor_id = signer
    written = OutboxActivity.filter(
        signer_kind=kind, signer_id=actor_id, type__in=sorted(types)
    )
    page = written.filter(id__lt=before) if before is not None else written
    rows = await page.order_by("-id").limit(limit).values_list("id", "document")
    total = await written.count()
    following = rows[-1][0] if len(rows) == limit else None
    return OutboxPage(total, [document for _, document in rows], following)


async def lookup_follower_count(project_id: int) -> int:
    return await RemoteFollower.filter(
        project_id=project_id, state=FollowerState.ACCEPTED
    ).count()


@dataclass(frozen=True)
class SharingMember:
    """A member of a project, with what they share with its members."""

    handle: str
    shared: list[SharedValue]


@dataclass(frozen=True)
class MembersPage:
    total: int
    members: list[SharingMember]
    next_after: int | None


async def lookup_sharing_members(
    project_id: int, viewer: FederatedViewer, after: int | None
) -> MembersPage:
    """A page of a project's members, each with what they share with the project.

    Read through the consent decision for project collaboration, so that
    each value read lands in its member's access log under the viewer.
    """
    active = ProjectMember.filter(project_id=project_id, state=MembershipState.ACTIVE)
    page = active.filter(id__gt=after) if after is not None else active
    rows = (
        await page.order_by("id")
        .limit(PAGE_SIZE)
        .values_list("id", "account_id", "account__handle")
    )
    reads = [
        consent.Read(account_id, key, Purpose.PROJECT_COLLABORATION, project_id)
        for _, account_id, _ in rows
        for key in catalogue.FIELDS
    ]
    session = consent.Session(viewer)
    outcomes = iter(await session.read(reads))
    await session.flush()
    members = []
    for _, _, handle in rows:
        decided = [next(outcomes) for _ in catalogue.FIELDS]
        shared = [
            SharedValue(catalogue.FIELDS[key], outcome.value)
            for key, outcome in zip(catalogue.FIELDS, decided, strict=True)
            if outcome.decision.allowed and outcome.value is not None
        ]
        members.append(SharingMember(handle, shared))
    following = rows[-1][0] if len(rows) == PAGE_SIZE else None
    return MembersPage(await active.count(), members, following)
