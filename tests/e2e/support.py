"""What the tests across instances share: GraphQL documents, members, waits."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from typing import Any

from tests.e2e.harness import Instance, eventually
from tests.helpers import Response

REMOTE_PROJECT = """
query ($address: String!) {
  remoteProject(address: $address) { id address url name summary membership }
}
"""
REMOTE_MESSAGES = """
query ($address: String!) {
  remoteProject(address: $address) {
    membership
    messages(first: 20) { edges { node { id text authorHandle updatedAt } } }
  }
}
"""
REMOTE_MEMBERS = """
query ($address: String!) {
  remoteProject(address: $address) {
    members { handle url fields { key label value } }
  }
}
"""
REMOTE_POLL = """
query ($address: String!, $url: String!) {
  remoteProject(address: $address) {
    poll(url: $url) { question multiple closed options { name votes } }
  }
}
"""
JOIN = """
mutation ($address: String!) {
  joinRemoteProject(input: {address: $address}) {
    userErrors { code message field }
    project { id membership }
  }
}
"""
POST_REMOTE = """
mutation ($id: ID!, $body: String!) {
  postToRemoteProject(input: {projectId: $id, body: $body}) {
    userErrors { code message field }
    note { id text }
  }
}
"""
EDIT_REMOTE = """
mutation ($id: ID!, $body: String!) {
  editRemoteNote(input: {id: $id, body: $body}) {
    userErrors { code message } note { id text }
  }
}
"""
DELETE_REMOTE = """
mutation ($id: ID!) {
  deleteRemoteNote(input: {id: $id}) { userErrors { code message } note { id } }
}
"""
VOTE_REMOTE = """
mutation ($url: String!, $choices: [String!]!) {
  voteInRemotePoll(input: {questionUrl: $url, choices: $choices}) {
    userErrors { code message field }
  }
}
"""
CREATE_PROJECT = """
mutation (
  $name: String!, $visibility: ProjectVisibility!, $fields: [ProfileFieldKey!]!
) {
  createProject(input: {name: $name, summary: "Growing oyster mushrooms",
                        visibility: $visibility, sharing: {fields: $fields}}) {
    userErrors { code message }
    project { id }
  }
}
"""
PROJECT_MESSAGES = """
query ($name: String!) {
  project(name: $name) {
    messages(first: 20) { edges { node { id body deleted author { handle } } } }
    polls(first: 5) { edges { node { id options { label votes } } } }
  }
}
"""
POST_MESSAGE = """
mutation ($id: ID!, $body: String!) {
  postMessage(input: {projectId: $id, body: $body}) {
    userErrors { code message } message { id }
  }
}
"""
EDIT_MESSAGE = """
mutation ($id: ID!, $body: String!) {
  editMessage(input: {id: $id, body: $body}) { userErrors { code message } }
}
"""
DELETE_MESSAGE = """
mutation ($id: ID!) {
  deleteMessage(input: {id: $id}) { userErrors { code message } }
}
"""
CREATE_POLL = """
mutation ($id: ID!, $closesAt: DateTime!) {
  createPoll(input: {projectId: $id, question: "Which substrate?",
                     options: ["straw", "coffee grounds"], closesAt: $closesAt}) {
    userErrors { code message } poll { id }
  }
}
"""
SET_VALUES = """
mutation ($first: String!, $city: String!) {
  setProfileValues(input: {identity: {firstName: $first}, location: {city: $city}}) {
    userErrors { code message }
  }
}
"""


@dataclass
class Member:
    """A signed-in member of one instance."""

    instance: Instance
    handle: str
    token: str

    async def __call__(self, query: str, **variables: Any) -> Response:
        return await self.instance.api(query, variables, token=self.token)

    async def data(self, query: str, **variables: Any) -> dict[str, Any]:
        return (await self(query, **variables)).data


async def member(instance: Instance, prefix: str) -> Member:
    handle = f"{prefix}{secrets.token_hex(3)}"
    token = await instance.api.sign_up(handle)
    return Member(instance, handle, token)


def row_id(global_id: str) -> int:
    return int(base64.b64decode(global_id).decode().rpartition(":")[2])


async def public_project(
    owner: Member, fields: tuple[str, ...] = ()
) -> tuple[str, str]:
    """A new public project of ``owner``: its name and global id."""
    name = f"shrooms{secrets.token_hex(3)}"
    data = await owner.data(
        CREATE_PROJECT, name=name, visibility="PUBLIC", fields=list(fields)
    )
    assert data["createProject"]["userErrors"] == []
    return name, data["createProject"]["project"]["id"]


async def joined(joiner: Member, address: str) -> str:
    """Joins the remote project and waits for its acceptance; its global id."""
    data = await joiner.data(JOIN, address=address)
    assert data["joinRemoteProject"]["userErrors"] == []
    project_id: str = data["joinRemoteProject"]["project"]["id"]

    async def state() -> str | None:
        found = await joiner.data(REMOTE_PROJECT, address=address)
        return found["remoteProject"]["membership"]  # type: ignore[no-any-return]

    await eventually(state, lambda s: s == "ACCEPTED", what="the Accept")
    return project_id


async def messages_on_a(owner: Member, name: str) -> list[dict[str, Any]]:
    data = await owner.data(PROJECT_MESSAGES, name=name)
    return [edge["node"] for edge in data["project"]["messages"]["edges"]]


async def messages_on_b(reader: Member, address: str) -> list[dict[str, Any]]:
    data = await reader.data(REMOTE_MESSAGES, address=address)
    edges = data["remoteProject"]["messages"]["edges"]
    return [edge["node"] for edge in edges]


def bodies(nodes: list[dict[str, Any]], key: str) -> list[str]:
    return [node[key] for node in nodes if not node.get("deleted")]
