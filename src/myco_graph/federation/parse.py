"""Parse-from-ActivityPub: remote documents into our own types.

Each parser takes a JSON object fetched from another instance and returns a
small frozen value, or raises RemoteInvalid saying what is wrong; nothing
downstream reads a remote document directly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from myco_graph.errors import RemoteInvalid

MAX_URL_LENGTH = 500
MAX_TYPE_LENGTH = 64


@dataclass(frozen=True)
class PublicKey:
    """A remote actor's public key: its id, the actor that owns it, its PEM."""

    key_id: str
    owner: str
    public_pem: str


def origin(url: str) -> tuple[str, str, int | None]:
    """Scheme, host and port: what must match for one server to speak for a URL."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


def _url(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.startswith(("https://", "http://")):
        raise RemoteInvalid(f"{what} is not an http(s) URL.")
    if len(value) > MAX_URL_LENGTH:
        raise RemoteInvalid(f"{what} is longer than {MAX_URL_LENGTH} characters.")
    return value


def id_of(value: Any) -> Any:
    """An object's id, whether it is given inline or by reference."""
    return value.get("id") if isinstance(value, dict) else value


def parse_public_key(document: dict[str, Any], key_id: str) -> PublicKey:
    """The key ``key_id`` from an actor document, or from a key document itself.

    Mastodon and most servers answer a key id with the whole actor, whose
    ``publicKey`` holds the key (some give a list of keys); a few answer with
    the key object alone, naming its ``owner``. Either way the key and its
    owner must be on the key id's origin: a server speaks only for itself.
    """
    if document.get("id") == key_id and "publicKeyPem" in document:
        key, owner = document, _url(document.get("owner"), "The key's owner")
    else:
        owner = _url(document.get("id"), "The actor's id")
        given = document.get("publicKey")
        candidates = given if isinstance(given, list) else [given]
        matching = [
            item
            for item in candidates
            if isinstance(item, dict) and item.get("id") == key_id
        ]
        if not matching:
            raise RemoteInvalid("The actor document does not hold this key.")
        key = matching[0]
        if id_of(key.get("owner", owner)) != owner:
            raise RemoteInvalid("The key belongs to another actor.")
    if origin(owner) != origin(_url(key_id, "The key id")):
        raise RemoteInvalid("The key and its owner are on different origins.")
    return PublicKey(key_id=key_id, owner=owner, public_pem=_rsa_pem(key))


def _rsa_pem(key: dict[str, Any]) -> str:
    pem = key.get("publicKeyPem")
    if not isinstance(pem, str):
        raise RemoteInvalid("The key has no publicKeyPem.")
    try:
        loaded = serialization.load_pem_public_key(pem.encode())
    except (ValueError, TypeError) as exc:
        raise RemoteInvalid("The key's PEM cannot be read.") from exc
    if not isinstance(loaded, rsa.RSAPublicKey):
        raise RemoteInvalid("The key is not an RSA key.")
    return pem


@dataclass(frozen=True)
class Activity:
    """An inbound activity: what every inbox needs, and the document itself."""

    id: str
    type: str
    actor: str
    object: Any
    document: dict[str, Any]


@dataclass(frozen=True)
class RemoteActor:
    """A remote actor as its document gives it: its id, type, inboxes and names."""

    id: str
    type: str
    inbox: str
    shared_inbox: str | None
    handle: str = ""
    name: str = ""


def parse_activity(document: Any) -> Activity:
    """An activity with an ``id``, a ``type`` and an ``actor``, all on one origin.

    A server speaks only for itself: an activity whose id lies on another
    origin than its actor is refused, or one instance could take another's
    activity ids out of our inboxes' idempotency table.
    """
    if not isinstance(document, dict):
        raise RemoteInvalid("The activity is not a JSON object.")
    activity_id = _url(document.get("id"), "The activity's id")
    actor = _url(id_of(document.get("actor")), "The activity's actor")
    kind = document.get("type")
    if not isinstance(kind, str) or not 0 < len(kind) <= MAX_TYPE_LENGTH:
        raise RemoteInvalid("The activity's type is not a single name.")
    if origin(activity_id) != origin(actor):
        raise RemoteInvalid("The activity's id and actor are on different origins.")
    return Activity(activity_id, kind, actor, document.get("object"), document)


def parse_actor(document: dict[str, Any], actor_id: str) -> RemoteActor:
    """The actor ``actor_id`` from its document; its inboxes on its own origin."""
    if document.get("id") != actor_id:
        raise RemoteInvalid("The actor document has another id.")
    kind = document.get("type")
    if not isinstance(kind, str):
        raise RemoteInvalid("The actor has no type.")
    inbox = _url(document.get("inbox"), "The actor's inbox")
    endpoints = document.get("endpoints")
    shared = endpoints.get("sharedInbox") if isinstance(endpoints, dict) else None
    if shared is not None:
        shared = _url(shared, "The actor's shared inbox")
    for url in (inbox, shared):
        if url is not None and origin(url) != origin(actor_id):
            raise RemoteInvalid("The actor's inboxes are on another origin.")
    return RemoteActor(
        actor_id,
        kind,
        inbox,
        shared,
        _short(document, "preferredUsername", 100),
        _short(document, "name", 200),
    )


def _short(document: dict[str, Any], key: str, length: int) -> str:
    """A name from a document as plain text, cut to what a column holds."""
    value = document.get(key)
    return plain_text(value)[:length] if isinstance(value, str) else ""


# Posts -------------------------------------------------------------------------

# Objects taken as a post: Mastodon writes Notes, Lemmy Pages (posts) and
# Notes (comments), blogs Articles.
POST_TYPES = frozenset({"Note", "Page", "Article", "Question"})
MAX_TEXT = 20_000
# HTML elements that end a line or a paragraph when read as plain text.
LINE_BREAKS = frozenset({"br"})
BLOCKS = frozenset({"p", "div", "li", "blockquote", "pre", "h1", "h2", "h3", "h4"})
UNREAD = frozenset({"script", "style", "template"})


class _TextReader(HTMLParser):
    """Reads HTML as the text a reader sees: tags dropped, entities decoded."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in UNREAD:
            self.skipping += 1
        elif tag in LINE_BREAKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in UNREAD:
            self.skipping = max(0, self.skipping - 1)
        elif tag in BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def plain_text(markup: str) -> str:
    """HTML as plain text: never stored as markup, whatever a peer sends."""
    reader = _TextReader()
    reader.feed(markup)
    reader.close()
    text = "".join(reader.parts).replace("\r\n", "\n")
    lines = "\n".join(line.strip() for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", lines).strip()


def parse_time(value: Any) -> datetime | None:
    """An xsd:dateTime with its offset; None when absent or unreadable."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def addressees(document: dict[str, Any]) -> set[str]:
    """Every actor or collection a document is addressed to, or filed under."""
    found: set[str] = set()
    for key in ("to", "cc", "audience"):
        value = document.get(key)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(id_of(item), str):
                found.add(id_of(item))
    return found


@dataclass(frozen=True)
class Post:
    """A remote Note (or Page, Article, Question) as plain text."""

    id: str
    type: str
    author: str
    text: str
    published: datetime | None
    updated: datetime | None
    in_reply_to: str | None
    name: str
    addressees: frozenset[str]


def parse_post(document: Any) -> Post:
    """A post with an id, a type we read, an author on its own origin, and text.

    The id must be on the author's origin: one server cannot write posts in
    the name of another's members.
    """
    if not isinstance(document, dict):
        raise RemoteInvalid("The object is not a JSON object.")
    post_id = _url(document.get("id"), "The object's id")
    kind = document.get("type")
    if kind not in POST_TYPES:
        raise RemoteInvalid("The object is not a Note, Page, Article or Question.")
    author = _url(_first(document.get("attributedTo")), "The object's author")
    if origin(post_id) != origin(author):
        raise RemoteInvalid("The object's id and author are on different origins.")
    reply = document.get("inReplyTo")
    return Post(
        id=post_id,
        type=kind,
        author=author,
        text=_text(document.get("content"), "content"),
        published=parse_time(document.get("published")),
        updated=parse_time(document.get("updated")),
        in_reply_to=_url(id_of(reply), "inReplyTo") if reply is not None else None,
        name=_text(document.get("name"), "name"),
        addressees=frozenset(addressees(document)),
    )


def _first(value: Any) -> Any:
    """The first of a list of actors (Lemmy and PeerTube may give several)."""
    return id_of(value[0]) if isinstance(value, list) and value else id_of(value)


def _text(value: Any, what: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise RemoteInvalid(f"The object's {what} is not a string.")
    text = plain_text(value)
    if len(text) > MAX_TEXT:
        raise RemoteInvalid(
            f"The object's {what} is longer than {MAX_TEXT} characters."
        )
    return text


def parse_object_id(value: Any, what: str = "The activity's object") -> str:
    """The id of an object given inline or by reference, as an http(s) URL."""
    return _url(id_of(value), what)
