"""Parsing remote actor documents for their keys, from peers' payloads."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from myco_graph.errors import RemoteInvalid
from myco_graph.federation.parse import parse_public_key
from tests.federation.conftest import PEER_PUBLIC_PEM, payload

KEY_ID = "https://mastodon.example/users/zoe#main-key"
ACTOR = "https://mastodon.example/users/zoe"


def mastodon_person() -> dict[str, Any]:
    document = payload("mastodon_person.json")
    document["publicKey"]["publicKeyPem"] = PEER_PUBLIC_PEM
    return document


def test_mastodon_person_gives_its_key() -> None:
    key = parse_public_key(mastodon_person(), KEY_ID)

    assert key.key_id == KEY_ID
    assert key.owner == ACTOR
    assert key.public_pem == PEER_PUBLIC_PEM


def test_key_is_found_in_a_list_of_keys() -> None:
    document = mastodon_person()
    other = {**document["publicKey"], "id": f"{ACTOR}#other-key"}
    document["publicKey"] = [other, document["publicKey"]]

    assert parse_public_key(document, KEY_ID).key_id == KEY_ID


def test_key_document_alone_names_its_owner() -> None:
    document = {**mastodon_person()["publicKey"], "@context": "x"}

    assert parse_public_key(document, KEY_ID).owner == ACTOR


def test_key_of_another_origin_is_refused() -> None:
    document = mastodon_person()
    document["id"] = "https://elsewhere.example/users/zoe"
    document["publicKey"]["owner"] = document["id"]

    with pytest.raises(RemoteInvalid, match="origin"):
        parse_public_key(document, KEY_ID)


def test_key_owned_by_another_actor_is_refused() -> None:
    document = mastodon_person()
    document["publicKey"]["owner"] = "https://mastodon.example/users/mallory"

    with pytest.raises(RemoteInvalid, match="another actor"):
        parse_public_key(document, KEY_ID)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("publicKey"), "does not hold"),
        (lambda d: d["publicKey"].update(id="https://mastodon.example/k"), "hold"),
        (lambda d: d["publicKey"].pop("publicKeyPem"), "no publicKeyPem"),
        (lambda d: d["publicKey"].update(publicKeyPem="junk"), "cannot be read"),
        (lambda d: d.update(id=None), "not an http"),
    ],
)
def test_unusable_documents_are_invalid(change: Any, message: str) -> None:
    document = copy.deepcopy(mastodon_person())
    change(document)

    with pytest.raises(RemoteInvalid, match=message):
        parse_public_key(document, KEY_ID)


def test_key_that_is_not_rsa_is_invalid() -> None:
    document = mastodon_person()
    document["publicKey"]["publicKeyPem"] = (
        "-----BEGIN PUBLIC KEY-----\n"
        "MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n"
        "-----END PUBLIC KEY-----\n"
    )

    with pytest.raises(RemoteInvalid, match="not an RSA key"):
        parse_public_key(document, KEY_ID)
