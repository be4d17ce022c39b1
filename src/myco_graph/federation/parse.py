"""Parse-from-ActivityPub: remote documents into our own types.

Each parser takes a JSON object fetched from another instance and returns a
small frozen value, or raises RemoteInvalid saying what is wrong; nothing
downstream reads a remote document directly.
"""

from __future__ import annotations

from dataclasses import dataclass
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
    """A remote actor as its document gives it: its id, type and inboxes."""

    id: str
    type: str
    inbox: str
    shared_inbox: str | None


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
    return RemoteActor(actor_id, kind, inbox, shared)
