"""federation/ describes what the code does: its examples are what it renders."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from myco_graph.federation import render
from tests.federation.conftest import ACTIVITY_JSON, member, project, share
from tests.federation.test_activities import RENDERED_EXAMPLES

PROTOCOL = Path(__file__).parents[2] / "federation"
EXAMPLES = PROTOCOL / "examples"
PEM = "-----BEGIN PUBLIC KEY-----\n...\n-----END PUBLIC KEY-----\n"
PUBLISHED = "2026-01-15T09:30:00Z"
VERSION = "0.1.0"

# Each example, and where the live server renders it.
DOCUMENTS = {
    "application.json": "/actor",
    "person.json": "/users/alice",
    "group.json": "/groups/gardeners",
    "webfinger.json": "/.well-known/webfinger?resource=acct:alice@coop.test",
    "nodeinfo-links.json": "/.well-known/nodeinfo",
    "nodeinfo.json": "/nodeinfo/2.1",
}


def normalised(value: Any, key: str = "") -> Any:
    """Our test instance's document as the example shows it.

    The test instance lives at http://coop.test, the examples at
    https://coop.example; keys, dates and the version differ from run to run.
    """
    if isinstance(value, dict):
        return {name: normalised(item, name) for name, item in value.items()}
    if isinstance(value, list):
        return [normalised(item) for item in value]
    if key == "publicKeyPem":
        return PEM
    if key == "published":
        return PUBLISHED
    if isinstance(value, str):
        return value.replace("http://coop.test", "https://coop.example").replace(
            "coop.test", "coop.example"
        )
    return value


async def the_example_instance() -> None:
    """The members and project the examples show."""
    olga, alice, bob = await member("olga"), await member("alice"), await member("bob")
    await share(alice, {"location.city": "Lyon", "music.favoriteGenres": ["jazz"]})
    await project(
        olga,
        "gardeners",
        summary="Shared plots & seeds in Lyon.\n\nEvery Sunday morning.",
        members=(alice, bob),
        messages=("First sowing on Sunday", "Bring gloves"),
    )


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
async def test_example_is_what_the_server_renders(
    name: str, http: httpx.AsyncClient
) -> None:
    await the_example_instance()
    example = json.loads((EXAMPLES / name).read_text())

    response = await http.get(DOCUMENTS[name], headers={"accept": ACTIVITY_JSON})

    rendered = normalised(response.json())
    if name == "nodeinfo.json":
        rendered["software"]["version"] = VERSION
    assert rendered == example


def test_every_example_is_checked() -> None:
    checked = set(DOCUMENTS) | RENDERED_EXAMPLES
    assert {path.name for path in EXAMPLES.glob("*.json")} == checked


def test_context_file_is_the_context_documents_use() -> None:
    context = json.loads((PROTOCOL / "context.jsonld").read_text())

    assert context["@context"] == render.CONTEXT
