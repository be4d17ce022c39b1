"""Render-to-ActivityPub: local things as the documents other instances read.

Pure functions: the caller looks up what a document may show, these shape
it. ``federation/examples/`` holds one rendered document of each kind, and
the tests check that these functions still produce them.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from myco_graph.domain.catalogue import FieldType
from myco_graph.domain.models import Account, Project
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
        "outbox": f"{actor}/outbox",
        "followers": f"{actor}/followers",
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
