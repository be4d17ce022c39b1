"""One handler per inbound activity type: ``handle_<type>``.

A handler reads and fetches what it needs, refuses what it cannot take by
raising, and returns the :data:`Change` to write. The inbox writes that change
in the transaction that records the activity as received, so an activity is
applied once or not at all, and no transaction stays open across a fetch.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from tortoise.backends.base.client import BaseDBAsyncClient

from myco_graph.domain.models import FollowerState, Project, RemoteFollower
from myco_graph.errors import Forbidden, NotFound
from myco_graph.federation import lookups
from myco_graph.federation.fetch import fetch
from myco_graph.federation.parse import Activity, RemoteActor, id_of, parse_actor
from myco_graph.federation.urls import Urls
from myco_graph.infrastructure.config import Settings

log = logging.getLogger(__name__)

Change = Callable[[BaseDBAsyncClient], Awaitable[None]]
FOLLOWERS = frozenset({"Person"})


@dataclass(frozen=True)
class Context:
    """What handlers work with: the instance's settings and URLs."""

    settings: Settings
    urls: Urls


async def nothing(conn: BaseDBAsyncClient) -> None:
    """The change of an activity that is acknowledged and otherwise ignored."""


async def handle_follow(activity: Activity, context: Context) -> Change:
    """A remote Person follows a public project's Group.

    The follower is recorded as accepted, with the Accept still to be
    delivered: delivery comes with the outbox.
    """
    target = id_of(activity.object)
    if isinstance(target, str) and target.startswith(context.urls.person("")):
        log.info(
            "ignored follow of a member",
            extra={"activity_id": activity.id, "actor": activity.actor},
        )
        return nothing
    project = await lookup_group(target, context.urls)
    follower = await fetch_actor(activity.actor, context.settings)
    if follower.type not in FOLLOWERS:
        raise Forbidden("Only a Person may follow a Group here.")

    async def record(conn: BaseDBAsyncClient) -> None:
        await store_follower(conn, project, follower, activity.id)

    return record


async def lookup_group(url: object, urls: Urls) -> Project:
    """The public project whose Group has this URL; NotFound otherwise."""
    prefix = urls.group("")
    if not isinstance(url, str) or not url.startswith(prefix):
        raise NotFound(lookups.NO_SUCH_ACTOR)
    return await lookups.lookup_public_project(url.removeprefix(prefix))


async def fetch_actor(actor: str, settings: Settings) -> RemoteActor:
    """A remote actor's document, fetched signed by our instance actor."""
    key = await lookups.instance_signing_key(settings)
    return parse_actor(await fetch(actor, settings, key=key), actor)


async def store_follower(
    conn: BaseDBAsyncClient, project: Project, actor: RemoteActor, follow_id: str
) -> None:
    """Records the follower, or its newer Follow when it follows again."""
    fields = {
        "inbox": actor.inbox,
        "shared_inbox": actor.shared_inbox,
        "follow_id": follow_id,
    }
    updated = (
        await RemoteFollower.filter(project_id=project.id, actor=actor.id)
        .using_db(conn)
        .update(**fields)
    )
    if not updated:
        await RemoteFollower.create(
            project_id=project.id,
            actor=actor.id,
            state=FollowerState.ACCEPT_PENDING,
            using_db=conn,
            **fields,
        )
    log.debug(
        "remote follower recorded",
        extra={"actor": actor.id, "project_id": project.id, "activity_id": follow_id},
    )


HANDLERS: dict[str, Callable[[Activity, Context], Awaitable[Change]]] = {
    "Follow": handle_follow,
}
