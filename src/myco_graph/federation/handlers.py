"""One handler per inbound activity type: ``handle_<type>``.

A handler reads and fetches what it needs, refuses what it cannot take by
raising, and returns the :data:`Change` to write. The inbox writes that change
in the transaction that records the activity as received, so an activity is
applied once or not at all, and no transaction stays open across a fetch.

Handlers serve both sides of a public project. On its home instance, its
Group takes Follows, Undo and Leave, and the posts, edits, deletions and poll
ballots of its accepted followers. On the instance of a member who joined a
remote project, the Group's Accept or Reject of the member's Follow, and the
Group's Announces of what is written in it. A remote actor's Delete of
itself erases what we hold of it, on either side.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from tortoise.backends.base.client import BaseDBAsyncClient

from myco_graph.domain import discussion, events, names
from myco_graph.domain.accounts import now
from myco_graph.domain.models import (
    Event,
    FollowerState,
    Message,
    Poll,
    Project,
    RemoteActor,
    RemoteFollower,
    RemoteKey,
    RemoteMembership,
    RemoteMembershipState,
    RemoteNote,
    Visibility,
    Vote,
)
from myco_graph.errors import BadUserInput, Forbidden, NotFound, RemoteInvalid
from myco_graph.federation import activities, lookups
from myco_graph.federation.fetch import fetch
from myco_graph.federation.parse import (
    Activity,
    Post,
    addressees,
    id_of,
    origin,
    parse_activity,
    parse_actor,
    parse_object_id,
    parse_post,
)
from myco_graph.federation.parse import RemoteActor as ActorDocument
from myco_graph.federation.urls import Urls
from myco_graph.infrastructure.config import Settings

log = logging.getLogger(__name__)


@dataclass
class Applied:
    """What a change did that is told once it is committed.

    Its events are announced (to subscriptions, and to delivery, which sends
    the activities they caused); ``posted`` says it wrote to the outbox
    without an event, so that delivery is woken all the same.
    """

    events: list[Event] = field(default_factory=list)
    posted: bool = False


Change = Callable[[BaseDBAsyncClient], Awaitable[Applied]]
FOLLOWERS = frozenset({"Person"})
# What an Announce may wrap: the rest (Like, Dislike, Undo, …) is not kept.
RELAYED = frozenset({"Create", "Update", "Delete"})
# A cached remote actor is fetched again after this long: its name changes.
ACTOR_REFRESH_AFTER = 24 * 3600


@dataclass(frozen=True)
class Context:
    """What handlers work with: the instance's settings and URLs."""

    settings: Settings
    urls: Urls


async def nothing(conn: BaseDBAsyncClient) -> Applied:
    """The change of an activity that is acknowledged and otherwise ignored."""
    return Applied()


def ignored(activity: Activity, why: str) -> Change:
    log.info(why, extra={"activity_id": activity.id, "actor": activity.actor})
    return nothing


# Following a Group (its home side) ------------------------------------------


async def handle_follow(activity: Activity, context: Context) -> Change:
    """A remote Person follows a public project's Group: Accept, recorded at once.

    Any other kind of actor (a Service, a Group, an Application relay) gets
    a Reject: a Group's followers are people who may join its discussion.
    """
    target = id_of(activity.object)
    if isinstance(target, str) and target.startswith(context.urls.person("")):
        return ignored(activity, "ignored follow of a member")
    project = await lookup_group(target, context.urls)
    actor = await fetch_actor(activity.actor, context.settings)
    follower = lookups.Follower(actor.id, actor.inbox, activity.id)
    accepted = actor.type in FOLLOWERS

    async def answer(conn: BaseDBAsyncClient) -> Applied:
        if accepted:
            await store_follower(conn, project, actor, activity.id)
        await activities.answer_follow(
            conn, project, follower, context.urls, accepted=accepted
        )
        return Applied(posted=True)

    if not accepted:
        log.info(
            "rejected follow by a non-Person",
            extra={"activity_id": activity.id, "type": actor.type},
        )
    return answer


async def lookup_group(url: object, urls: Urls) -> Project:
    """The public project whose Group has this URL; NotFound otherwise."""
    prefix = urls.group("")
    if not isinstance(url, str) or not url.startswith(prefix):
        raise NotFound(lookups.NO_SUCH_ACTOR)
    return await lookups.lookup_public_project(url.removeprefix(prefix))


async def fetch_actor(actor: str, settings: Settings) -> ActorDocument:
    """A remote actor's document, fetched signed by our instance actor."""
    key = await lookups.instance_signing_key(settings)
    return parse_actor(await fetch(actor, settings, key=key), actor)


async def store_follower(
    conn: BaseDBAsyncClient, project: Project, actor: ActorDocument, follow_id: str
) -> None:
    """Records the accepted follower, or its newer Follow when it follows again."""
    fields = {
        "inbox": actor.inbox,
        "shared_inbox": actor.shared_inbox,
        "follow_id": follow_id,
        "state": FollowerState.ACCEPTED,
    }
    updated = (
        await RemoteFollower.filter(project_id=project.id, actor=actor.id)
        .using_db(conn)
        .update(**fields)
    )
    if not updated:
        await RemoteFollower.create(
            project_id=project.id, actor=actor.id, using_db=conn, **fields
        )
    log.debug(
        "remote follower recorded",
        extra={"actor": actor.id, "project_id": project.id, "activity_id": follow_id},
    )


async def handle_undo(activity: Activity, context: Context) -> Change:
    """Undo of a Follow: the follower leaves the Group. Other Undos are ignored."""
    undone = activity.object
    if isinstance(undone, dict) and undone.get("type") != "Follow":
        return ignored(activity, "ignored undo of an activity we do not keep")
    follow_id = parse_object_id(undone, "The undone activity")
    if isinstance(undone, dict) and id_of(undone.get("actor")) != activity.actor:
        raise RemoteInvalid("An actor undoes only its own Follow.")
    followers = RemoteFollower.filter(actor=activity.actor)
    group = id_of(undone.get("object")) if isinstance(undone, dict) else None
    if isinstance(group, str) and group.startswith(context.urls.group("")):
        project = await lookup_group(group, context.urls)
        followers = followers.filter(project_id=project.id)
    else:
        followers = followers.filter(follow_id=follow_id)

    async def unfollow(conn: BaseDBAsyncClient) -> Applied:
        await followers.using_db(conn).delete()
        return Applied()

    return unfollow


async def handle_leave(activity: Activity, context: Context) -> Change:
    """Leave of a Group, as some group software sends it: the same as Undo(Follow)."""
    project = await lookup_group(parse_object_id(activity.object), context.urls)

    async def leave(conn: BaseDBAsyncClient) -> Applied:
        await (
            RemoteFollower.filter(project_id=project.id, actor=activity.actor)
            .using_db(conn)
            .delete()
        )
        return Applied()

    return leave


# Posting in a Group (its home side) -----------------------------------------


async def handle_create(activity: Activity, context: Context) -> Change:
    """A follower posts in a Group, or casts a ballot in one of its polls.

    A Create addressed to none of our Groups (a mention of a member, say) is
    acknowledged and ignored.
    """
    document = await object_of(activity, context.settings)
    if document.get("type") not in {"Note", "Page", "Article"}:
        return ignored(activity, "ignored creation of an object we do not keep")
    post = own_post(document, activity)
    poll_id = context.urls.question_id(post.in_reply_to)
    if poll_id is not None and post.name and not post.text:
        return await ballot(activity, post, poll_id, context)
    project = await addressed_group(activity, post, context.urls)
    if project is None:
        return ignored(activity, "ignored post addressed to no Group of ours")
    await lookups.lookup_accepted_follower(project.id, activity.actor)
    body = message_body(post)
    author = await lookup_author(activity.actor, context.settings)

    async def write(conn: BaseDBAsyncClient) -> Applied:
        if await Message.filter(ap_id=post.id).using_db(conn).exists():
            return Applied()
        message = await Message.create(
            project_id=project.id,
            remote_author_id=author.id,
            ap_id=post.id,
            body=body,
            using_db=conn,
        )
        return Applied([await record(conn, "message.created", message, activity)])

    return write


async def object_of(activity: Activity, settings: Settings) -> dict[str, Any]:
    """The activity's object, given inline, or fetched from its own origin."""
    given = activity.object
    if isinstance(given, dict):
        return given
    url = parse_object_id(given)
    if origin(url) != origin(activity.actor):
        raise RemoteInvalid("The object is on another origin than its actor.")
    return await fetch(url, settings, key=await lookups.instance_signing_key(settings))


def own_post(document: dict[str, Any], activity: Activity) -> Post:
    """The post an activity is about, written by the activity's own actor."""
    post = parse_post(document)
    if post.author != activity.actor:
        raise RemoteInvalid("The object's author is not the activity's actor.")
    return post


async def addressed_group(activity: Activity, post: Post, urls: Urls) -> Project | None:
    """The public project whose Group a post is addressed to or filed under."""
    prefix = urls.group("")
    named = post.addressees | addressees(activity.document)
    groups = sorted(url for url in named if url.startswith(prefix))
    for group in groups:
        if "/" not in group.removeprefix(prefix):
            return await lookup_group(group, urls)
    return None


def message_body(post: Post) -> str:
    """A post as a message's text: a Page's title above its content."""
    text = "\n\n".join(part for part in (post.name, post.text) if part)
    if not 1 <= len(text) <= discussion.BODY_MAX:
        raise RemoteInvalid(
            f"A message has 1 to {discussion.BODY_MAX} characters of text."
        )
    return text


async def record(
    conn: BaseDBAsyncClient, kind: str, message: Message, activity: Activity
) -> Event:
    """Records a remote member's change as an event, with the activity to relay."""
    return await events.record(
        conn,
        kind,
        account_id=None,
        project_id=message.project_id,
        payload={"message": message.id, "activity": activity.document},
    )


async def lookup_author(url: str, settings: Settings) -> RemoteActor:
    """The cached remote actor at ``url``, fetched again when a day old."""
    cached = await RemoteActor.get_or_none(url=url)
    if cached is not None and (
        (now() - cached.fetched_at).total_seconds() < ACTOR_REFRESH_AFTER
    ):
        return cached
    actor = await fetch_actor(url, settings)
    fields = {
        "type": actor.type[:32],
        "handle": actor.handle,
        "domain": urlsplit(url).netloc.lower()[:253],
        "name": actor.name,
        "inbox": actor.inbox,
        "shared_inbox": actor.shared_inbox,
        "fetched_at": now(),
    }
    row, _ = await RemoteActor.update_or_create(defaults=fields, url=url)
    return row


async def ballot(
    activity: Activity, post: Post, poll_id: int, context: Context
) -> Change:
    """A ballot, in Mastodon's shape: a Note naming the option, replying to a poll.

    One ballot per remote actor: in a single-choice poll a new ballot
    replaces the former one, in a multiple-choice poll each Note adds its
    option (Mastodon sends one Note per chosen option).
    """
    poll = await Poll.get_or_none(
        id=poll_id, project__visibility=Visibility.PUBLIC
    ).select_related("project")
    if poll is None:
        raise NotFound("No such poll.")
    await lookups.lookup_accepted_follower(poll.project_id, activity.actor)
    if post.name not in poll.options:
        raise RemoteInvalid("The ballot names no option of this poll.")
    if poll.closes_at <= now():
        raise BadUserInput("This poll is closed.")
    option = poll.options.index(post.name)
    voter = await lookup_author(activity.actor, context.settings)

    async def cast(conn: BaseDBAsyncClient) -> Applied:
        # Locking the voter's row serialises their ballots on this poll.
        await RemoteActor.select_for_update().using_db(conn).get(id=voter.id)
        ballots = Vote.filter(poll_id=poll.id, remote_voter_id=voter.id)
        if not poll.multiple:
            await ballots.using_db(conn).delete()
        elif await ballots.filter(option=option).using_db(conn).exists():
            return Applied()
        await Vote.create(
            poll_id=poll.id, remote_voter_id=voter.id, option=option, using_db=conn
        )
        voted = await events.record(
            conn,
            "poll.voted",
            account_id=None,
            project_id=poll.project_id,
            payload={"poll": poll.id},
        )
        return Applied([voted])

    return cast


async def handle_update(activity: Activity, context: Context) -> Change:
    """A remote member edits a message they wrote in one of our Groups."""
    document = activity.object
    if not isinstance(document, dict):
        raise RemoteInvalid("An Update carries the updated object.")
    if document.get("type") not in {"Note", "Page", "Article"}:
        return ignored(activity, "ignored update of an object we do not keep")
    post = own_post(document, activity)
    message = await authored_message(post.id, activity)
    if message is None:
        return ignored(activity, "ignored update of a post we do not hold")
    body = message_body(post)

    async def edit(conn: BaseDBAsyncClient) -> Applied:
        message.body, message.edited_at = body, now()
        await message.save(update_fields=["body", "edited_at"], using_db=conn)
        return Applied([await record(conn, "message.edited", message, activity)])

    return edit


async def authored_message(ap_id: str, activity: Activity) -> Message | None:
    """Our copy of a remote post, if its author is the activity's actor."""
    message = await Message.get_or_none(
        ap_id=ap_id, deleted_at__isnull=True
    ).select_related("remote_author")
    if message is None:
        return None
    if message.remote_author is None or message.remote_author.url != activity.actor:
        raise Forbidden("Only its author changes a message.")
    return message


async def handle_delete(activity: Activity, context: Context) -> Change:
    """A remote member deletes their message, or a remote actor deletes itself."""
    target = parse_object_id(activity.object)
    if target == activity.actor:
        return erase_actor(activity.actor)
    message = await authored_message(target, activity)
    if message is None:
        return ignored(activity, "ignored deletion of a post we do not hold")

    async def delete(conn: BaseDBAsyncClient) -> Applied:
        message.body, message.mentions, message.links = "", [], []
        message.deleted_at = now()
        await message.save(
            update_fields=["body", "mentions", "links", "deleted_at"], using_db=conn
        )
        return Applied([await record(conn, "message.deleted", message, activity)])

    return delete


def erase_actor(url: str) -> Change:
    """Forgets an erased remote actor, and blanks everything it wrote here.

    Its messages keep their place in threads, empty, as a local member's
    deleted message does; its ballots, follows and keys go with it.
    """

    async def erase(conn: BaseDBAsyncClient) -> Applied:
        moment = now()
        await (
            Message.filter(remote_author__url=url)
            .using_db(conn)
            .update(body="", mentions=[], links=[], deleted_at=moment)
        )
        await (
            RemoteNote.filter(author_url=url)
            .using_db(conn)
            .update(content="", author_name="", deleted_at=moment)
        )
        await RemoteFollower.filter(actor=url).using_db(conn).delete()
        await RemoteKey.filter(owner=url).using_db(conn).delete()
        await RemoteActor.filter(url=url).using_db(conn).delete()
        log.info("erased remote actor", extra={"actor": url})
        return Applied()

    return erase


# A remote project's side: what its Group sends our members ------------------


async def handle_accept(activity: Activity, context: Context) -> Change:
    """The Group accepted a local member's Follow: the member is in."""
    return await answered(activity, context, RemoteMembershipState.ACCEPTED)


async def handle_reject(activity: Activity, context: Context) -> Change:
    """The Group refused a local member's Follow."""
    return await answered(activity, context, RemoteMembershipState.REJECTED)


async def answered(
    activity: Activity, context: Context, state: RemoteMembershipState
) -> Change:
    """Sets the membership whose Follow an Accept or Reject answers.

    The answer names our Follow by its id, or embeds it; a few servers embed
    a Follow with an id of their own, so an embedded Follow by one of our
    members of this very Group is matched by those two as well.
    """
    follow_id = parse_object_id(activity.object, "The answered Follow")
    membership = await RemoteMembership.get_or_none(follow_id=follow_id).select_related(
        "group"
    )
    if membership is None:
        membership = await membership_by_parties(activity, context.urls)
    if membership is None:
        return ignored(activity, "ignored answer to no Follow of ours")
    if membership.group.url != activity.actor:
        raise Forbidden("Only the followed Group answers a Follow.")

    async def answer(conn: BaseDBAsyncClient) -> Applied:
        await (
            RemoteMembership.filter(id=membership.id).using_db(conn).update(state=state)
        )
        return Applied()

    return answer


async def membership_by_parties(
    activity: Activity, urls: Urls
) -> RemoteMembership | None:
    follow = activity.object
    if not isinstance(follow, dict) or id_of(follow.get("object")) != activity.actor:
        return None
    person = id_of(follow.get("actor"))
    prefix = urls.person("")
    if not isinstance(person, str) or not person.startswith(prefix):
        return None
    return await RemoteMembership.get_or_none(
        account__name__key=names.name_key(person.removeprefix(prefix)),
        group__url=activity.actor,
    ).select_related("group")


async def handle_announce(activity: Activity, context: Context) -> Change:
    """A Group one of our members joined relays a post, an edit or a deletion.

    Announces by anyone else (a boost reaching the shared inbox) are
    acknowledged and ignored. The wrapped activity may be inline or, as
    Lemmy sometimes sends it, a URL fetched from its own origin.
    """
    group = await RemoteActor.get_or_none(url=activity.actor)
    if group is None or not await RemoteMembership.exists(
        group_id=group.id, state=RemoteMembershipState.ACCEPTED
    ):
        return ignored(activity, "ignored announce by no Group we follow")
    relayed = parse_activity(await object_of(activity, context.settings))
    if relayed.type not in RELAYED:
        return ignored(activity, "ignored announce of an activity we do not keep")
    if relayed.type == "Delete":
        return await relayed_delete(relayed, group)
    document = await object_of(relayed, context.settings)
    if document.get("type") not in {"Note", "Page", "Article", "Question"}:
        return ignored(activity, "ignored announce of an object we do not keep")
    return await relayed_post(own_post(document, relayed), document, group, context)


async def relayed_post(
    post: Post, document: dict[str, Any], group: RemoteActor, context: Context
) -> Change:
    """Stores or updates a post of a remote project, as its Group relayed it."""
    note = await RemoteNote.get_or_none(ap_id=post.id)
    if note is not None and (
        note.group_id != group.id or note.author_url != post.author
    ):
        raise Forbidden("This post belongs to another Group or author.")
    author = await lookup_author(post.author, context.settings)
    fields = {
        "group_id": group.id,
        "author_url": post.author,
        "author_name": author.name or author.handle,
        "content": note_text(post, document),
        "published_at": post.published or now(),
        "updated_at": post.updated,
    }

    async def store(conn: BaseDBAsyncClient) -> Applied:
        if note is None or note.deleted_at is None:
            await RemoteNote.update_or_create(
                defaults=fields, using_db=conn, ap_id=post.id
            )
        return Applied()

    return store


def note_text(post: Post, document: dict[str, Any]) -> str:
    """A post as plain text; a Question with its options and their counts."""
    text = "\n\n".join(part for part in (post.name, post.text) if part)
    if post.type != "Question":
        return text
    options = document.get("oneOf") or document.get("anyOf") or []
    lines = [
        f"• {option['name']} ({option_count(option)})"
        for option in options
        if isinstance(option, dict) and isinstance(option.get("name"), str)
    ]
    return "\n\n".join(part for part in (text, "\n".join(lines)) if part)


def option_count(option: dict[str, Any]) -> int:
    replies = option.get("replies")
    count = replies.get("totalItems") if isinstance(replies, dict) else None
    return count if isinstance(count, int) and count >= 0 else 0


async def relayed_delete(relayed: Activity, group: RemoteActor) -> Change:
    """A post of the Group deleted by its author or by the Group's moderators."""
    target = parse_object_id(relayed.object, "The deleted object")
    note = await RemoteNote.get_or_none(ap_id=target, group_id=group.id)
    if note is None:
        return nothing

    async def delete(conn: BaseDBAsyncClient) -> Applied:
        await (
            RemoteNote.filter(id=note.id)
            .using_db(conn)
            .update(content="", deleted_at=now())
        )
        return Applied()

    return delete


HANDLERS: dict[str, Callable[[Activity, Context], Awaitable[Change]]] = {
    "Follow": handle_follow,
    "Undo": handle_undo,
    "Leave": handle_leave,
    "Create": handle_create,
    "Update": handle_update,
    "Delete": handle_delete,
    "Accept": handle_accept,
    "Reject": handle_reject,
    "Announce": handle_announce,
}
