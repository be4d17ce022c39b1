"""A local member's side of federation: projects of other instances.

A member finds a remote project by its address (``name@domain``, as
WebFinger resolves it, or its actor URL), joins it by following its Group,
writes in it (Create, Update and Delete of Notes addressed to the Group, the
shape FEP-1b12 groups relay), votes in its polls (Mastodon's ballot shape:
one Note naming an option per choice) and reads it. Messages come back as
the Group's Announces, which the inbox stores as RemoteNote rows; the members
list is read live from the Group's ``members`` collection and never stored,
since it holds values the remote members shared with their project only.

Every activity goes through the outbox in the transaction of the change that
causes it, signed by the member's own Person key; delivery is woken once that
transaction has committed, since no domain event announces these changes.

Remote failures surface as client errors here, since the member asked for
something on another instance: an address nobody serves is NotFound, one we
may not fetch is BadUserInput.
"""

from __future__ import annotations

import html
import logging
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from myco_graph.domain.accounts import now
from myco_graph.domain.discussion import BODY_MAX
from myco_graph.domain.models import (
    Account,
    AccountKind,
    ActorKind,
    RemoteActor,
    RemoteMembership,
    RemoteMembershipState,
    RemoteNote,
    Tombstone,
)
from myco_graph.errors import (
    BadUserInput,
    FetchRefused,
    Forbidden,
    NotFound,
    RemoteError,
    RemoteInvalid,
    RemoteUnavailable,
)
from myco_graph.federation import delivery, keys, lookups, outbox
from myco_graph.federation.fetch import fetch
from myco_graph.federation.parse import id_of, origin, parse_actor
from myco_graph.federation.render import ACTIVITYSTREAMS, render_summary
from myco_graph.federation.signatures import SigningKey
from myco_graph.federation.urls import Urls
from myco_graph.infrastructure.config import Settings

log = logging.getLogger(__name__)

GROUP = "Group"
# A cached actor document is read again after this long: names and inboxes
# change rarely, and a member looking a project up should not wait on it.
REFRESH_AFTER = timedelta(days=1)
ADDRESS = re.compile(
    r"@?(?P<name>[A-Za-z0-9_.~-]{1,64})@(?P<domain>[A-Za-z0-9.-]{1,253}(?::\d{1,5})?)"
)
JRD_ACCEPT = "application/jrd+json, application/json"
ACTOR_TYPES = ("application/activity+json", "application/ld+json")
MAX_URL_LENGTH = 500
MAX_CHOICES = 20
# Members read from one page of the Group's collection, at most.
MAX_MEMBERS = 200
TAG = re.compile(r"<[^>]*>")
NOT_A_MEMBER = "Join this project and wait for its answer first."


@dataclass(frozen=True)
class RemoteField:
    """One profile value a remote member shares with the project."""

    key: str
    label: str
    value: str


@dataclass(frozen=True)
class RemoteMember:
    """A member of a remote project, as its Group's ``members`` collection says."""

    url: str
    handle: str
    fields: tuple[RemoteField, ...]


@dataclass(frozen=True)
class RemoteOption:
    name: str
    votes: int


@dataclass(frozen=True)
class RemoteQuestion:
    """A remote poll as its Question document says, counts included."""

    url: str
    text: str
    options: tuple[RemoteOption, ...]
    multiple: bool
    closes_at: datetime | None
    closed: bool
    # The actors the Question names as its author or audience.
    parties: frozenset[str]


# Addresses and look-ups --------------------------------------------------------


def plain_text(markup: str) -> str:
    """HTML from another instance as plain text: tags dropped, entities read."""
    return html.unescape(TAG.sub("", markup.replace("</p><p>", "\n\n"))).strip()


def _is_loopback(host: str) -> bool:
    return host.split(":")[0].lower() in {"127.0.0.1", "localhost", "[::1]"}


def webfinger_url(name: str, domain: str, settings: Settings) -> str:
    """Where ``name@domain`` is resolved: https, or http on loopback for tests."""
    tests = settings.federation_allow_private_addresses and _is_loopback(domain)
    scheme = "http" if tests else "https"
    query = urlencode({"resource": f"acct:{name}@{domain}"})
    return f"{scheme}://{domain}/.well-known/webfinger?{query}"


def parse_webfinger(document: dict[str, Any]) -> str:
    """The actor URL of a WebFinger answer (RFC 7033): its ActivityPub self link."""
    links = document.get("links")
    for link in links if isinstance(links, list) else []:
        if not isinstance(link, dict) or link.get("rel") != "self":
            continue
        media = str(link.get("type", "")).split(";")[0].strip()
        href = link.get("href")
        if media in ACTOR_TYPES and isinstance(href, str):
            return _checked_url(href, "The WebFinger answer's actor")
    raise RemoteInvalid("The WebFinger answer names no ActivityPub actor.")


def _checked_url(value: str, what: str) -> str:
    if not value.startswith(("https://", "http://")) or len(value) > MAX_URL_LENGTH:
        raise RemoteInvalid(f"{what} is not an http(s) URL.")
    return value


async def _fetched(
    url: str, settings: Settings, *, key: SigningKey | None = None, **options: Any
) -> dict[str, Any]:
    """A remote document, with remote failures said as the member's errors."""
    host = urlsplit(url).netloc or "?"
    try:
        return await fetch(url, settings, key=key, **options)
    except FetchRefused as exc:
        raise BadUserInput(
            "This address cannot be reached from here.", field="address"
        ) from exc
    except RemoteUnavailable as exc:
        if exc.status in {404, 410}:
            raise NotFound("Nothing is found at this address.") from exc
        raise NotFound(f"{host} cannot be reached now; try again later.") from exc
    except RemoteError as exc:
        raise NotFound(f"{host} gave an answer that cannot be read.") from exc


async def actor_url_of(address: str, settings: Settings) -> str:
    """The actor URL an address names: an actor URL as is, or by WebFinger.

    A blocked instance is refused before anything is fetched from it.
    """
    address = address.strip()
    if address.startswith(("https://", "http://")):
        if len(address) > MAX_URL_LENGTH or not urlsplit(address).hostname:
            raise BadUserInput("This URL is not an actor's.", field="address")
        await _refuse_blocked(address)
        return address
    match = ADDRESS.fullmatch(address)
    if match is None:
        raise BadUserInput(
            "An address is name@domain, or a project's URL.", field="address"
        )
    url = webfinger_url(match["name"], match["domain"].lower(), settings)
    await _refuse_blocked(url)
    document = await _fetched(url, settings, accept=JRD_ACCEPT)
    try:
        actor = parse_webfinger(document)
    except RemoteInvalid as exc:
        raise NotFound("No project is found at this address.") from exc
    await _refuse_blocked(actor)
    return actor


async def _refuse_blocked(url: str) -> None:
    if await lookups.lookup_blocked(url):
        raise Forbidden("This instance is blocked here.")


async def lookup_remote(address: str, settings: Settings) -> RemoteActor:
    """The remote project at ``address``, from the cache or fetched and cached.

    Only Groups are projects; a blocked instance is refused before any fetch.
    """
    cached = await _cached_group(address)
    if cached is not None:
        await _refuse_blocked(cached.url)
    url = cached.url if cached is not None else await actor_url_of(address, settings)
    actor = await lookup_remote_actor(url, settings)
    if actor.type != GROUP:
        raise BadUserInput(
            f"This address is a {actor.type}, not a project.", field="address"
        )
    return actor


async def _cached_group(address: str) -> RemoteActor | None:
    """A fresh cached Group whose name and domain the address gives, if any.

    Spares a WebFinger request on every read of a project already known; a
    miss, a stale row or an actor URL goes through WebFinger as usual.
    """
    match = ADDRESS.fullmatch(address.strip())
    if match is None:
        return None
    cached = await RemoteActor.filter(
        handle=match["name"], domain=match["domain"].lower(), type=GROUP
    ).first()
    if cached is None or now() - cached.fetched_at >= REFRESH_AFTER:
        return None
    return cached


async def lookup_remote_actor(
    url: str, settings: Settings, *, refresh: bool = False
) -> RemoteActor:
    """The cached actor at ``url``, fetched (signed by the instance) when stale."""
    cached = await RemoteActor.get_or_none(url=url)
    if cached is not None and not refresh and now() - cached.fetched_at < REFRESH_AFTER:
        return cached
    key = await lookups.instance_signing_key(settings)
    document = await _fetched(url, settings, key=key)
    try:
        fields = actor_fields(document, url)
    except RemoteInvalid as exc:
        raise NotFound("No project is found at this address.") from exc
    return await _store_actor(url, fields)


def actor_fields(document: dict[str, Any], url: str) -> dict[str, Any]:
    """What RemoteActor keeps of an actor document."""
    parsed = parse_actor(document, url)
    handle = document.get("preferredUsername")
    if not isinstance(handle, str) or not 0 < len(handle) <= 100:
        handle = urlsplit(url).path.rstrip("/").rpartition("/")[2][:100] or "?"
    return {
        "type": parsed.type[:32],
        "handle": handle,
        "domain": urlsplit(url).netloc.lower(),
        "name": _text(document.get("name"))[:200],
        "summary": _summary(document),
        "inbox": parsed.inbox,
        "shared_inbox": parsed.shared_inbox,
        "outbox": _same_origin(document.get("outbox"), url),
        "followers": _same_origin(document.get("followers"), url),
        "fetched_at": now(),
    }


def _text(value: Any) -> str:
    return plain_text(value) if isinstance(value, str) else ""


def _summary(document: dict[str, Any]) -> str:
    """The plain-text summary: the source as written, else the HTML read as text."""
    source = document.get("source")
    if isinstance(source, dict) and source.get("mediaType") == "text/plain":
        content = source.get("content")
        if isinstance(content, str):
            return content[:5_000]
    return _text(document.get("summary"))[:5_000]


def _same_origin(value: Any, actor: str) -> str | None:
    if not isinstance(value, str) or len(value) > MAX_URL_LENGTH:
        return None
    return value if origin(value) == origin(actor) else None


async def _store_actor(url: str, fields: dict[str, Any]) -> RemoteActor:
    """Creates or refreshes the cached row; an inbox may have cached it meanwhile."""
    updated = await RemoteActor.filter(url=url).update(**fields)
    if not updated:
        try:
            return await RemoteActor.create(url=url, **fields)
        except IntegrityError:
            await RemoteActor.filter(url=url).update(**fields)
    return await RemoteActor.get(url=url)


# Joining and leaving -----------------------------------------------------------


def _person(account: Account, settings: Settings) -> str:
    if account.kind is not AccountKind.MEMBER:
        raise Forbidden("Only members take part in remote projects.")
    return Urls.of(settings).person(account.handle)


def activity_url(settings: Settings) -> str:
    """A new id for an activity of ours."""
    return f"{Urls.of(settings).base}/activities/{uuid.uuid4()}"


def object_url(settings: Settings) -> str:
    """A new id for an object of ours sent to another instance, such as a Note."""
    return f"{Urls.of(settings).base}/objects/{uuid.uuid4()}"


def _signer(account: Account) -> tuple[ActorKind, int]:
    return (ActorKind.PERSON, account.id)


async def membership_of(
    account: Account, group: RemoteActor
) -> RemoteMembership | None:
    return await RemoteMembership.get_or_none(account_id=account.id, group_id=group.id)


async def join(
    account: Account, group: RemoteActor, settings: Settings
) -> RemoteMembership:
    """Follows the Group; the membership stays PENDING until its Accept arrives.

    Joining again while pending or accepted changes nothing; after a refusal
    the member may ask again.
    """
    person = _person(account, settings)
    existing = await membership_of(account, group)
    if existing is not None and existing.state is not RemoteMembershipState.REJECTED:
        return existing
    follow = render_follow(activity_url(settings), person, group.url)
    try:
        async with in_transaction() as conn:
            if existing is not None:
                await existing.delete(using_db=conn)
            membership = await RemoteMembership.create(
                account_id=account.id,
                group_id=group.id,
                follow_id=follow["id"],
                state=RemoteMembershipState.PENDING,
                using_db=conn,
            )
            await _post(conn, follow, follow["id"], account, group)
    except IntegrityError:
        # The same member joined at the same moment in another request.
        return await RemoteMembership.get(account_id=account.id, group_id=group.id)
    await delivery.wake()
    return membership


async def leave(account: Account, group: RemoteActor, settings: Settings) -> None:
    """Undoes the Follow and forgets the membership and its messages' access."""
    person = _person(account, settings)
    membership = await membership_of(account, group)
    if membership is None:
        raise NotFound("You are not in this project.")
    follow = render_follow(membership.follow_id, person, group.url)
    undo = render_activity("Undo", activity_url(settings), person, follow)
    async with in_transaction() as conn:
        await membership.delete(using_db=conn)
        await _post(conn, undo, membership.follow_id, account, group)
    await delivery.wake()


def render_follow(follow_id: str, person: str, group: str) -> dict[str, Any]:
    return render_activity("Follow", follow_id, person, group)


def render_activity(
    kind: str, activity_id: str, person: str, obj: Any, **more: Any
) -> dict[str, Any]:
    return {
        "@context": ACTIVITYSTREAMS,
        "id": activity_id,
        "type": kind,
        "actor": person,
        "object": obj,
        **more,
    }


async def _post(
    conn: BaseDBAsyncClient,
    document: dict[str, Any],
    object_id: str,
    account: Account,
    group: RemoteActor,
) -> None:
    await outbox.post(
        conn,
        document,
        object_id=object_id,
        signer=_signer(account),
        inboxes=[group.inbox],
    )


# Writing in a remote project ---------------------------------------------------


async def accepted_group(account: Account, group_id: int) -> RemoteActor:
    """The Group if the member's Follow of it was accepted; Forbidden otherwise."""
    membership = await RemoteMembership.get_or_none(
        account_id=account.id, group_id=group_id
    ).select_related("group")
    if membership is None or membership.state is not RemoteMembershipState.ACCEPTED:
        raise Forbidden(NOT_A_MEMBER)
    return membership.group


def _body(body: str) -> str:
    body = body.strip()
    if not 1 <= len(body) <= BODY_MAX:
        raise BadUserInput(f"A message has 1 to {BODY_MAX} characters.", field="body")
    return body


def render_note(
    note: RemoteNote, person: str, group: str, source: str
) -> dict[str, Any]:
    """A member's message as the Note a remote Group relays (FEP-1b12 audience)."""
    document: dict[str, Any] = {
        "id": note.ap_id,
        "type": "Note",
        "attributedTo": person,
        "to": [group],
        "audience": group,
        "content": note.content,
        "mediaType": "text/html",
        "source": {"content": source, "mediaType": "text/plain"},
        "published": _iso(note.published_at),
    }
    if note.updated_at is not None:
        document["updated"] = _iso(note.updated_at)
    return document


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


async def post_note(
    account: Account, group_id: int, body: str, settings: Settings
) -> RemoteNote:
    """Sends a message to a remote project, and keeps it so the author sees it.

    The Group's Announce of it later carries the same id and is taken as
    already known.
    """
    person = _person(account, settings)
    body = _body(body)
    group = await accepted_group(account, group_id)
    note = RemoteNote(
        ap_id=object_url(settings),
        group_id=group.id,
        author_url=person,
        author_name=account.handle,
        content=render_summary(body),
        published_at=now(),
    )
    create = render_activity(
        "Create",
        activity_url(settings),
        person,
        render_note(note, person, group.url, body),
        to=[group.url],
        audience=group.url,
    )
    async with in_transaction() as conn:
        await note.save(using_db=conn)
        await _post(conn, create, note.ap_id, account, group)
    await delivery.wake()
    return note


async def own_note(account: Account, note_id: int, settings: Settings) -> RemoteNote:
    """The member's own live note in a project they are still in."""
    note = await RemoteNote.get_or_none(
        id=note_id, author_url=_person(account, settings), deleted_at__isnull=True
    )
    if note is None:
        raise NotFound("No such message of yours.")
    await accepted_group(account, note.group_id)
    return note


async def edit_note(
    account: Account, note_id: int, body: str, settings: Settings
) -> RemoteNote:
    """Rewrites the member's note here and sends the Update to the Group."""
    body = _body(body)
    note = await own_note(account, note_id, settings)
    group = await note.group
    person = _person(account, settings)
    note.content, note.updated_at = render_summary(body), now()
    update = render_activity(
        "Update",
        activity_url(settings),
        person,
        render_note(note, person, group.url, body),
        to=[group.url],
        audience=group.url,
    )
    async with in_transaction() as conn:
        await note.save(using_db=conn, update_fields=["content", "updated_at"])
        await _post(conn, update, note.ap_id, account, group)
    await delivery.wake()
    return note


async def delete_note(account: Account, note_id: int, settings: Settings) -> RemoteNote:
    """Empties the member's note, leaves a tombstone and sends the Delete."""
    note = await own_note(account, note_id, settings)
    group = await note.group
    person = _person(account, settings)
    note.content, note.deleted_at = "", now()
    tombstone = {
        "id": note.ap_id,
        "type": "Tombstone",
        "formerType": "Note",
        "deleted": _iso(note.deleted_at),
    }
    delete = render_activity(
        "Delete",
        activity_url(settings),
        person,
        tombstone,
        to=[group.url],
        audience=group.url,
    )
    async with in_transaction() as conn:
        await note.save(using_db=conn, update_fields=["content", "deleted_at"])
        await Tombstone.create(url=note.ap_id, former_type="Note", using_db=conn)
        await _post(conn, delete, note.ap_id, account, group)
    await delivery.wake()
    return note


# Polls -----------------------------------------------------------------------------


async def person_key(account: Account, settings: Settings) -> SigningKey:
    """The member's Person key: what a Group under authorized fetch lets read."""
    pair = await keys.lookup_actor_key(ActorKind.PERSON, account.id)
    return SigningKey(Urls.key_id(_person(account, settings)), pair.private_pem)


def parse_question(document: dict[str, Any], url: str) -> RemoteQuestion:
    """A Question (Mastodon's poll shape): ``oneOf`` or ``anyOf`` Notes with counts."""
    if document.get("type") != "Question" or document.get("id") != url:
        raise RemoteInvalid("This is not the poll asked for.")
    multiple = "anyOf" in document
    given = document.get("anyOf" if multiple else "oneOf")
    if not isinstance(given, list) or not given:
        raise RemoteInvalid("The poll has no options.")
    options = tuple(_option(item) for item in given)
    parties = {
        party
        for name in ("attributedTo", "audience", "to", "cc", "context")
        for party in _ids(document.get(name))
    }
    closes_at = _moment(document.get("endTime"))
    closed = document.get("closed") is not None or (
        closes_at is not None and closes_at <= now()
    )
    return RemoteQuestion(
        url=url,
        text=_text(document.get("name") or document.get("content")),
        options=options,
        multiple=multiple,
        closes_at=closes_at,
        closed=closed,
        parties=frozenset(parties),
    )


def _option(item: Any) -> RemoteOption:
    if not isinstance(item, dict) or not isinstance(item.get("name"), str):
        raise RemoteInvalid("A poll option has no name.")
    replies = item.get("replies")
    total = replies.get("totalItems") if isinstance(replies, dict) else 0
    votes = total if isinstance(total, int) and total >= 0 else 0
    return RemoteOption(name=item["name"], votes=votes)


def _ids(value: Any) -> list[str]:
    values = value if isinstance(value, list) else [value]
    return [found for item in values if isinstance(found := id_of(item), str)]


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


async def read_question(
    account: Account, url: str, settings: Settings, *, field: str = "url"
) -> RemoteQuestion:
    """A remote poll, read now signed by the member, with its counts."""
    if not url.startswith(("https://", "http://")) or len(url) > MAX_URL_LENGTH:
        raise BadUserInput("This is not a poll's URL.", field=field)
    document = await _fetched(url, settings, key=await person_key(account, settings))
    try:
        return parse_question(document, url)
    except RemoteInvalid as exc:
        raise NotFound("No poll is found at this URL.") from exc


async def fetch_question(
    account: Account, group: RemoteActor, url: str, settings: Settings
) -> RemoteQuestion:
    """A poll of this Group: on its origin, and naming it as author or audience."""
    if not url.startswith(("https://", "http://")) or origin(url) != origin(group.url):
        raise NotFound("This project has no such poll.")
    question = await read_question(account, url, settings)
    if group.url not in question.parties:
        raise NotFound("This project has no such poll.")
    return question


async def vote(
    account: Account,
    question_url: str,
    choices: list[str],
    settings: Settings,
) -> RemoteQuestion:
    """Sends a ballot: one Note naming an option per choice, as Mastodon votes.

    The poll must belong to a project the member is in; the counts come back
    when the Question is read again.
    """
    group, question = await _poll_and_group(account, question_url, settings)
    chosen = _checked_choices(question, choices)
    person = _person(account, settings)
    async with in_transaction() as conn:
        for name in chosen:
            ballot = {
                "id": object_url(settings),
                "type": "Note",
                "name": name,
                "inReplyTo": question.url,
                "attributedTo": person,
                "to": [group.url],
            }
            create = render_activity(
                "Create", activity_url(settings), person, ballot, to=[group.url]
            )
            await _post(conn, create, question.url, account, group)
    await delivery.wake()
    return question


async def _poll_and_group(
    account: Account, question_url: str, settings: Settings
) -> tuple[RemoteActor, RemoteQuestion]:
    """The poll and the member's accepted Group it names; Forbidden if none."""
    question = await read_question(account, question_url, settings, field="questionUrl")
    groups = await RemoteActor.filter(
        url__in=sorted(question.parties),
        memberships__account_id=account.id,
        memberships__state=RemoteMembershipState.ACCEPTED,
    )
    for group in groups:
        if origin(group.url) == origin(question_url):
            return group, question
    raise Forbidden(NOT_A_MEMBER)


def _checked_choices(question: RemoteQuestion, choices: list[str]) -> list[str]:
    if question.closed:
        raise BadUserInput("This poll is closed.", field="choices")
    names = [option.name for option in question.options]
    chosen = list(dict.fromkeys(choices))
    if not 1 <= len(chosen) <= min(MAX_CHOICES, len(names)):
        raise BadUserInput("Choose at least one option.", field="choices")
    if not question.multiple and len(chosen) > 1:
        raise BadUserInput("This poll takes a single choice.", field="choices")
    if any(choice not in names for choice in chosen):
        raise BadUserInput("Choose among the poll's options.", field="choices")
    return chosen


# Members ---------------------------------------------------------------------------


async def fetch_members(
    account: Account, group_id: int, settings: Settings
) -> list[RemoteMember]:
    """Who is in a remote project and what they share with it, read live.

    The Group serves its ``members`` collection to its accepted followers
    only, so it is read signed with the member's own key. Nothing of it is
    stored here: those values were shared with the project, not with us.
    """
    group = await accepted_group(account, group_id)
    key = await person_key(account, settings)
    document = await _fetched(group.url, settings, key=key)
    members_url = _same_origin(document.get("members"), group.url)
    if members_url is None:
        raise NotFound("This project does not share its members list.")
    collection = await _fetched(members_url, settings, key=key)
    items = await _collection_items(collection, group.url, settings, key)
    members = (_member(item, group.url) for item in items[:MAX_MEMBERS])
    return [member for member in members if member is not None]


async def _collection_items(
    collection: dict[str, Any], group: str, settings: Settings, key: SigningKey
) -> list[Any]:
    """The items of a collection, or of its first page when they are paged."""
    for name in ("orderedItems", "items"):
        if isinstance(collection.get(name), list):
            return list(collection[name])
    first = collection.get("first")
    if isinstance(first, dict):
        return await _collection_items(first, group, settings, key)
    if isinstance(first, str) and _same_origin(first, group):
        page = await _fetched(first, settings, key=key)
        for name in ("orderedItems", "items"):
            if isinstance(page.get(name), list):
                return list(page[name])
    return []


def _member(item: Any, group: str) -> RemoteMember | None:
    """A member entry; one that names another origin's actor is left out."""
    if not isinstance(item, dict) or _same_origin(item.get("id"), group) is None:
        return None
    handle = item.get("preferredUsername")
    attachments = item.get("attachment")
    fields = tuple(
        field
        for entry in (attachments if isinstance(attachments, list) else [])
        if (field := _field(entry)) is not None
    )
    return RemoteMember(
        url=item["id"],
        handle=handle if isinstance(handle, str) else "",
        fields=fields,
    )


def _field(entry: Any) -> RemoteField | None:
    if not isinstance(entry, dict) or entry.get("type") != "PropertyValue":
        return None
    label, value = entry.get("name"), entry.get("value")
    if not isinstance(label, str) or not isinstance(value, str):
        return None
    key = entry.get("fieldKey")
    return RemoteField(
        key=key if isinstance(key, str) else "",
        label=plain_text(label),
        value=plain_text(value),
    )
