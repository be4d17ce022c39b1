"""Nothing of a private project reaches anyone outside it.

A marker is planted in every part of a project that holds text (name,
summary, a message, a poll, a pool, a file's name and bytes); then a sweep
asks every door an outsider or an anonymous client can knock at, and looks
for the marker in each answer. The same sweep must find the marker when a
member asks, and when the project is public: otherwise it proves nothing.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from myco_graph.domain import files
from myco_graph.domain.accounts import now
from myco_graph.domain.models import StoredFile
from myco_graph.graphql.schema import build_schema
from myco_graph.infrastructure.config import Settings, secret_key
from tests.consent_support import People
from tests.helpers import GraphQLClient
from tests.project_support import (
    INVITE,
    JOIN,
    MINIMAL_PDF,
    ok,
    row_id,
    upload,
    viewer_id,
)

CREATE = """
mutation Create($input: CreateProjectInput!) {
  createProject(input: $input) { project { id } userErrors { field message } }
}
"""

POST = """
mutation Post($input: PostMessageInput!) {
  postMessage(input: $input) { message { id } userErrors { field message } }
}
"""

CREATE_POLL = """
mutation Poll($input: CreatePollInput!) {
  createPoll(input: $input) { poll { id } userErrors { field message } }
}
"""

CREATE_POOL = """
mutation Pool($input: CreatePoolInput!) {
  createPool(input: $input) { pool { id } userErrors { field message } }
}
"""

PROJECT_FIELDS = """
name summary
messages { edges { node { body } } }
polls { edges { node { question options { label } } } }
pools { edges { node { title } } }
files { edges { node { name url } } }
"""

NODE = """
query Node($id: ID!) { node(id: $id) {
  ... on Project { name summary }
  ... on Message { body }
  ... on Poll { question }
  ... on Pool { title }
  ... on File { name url }
} }
"""


@dataclass
class Planted:
    """A project holding the marker everywhere, and who stands where."""

    marker: str
    project: str
    message: str
    poll: str
    pool: str
    file: str
    tokens: dict[str, str]


async def plant(api: GraphQLClient, settings: Settings, visibility: str) -> Planted:
    marker = f"Quokka{secrets.token_hex(5)}"
    people = People.of(settings)
    tokens = {who: await people.token(who) for who in ("olga", "alice", "mallory")}
    owner = tokens["olga"]
    created = await ok(
        api,
        CREATE,
        owner,
        name=marker,
        summary=f"All about {marker}",
        visibility=visibility,
    )
    project = created["project"]["id"]
    member = {"projectId": project, "memberId": await viewer_id(api, tokens["alice"])}
    await ok(api, INVITE, owner, **member)
    await ok(api, JOIN, tokens["alice"], projectId=project)
    soon = (now() + timedelta(days=3)).isoformat()
    message = await ok(api, POST, owner, projectId=project, body=f"See {marker}")
    poll = await ok(
        api,
        CREATE_POLL,
        owner,
        projectId=project,
        question=f"{marker} when?",
        options=["Monday", f"{marker} day"],
        closesAt=soon,
    )
    pool = await ok(
        api,
        CREATE_POOL,
        owner,
        projectId=project,
        title=f"{marker} seeds",
        targetCents=1_000,
        deadline=soon,
    )
    pdf = MINIMAL_PDF.replace(b"%%EOF", f"% {marker}\n%%EOF".encode())
    uploaded = await upload(
        api,
        owner,
        project,
        pdf,
        filename=f"{marker}.pdf",
        content_type="application/pdf",
    )
    file = uploaded.json()["data"]["uploadFile"]
    assert file["userErrors"] == [], file["userErrors"]
    return Planted(
        marker=marker,
        project=project,
        message=message["message"]["id"],
        poll=poll["poll"]["id"],
        pool=pool["pool"]["id"],
        file=file["file"]["id"],
        tokens=tokens,
    )


# The sweep ----------------------------------------------------------------------


def page_of(response: httpx.Response) -> str:
    return f"{response.status_code} {response.headers} {response.text}"


async def graphql(
    api: GraphQLClient, token: str | None, query: str, **variables: Any
) -> str:
    result = await api(query, variables, token=token)
    return str(result.body)


def links_in(answer: str, settings: Settings) -> list[str]:
    """Download links handed out in an answer, as paths on the test server."""
    base = str(settings.base_url).rstrip("/")
    found = []
    for part in answer.split("'"):
        if part.startswith(f"{base}/files/"):
            parts = urlsplit(part)
            found.append(f"{parts.path}?{parts.query}")
    return found


async def sweep(
    api: GraphQLClient, settings: Settings, planted: Planted, token: str | None
) -> dict[str, str]:
    """Every answer a caller with ``token`` gets, by the door that gave it."""
    marker, http = planted.marker, api.http
    part = marker[3:-3].lower()
    listed = (
        "query L($q: String) { projects(search: $q) "
        "{ edges { node { name summary } } } }"
    )
    by_name = f"query N($n: String!) {{ project(name: $n) {{ {PROJECT_FIELDS} }} }}"
    answers = {
        "projects": await graphql(api, token, listed),
        "search": await graphql(api, token, listed, q=marker),
        "search part": await graphql(api, token, listed, q=part),
        "project(name:)": await graphql(api, token, by_name, n=marker),
        "project(name:) in capitals": await graphql(
            api, token, by_name, n=marker.upper()
        ),
        "myProjects": await graphql(
            api, token, "{ myProjects { edges { node { name summary } } } }"
        ),
    }
    for kind in ("project", "message", "poll", "pool", "file"):
        answers[f"node {kind}"] = await graphql(
            api, token, NODE, id=getattr(planted, kind)
        )
    answers["join"] = await graphql(
        api,
        token,
        "mutation J($id: ID!) { joinProject(input: {projectId: $id}) "
        "{ project { name summary } userErrors { message } } }",
        id=planted.project,
    )
    answers["vote"] = await graphql(
        api,
        token,
        "mutation V($id: ID!) { vote(input: {pollId: $id, choices: [1]}) "
        "{ poll { question } userErrors { message } } }",
        id=planted.poll,
    )
    answers["GraphiQL"] = page_of(
        await http.get("/graphql", headers={"accept": "text/html"})
    )
    answers["schema"] = build_schema(settings).as_str()
    for path in ("/healthz", "/readyz", "/metrics", "/.well-known/jwks.json"):
        answers[path] = page_of(await http.get(path))
    answers.update(await downloads(http, settings, planted))
    # Links the answers above handed out are followed too.
    handed_out = [
        link for text in answers.values() for link in links_in(text, settings)
    ]
    answers["signed download"] = " ".join(
        [page_of(await http.get(link)) for link in handed_out]
    )
    return answers


async def downloads(
    http: httpx.AsyncClient, settings: Settings, planted: Planted
) -> dict[str, str]:
    """The file's bytes asked for with no, a forged and an expired signature."""
    stored = await StoredFile.get(id=row_id(planted.file))
    path = f"/files/{stored.id}"
    later = int(time.time()) + 300
    signer = files.DownloadSigner(secret_key(settings), settings.file_url_ttl_seconds)
    expired = signer.query(stored, now=time.time() - 3_600)
    return {
        "unsigned download": page_of(await http.get(path)),
        "forged download": page_of(
            await http.get(f"{path}?expires={later}&signature={'0' * 64}")
        ),
        "expired download": page_of(await http.get(f"{path}?{expired}")),
    }


def found(answers: dict[str, str], marker: str) -> set[str]:
    return {door for door, text in answers.items() if marker.lower() in text.lower()}


# What the sweep finds -----------------------------------------------------------

ANSWERS_OF_A_PROJECT = {
    "project(name:)",
    "project(name:) in capitals",
    "node project",
    "node message",
    "node poll",
    "node pool",
    "node file",
    "signed download",
}


@pytest.mark.parametrize("who", ["anonymous", "mallory"])
async def test_private_projects_marker_reaches_nobody_outside(
    api: GraphQLClient, settings: Settings, who: str
) -> None:
    planted = await plant(api, settings, "PRIVATE")
    token = planted.tokens.get(who)

    answers = await sweep(api, settings, planted, token)

    assert found(answers, planted.marker) == set()


async def test_private_projects_marker_reaches_its_members(
    api: GraphQLClient, settings: Settings
) -> None:
    planted = await plant(api, settings, "PRIVATE")

    answers = await sweep(api, settings, planted, planted.tokens["alice"])

    # A member's ballot is taken, so the vote answers with the poll too.
    assert found(answers, planted.marker) == ANSWERS_OF_A_PROJECT | {
        "myProjects",
        "vote",
    }


async def test_public_projects_marker_is_found_by_the_same_sweep(
    api: GraphQLClient, settings: Settings
) -> None:
    planted = await plant(api, settings, "PUBLIC")

    answers = await sweep(api, settings, planted, None)

    assert found(answers, planted.marker) == ANSWERS_OF_A_PROJECT | {
        "projects",
        "search",
        "search part",
    }
