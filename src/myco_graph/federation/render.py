"""Render-to-ActivityPub: local things as the documents other instances read.

Pure functions: the caller looks up what a document may show, these shape
it. ``federation/examples/`` holds one rendered document of each kind, and
the tests check that these functions still produce them.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from myco_graph.domain.catalogue import FieldType
from myco_graph.domain.models import Account, Message, Poll, Project, Tombstone
from myco_graph.domain.polls import Tally
from myco_graph.federation import software
from myco_graph.federation.lookups import GroupCounts, SharedValue
from myco_graph.federation.urls import Urls

ACTIVITYSTREAMS = "https://www.w3.org/ns/activitystreams"
SECURITY = "https://w3id.org/security/v1"
# Our own terms, and the schema.org ones Mastodon uses for profile fields,
# declared inline as Mastodon does; federation/context.jsonld is the same.
TERMS: dict[str, Any] = {
    "myco": "https://myco-graph.org/ns#",
    "schema": "http://schema.org#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "PropertyValue": "schema:PropertyValue",
    "value": "schema:value",
    "fieldKey": "myco:fieldKey",
    "memberCount": {"@id": "myco:memberCount", "@type": "xsd:nonNegativeInteger"},
    "messageCount": {"@id": "myco:messageCount", "@type": "xsd:nonNegativeInteger"},
    "members": {"@id": "myco:members", "@type": "@id"},
    "toot": "http://joinmastodon.org/ns#",
    "votersCount": {"@id": "toot:votersCount", "@type": "xsd:nonNegativeInteger"},
}
CONTEXT: list[Any] = [ACTIVITYSTREAMS, SECURITY, TERMS]
PUBLIC = f"{ACTIVITYSTREAMS}#Public"
NODEINFO_SCHEMA = "http://nodeinfo.diaspora.software/ns/schema/2.1"
LANGUAGE = "en"


def _public_key(actor: str, public_pem: str) -> dict[str, str]:
    return {"id": Urls.key_id(actor), "owner": actor, "publicKeyPem": public_pem}


def _collections(actor: str, urls: Urls) -> dict[str, Any]:
    return {
        "inbox": f"{actor}/inbox",
        "outbox": urls.outbox(actor),
        "followers": urls.followers(actor),
        "endpoints": {"sharedInbox": urls.shared_inbox},
    }


def render_instance_actor(urls: Urls, public_pem: str) -> dict[str, Any]:
    """The instance's own actor, which signs what the instance itself fetches."""
    actor = urls.instance_actor
    return {
        "@context": CONTEXT,
        "id": actor,
        "type": "Application",
        "preferredUsername": urls.domain,
        "name": urls.domain,
        "inbox": f"{actor}/inbox",
        "outbox": f"{actor}/outbox",
        "endpoints": {"sharedInbox": urls.shared_inbox},
        "manuallyApprovesFollowers": True,
        "publicKey": _public_key(actor, public_pem),
    }


def render_person(
    account: Account, shared: Sequence[SharedValue], urls: Urls, public_pem: str
) -> dict[str, Any]:
    """A member as a Person: the handle, and only values shared with everyone.

    The display name is not a consent-governed value, so it stays home; the
    profile values go out as Mastodon-style ``PropertyValue`` attachments.
    """
    actor = urls.person(account.handle)
    return {
        "@context": CONTEXT,
        "id": actor,
        "type": "Person",
        "preferredUsername": account.handle,
        **_collections(actor, urls),
        "following": f"{actor}/following",
        "attachment": [render_shared_value(item) for item in shared],
        "publicKey": _public_key(actor, public_pem),
    }


def render_shared_value(item: SharedValue) -> dict[str, Any]:
    spec = item.field
    return {
        "type": "PropertyValue",
        "name": spec.labels[LANGUAGE],
        "nameMap": dict(spec.labels),
        "value": html.escape(display_text(item)),
        "fieldKey": spec.key,
    }


def display_text(item: SharedValue) -> str:
    """A profile value as a reader reads it: choices by their labels."""
    spec, value = item.field, item.value
    labels = {choice.value: choice.labels[LANGUAGE] for choice in spec.choices}
    match spec.type:
        case FieldType.CHOICE:
            return labels.get(value, str(value))
        case FieldType.CHOICES:
            return ", ".join(labels.get(one, str(one)) for one in value)
        case FieldType.BOOLEAN:
            return "yes" if value else "no"
    return str(value)


def render_group(
    project: Project, counts: GroupCounts, urls: Urls, public_pem: str
) -> dict[str, Any]:
    """A public project as a Group: its name, summary and counts, no member list."""
    actor = urls.group(project.handle)
    return {
        "@context": CONTEXT,
        "id": actor,
        "type": "Group",
        "preferredUsername": project.handle,
        "name": project.handle,
        "summary": render_summary(project.summary),
        "source": {"content": project.summary, "mediaType": "text/plain"},
        "published": project.created_at.isoformat().replace("+00:00", "Z"),
        **_collections(actor, urls),
        "members": Urls.members(actor),
        "memberCount": counts.members,
        "messageCount": counts.messages,
        "publicKey": _public_key(actor, public_pem),
    }


def render_summary(text: str) -> str:
    """Plain text as the HTML ActivityPub's ``summary`` holds: escaped paragraphs."""
    paragraphs = [part.strip() for part in text.split("\n\n") if part.strip()]
    return "".join(
        "<p>" + html.escape(part).replace("\n", "<br>") + "</p>" for part in paragraphs
    )


def render_webfinger(name: str, actor: str, urls: Urls) -> dict[str, Any]:
    """The JRD (RFC 7033) that points ``acct:name@domain`` at its actor."""
    return {
        "subject": f"acct:{name}@{urls.domain}",
        "aliases": [actor],
        "links": [{"rel": "self", "type": "application/activity+json", "href": actor}],
    }


def render_nodeinfo_links(urls: Urls) -> dict[str, Any]:
    return {"links": [{"rel": NODEINFO_SCHEMA, "href": urls.nodeinfo}]}


def render_nodeinfo(
    urls: Urls, *, users: int, local_posts: int, open_registrations: bool
) -> dict[str, Any]:
    """NodeInfo 2.1; active-user counts are left out (see federation/README.md)."""
    return {
        "version": "2.1",
        "software": {"name": software.NAME, "version": software.VERSION},
        "protocols": ["activitypub"],
        "services": {"inbound": [], "outbound": []},
        "openRegistrations": open_registrations,
        "usage": {"users": {"total": users}, "localPosts": local_posts},
        "metadata": {"nodeName": urls.domain},
    }


# Objects of a public project's discussion ------------------------------------


def render_time(moment: datetime) -> str:
    """An xsd:dateTime in UTC, to the second, as the fediverse writes them."""
    return (
        moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    )


def _addressed(group: str) -> dict[str, Any]:
    """What a member posts in a Group: public, with the Group as its audience.

    FEP-1b12: the Group is named in ``cc`` and ``audience``, so that forum
    software files the post under it, and Mastodon shows it as public.
    """
    return {"to": [PUBLIC], "cc": [group], "audience": group}


def render_note(
    message: Message, project: Project, author: str | None, urls: Urls
) -> dict[str, Any]:
    """A message as a Note by its author; by the Group once its author is erased."""
    group = urls.group(project.handle)
    note: dict[str, Any] = {
        "@context": CONTEXT,
        "id": urls.note(message.id),
        "type": "Note",
        "attributedTo": urls.person(author) if author else group,
        **_addressed(group),
        "content": render_summary(message.body),
        "mediaType": "text/html",
        "published": render_time(message.created_at),
    }
    if message.edited_at is not None:
        note["updated"] = render_time(message.edited_at)
    return note


def render_question(
    poll: Poll, project: Project, author: str | None, tally: Tally, urls: Urls
) -> dict[str, Any]:
    """A poll as a Question, as Mastodon shows polls: counts per option only."""
    group = urls.group(project.handle)
    options = [
        {
            "type": "Note",
            "name": option,
            "replies": {"type": "Collection", "totalItems": tally.votes.get(i, 0)},
        }
        for i, option in enumerate(poll.options)
    ]
    question: dict[str, Any] = {
        "@context": CONTEXT,
        "id": urls.question(poll.id),
        "type": "Question",
        "attributedTo": urls.person(author) if author else group,
        **_addressed(group),
        "name": poll.question,
        "content": render_summary(poll.question),
        "mediaType": "text/html",
        "published": render_time(poll.created_at),
        "endTime": render_time(poll.closes_at),
        ("anyOf" if poll.multiple else "oneOf"): options,
        "votersCount": tally.voters,
    }
    if poll.closes_at <= datetime.now(UTC):
        question["closed"] = render_time(poll.closes_at)
    return question


def render_tombstone(tombstone: Tombstone) -> dict[str, Any]:
    """What a deleted object's URL answers, with 410 Gone."""
    return {
        "@context": ACTIVITYSTREAMS,
        "id": tombstone.url,
        "type": "Tombstone",
        "formerType": tombstone.former_type,
        "deleted": render_time(tombstone.deleted_at),
    }


# Activities ------------------------------------------------------------------


def without_context(document: dict[str, Any]) -> dict[str, Any]:
    """An object to embed in an activity, which carries the context itself."""
    return {key: value for key, value in document.items() if key != "@context"}


def render_activity(
    kind: str, actor: str, obj: Any, urls: Urls, **addressing: Any
) -> dict[str, Any]:
    """An activity with a fresh id; ``addressing`` gives ``to``, ``cc``, …."""
    embedded = without_context(obj) if isinstance(obj, dict) else obj
    return {
        "@context": CONTEXT,
        "id": urls.new_activity(),
        "type": kind,
        "actor": actor,
        **addressing,
        "object": embedded,
    }


def render_posted(kind: str, document: dict[str, Any], urls: Urls) -> dict[str, Any]:
    """Create or Update of a Note or Question, by whom it is attributed to."""
    addressing = {key: document[key] for key in ("to", "cc", "audience")}
    return render_activity(kind, document["attributedTo"], document, urls, **addressing)


def render_delete(
    actor: str, url: str, former_type: str, group: str, urls: Urls
) -> dict[str, Any]:
    """Delete of one of a Group's objects: the object becomes a Tombstone."""
    tombstone = {"id": url, "type": "Tombstone", "formerType": former_type}
    return render_activity("Delete", actor, tombstone, urls, **_addressed(group))


def render_announce(group: str, activity: dict[str, Any], urls: Urls) -> dict[str, Any]:
    """The Group relaying an activity, unchanged, to its followers (FEP-1b12)."""
    return {
        "@context": CONTEXT,
        "id": urls.new_activity(),
        "type": "Announce",
        "actor": group,
        "to": [PUBLIC],
        "cc": [urls.followers(group)],
        "object": activity,
    }


def render_answer(
    kind: str, group: str, follow_id: str, follower: str, urls: Urls
) -> dict[str, Any]:
    """Accept or Reject of a Follow, embedding the Follow as Mastodon does."""
    follow = {"id": follow_id, "type": "Follow", "actor": follower, "object": group}
    return render_activity(kind, group, follow, urls, to=[follower])


def render_delete_person(person: str, urls: Urls) -> dict[str, Any]:
    """A member erased their account: their Person is gone everywhere."""
    return render_activity("Delete", person, person, urls, to=[PUBLIC])


# Collections -----------------------------------------------------------------


def render_collection(
    url: str, total: int, *, first: str | None = None
) -> dict[str, Any]:
    """An OrderedCollection: its size, and where its first page is."""
    collection: dict[str, Any] = {
        "@context": CONTEXT,
        "id": url,
        "type": "OrderedCollection",
        "totalItems": total,
    }
    if first is not None:
        collection["first"] = first
    return collection


def render_page(
    url: str, collection: str, items: list[Any], following: str | None
) -> dict[str, Any]:
    """One page of an OrderedCollection, linking the next when there is one."""
    page: dict[str, Any] = {
        "@context": CONTEXT,
        "id": url,
        "type": "OrderedCollectionPage",
        "partOf": collection,
        "orderedItems": items,
    }
    if following is not None:
        page["next"] = following
    return page


def render_member(
    handle: str, shared: Sequence[SharedValue], urls: Urls
) -> dict[str, Any]:
    """A member in a Group's members collection, with what they share with it."""
    return {
        "type": "Person",
        "id": urls.person(handle),
        "preferredUsername": handle,
        "attachment": [render_shared_value(item) for item in shared],
    }
