"""Outgoing activities: what other instances are told when something happens here.

:func:`record_activities` is a domain event recorder: it runs in the
transaction of every recorded event and writes, with :func:`outbox.post`, the
activities the event causes, so that a change and what it tells the
fediverse commit together or not at all. Only public projects federate: an
event of a private project writes nothing.

A public project's Group relays what is posted in it to its followers,
FEP-1b12 style: the member's own activity (``Create``, ``Update`` or
``Delete`` of a Note or Question, by the member's Person) is written to the
member's outbox without deliveries, and the Group's ``Announce`` wrapping it,
unchanged, goes to each follower's shared inbox, or its inbox. A message
written on another instance carries the activity we received in its event's
``activity`` payload, and the Group announces that one unchanged.

:func:`erase_person` is a data-rights erasure hook: it tells every instance
that knows a member's Person that it is gone.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from myco_graph.domain import data_rights, events
from myco_graph.domain.models import (
    Account,
    ActorKind,
    Event,
    Message,
    Poll,
    Project,
    Tombstone,
    Visibility,
)
from myco_graph.federation import lookups, outbox, render
from myco_graph.federation.urls import Urls
from myco_graph.infrastructure.config import installed_settings

log = logging.getLogger(__name__)

Signer = tuple[ActorKind, int]
EventActivities = Callable[[BaseDBAsyncClient, Event, Project, Urls], Awaitable[None]]


async def record_activities(conn: BaseDBAsyncClient, event: Event) -> None:
    """Writes the activities an event of a public project causes, in ``conn``."""
    recorder = RECORDERS.get(event.kind)
    if recorder is None or event.project_id is None:
        return
    project = await Project.filter(id=event.project_id).using_db(conn).first()
    if project is None or project.visibility is not Visibility.PUBLIC:
        return
    await recorder(conn, event, project, Urls.of(installed_settings()))


# Relaying through the Group ---------------------------------------------------


async def relay(
    conn: BaseDBAsyncClient,
    project: Project,
    activity: dict[str, Any],
    urls: Urls,
    *,
    object_id: str,
    signer: Signer | None,
) -> None:
    """Writes a member's activity to their outbox, and its Announce to followers.

    ``signer`` is None for an activity received from another instance: it is
    not ours to write again, only to announce.
    """
    if signer is not None:
        await outbox.post(
            conn, activity, object_id=object_id, signer=signer, inboxes=[]
        )
    group = urls.group(project.handle)
    announce = render.render_announce(group, activity, urls)
    inboxes = await lookups.lookup_follower_inboxes(conn, project.id)
    await outbox.post(
        conn,
        announce,
        object_id=object_id,
        signer=(ActorKind.GROUP, project.id),
        inboxes=inboxes,
    )


def author_of(project: Project, author_id: int | None) -> Signer:
    """Who signs a member's activity: the member, or the Group once erased."""
    if author_id is None:
        return (ActorKind.GROUP, project.id)
    return (ActorKind.PERSON, author_id)


async def handle_of(conn: BaseDBAsyncClient, account_id: int | None) -> str | None:
    if account_id is None:
        return None
    account = await Account.filter(id=account_id).using_db(conn).first()
    return account.handle if account is not None else None


# Messages ---------------------------------------------------------------------


async def message_posted(
    conn: BaseDBAsyncClient, event: Event, project: Project, urls: Urls
) -> None:
    """A message written or edited: Create or Update of its Note, announced."""
    message = await own_message(conn, event, project, urls)
    if message is None:
        return
    author = await handle_of(conn, message.author_id)
    note = render.render_note(message, project, author, urls)
    kind = "Create" if event.kind == "message.created" else "Update"
    signer = author_of(project, message.author_id)
    activity = render.render_posted(kind, note, urls)
    await relay(conn, project, activity, urls, object_id=note["id"], signer=signer)


async def message_deleted(
    conn: BaseDBAsyncClient, event: Event, project: Project, urls: Urls
) -> None:
    """A message deleted by its author, or removed by a project admin.

    The Note's URL answers 410 from now on. A removal is the Group's own
    Delete: the project's admins moderate its thread, and receivers accept a
    Delete from the Group that relayed the Note.
    """
    message = await own_message(conn, event, project, urls)
    if message is None:
        return
    url = urls.note(message.id)
    await Tombstone.create(url=url, former_type="Note", using_db=conn)
    removed = event.kind == "message.removed"
    signer = author_of(project, None if removed else message.author_id)
    actor = await actor_url(conn, project, signer, urls)
    group = urls.group(project.handle)
    activity = render.render_delete(actor, url, "Note", group, urls)
    await relay(conn, project, activity, urls, object_id=url, signer=signer)


async def own_message(
    conn: BaseDBAsyncClient, event: Event, project: Project, urls: Urls
) -> Message | None:
    """The event's message when written here; one from another instance is
    relayed as received, and None returned."""
    message = await Message.filter(id=event.payload["message"]).using_db(conn).first()
    if message is not None and message.remote_author_id is not None:
        await relay_received(conn, event, project, message.ap_id, urls)
        return None
    return message


async def actor_url(
    conn: BaseDBAsyncClient, project: Project, signer: Signer, urls: Urls
) -> str:
    kind, actor_id = signer
    handle = await handle_of(conn, actor_id) if kind is ActorKind.PERSON else None
    return urls.person(handle) if handle else urls.group(project.handle)


async def relay_received(
    conn: BaseDBAsyncClient,
    event: Event,
    project: Project,
    ap_id: str | None,
    urls: Urls,
) -> None:
    """Announces, unchanged, the activity another instance's member sent us."""
    activity = event.payload.get("activity")
    if not isinstance(activity, dict) or ap_id is None:
        log.error("received message without its activity", extra={"event": event.id})
        return
    await relay(conn, project, activity, urls, object_id=ap_id, signer=None)


# Polls ------------------------------------------------------------------------


async def poll_changed(
    conn: BaseDBAsyncClient, event: Event, project: Project, urls: Urls
) -> None:
    """A poll created (Create of its Question) or voted in (Update of its counts).

    Only the counts go out: a ballot never says who chose what.
    """
    poll = await Poll.filter(id=event.payload["poll"]).using_db(conn).first()
    if poll is None:
        return
    tally = await lookups.lookup_tally(conn, poll.id)
    author = await handle_of(conn, poll.author_id)
    question = render.render_question(poll, project, author, tally, urls)
    kind = "Create" if event.kind == "poll.created" else "Update"
    signer = author_of(project, poll.author_id if author else None)
    activity = render.render_posted(kind, question, urls)
    await relay(conn, project, activity, urls, object_id=question["id"], signer=signer)


RECORDERS: dict[str, EventActivities] = {
    "message.created": message_posted,
    "message.edited": message_posted,
    "message.deleted": message_deleted,
    "message.removed": message_deleted,
    "poll.created": poll_changed,
    "poll.voted": poll_changed,
}


# Follows ----------------------------------------------------------------------


async def answer_follow(
    conn: BaseDBAsyncClient,
    project: Project,
    follower: lookups.Follower,
    urls: Urls,
    *,
    accepted: bool,
) -> None:
    """Sends the Group's Accept, or Reject, of a Follow to the follower."""
    group = urls.group(project.handle)
    kind = "Accept" if accepted else "Reject"
    answer = render.render_answer(kind, group, follower.follow_id, follower.actor, urls)
    await outbox.post(
        conn,
        answer,
        object_id=follower.follow_id,
        signer=(ActorKind.GROUP, project.id),
        inboxes=[follower.inbox],
    )


# Erasure ----------------------------------------------------------------------


async def erase_person(conn: BaseDBAsyncClient, account: Account) -> None:
    """Tells the instances that know an erasing member's Person that it is gone.

    They are the hosts of the remote followers of every public project the
    member belonged to or wrote in, and of every remote Group the member
    joined; each host gets one Delete at its shared inbox. The Person's URL
    answers 410 from now on.
    """
    urls = Urls.of(installed_settings())
    person = urls.person(account.handle)
    inboxes = await lookups.lookup_person_audience(conn, account.id)
    await outbox.post(
        conn,
        render.render_delete_person(person, urls),
        object_id=person,
        signer=(ActorKind.PERSON, account.id),
        inboxes=inboxes,
    )
    await Tombstone.create(url=person, former_type="Person", using_db=conn)


events.recorders.append(record_activities)
data_rights.erasure_hooks.append(erase_person)
