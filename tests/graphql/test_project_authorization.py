"""Who may do what in a project: every operation against every standing.

The expected answers come from the table below, written from the product's
rules (DESIGN.md and the project brief), never from ``domain.projects.RULES``:
the test must be able to disagree with the code.

One rule for refusals: whoever is refused in a public project, anonymous
callers included, gets an error whose code is FORBIDDEN; in a private project
anyone outside it gets NOT_FOUND or a null, as if the project did not exist
(both are read as HIDDEN here). An operation that answers UNAUTHENTICATED to
an anonymous caller breaks that rule and fails here.

Each case builds its own world through the ORM and signs its caller in with a
token issued directly, so the hundred and forty cases need no password hashing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from itertools import product
from typing import Any

import pytest
from tortoise.transactions import in_transaction

from myco_graph.domain.accounts import now
from myco_graph.domain.events import project_channel
from myco_graph.domain.models import (
    Account,
    MembershipState,
    Message,
    Name,
    Poll,
    Pool,
    Project,
    ProjectMember,
    ProjectRole,
    Visibility,
)
from myco_graph.infrastructure.config import Settings
from myco_graph.infrastructure.events import bus
from tests.consent_support import People, make_account, session_for
from tests.helpers import GraphQLClient, subscriptions
from tests.project_support import MINIMAL_PDF, global_id, upload

STANDINGS = ("anonymous", "outsider", "member", "admin", "owner")
OUTSIDE = ("anonymous", "outsider")

# Who may do what in a public project: "yes" allowed, "-" refused.
TABLE = """
operation        anonymous outsider member admin owner
view             yes       yes      yes    yes   yes
read_messages    yes       yes      yes    yes   yes
list_members     -         -        yes    yes   yes
join             -         yes      -      -     -
leave            -         -        yes    yes   -
set_sharing      -         -        yes    yes   yes
post_message     -         -        yes    yes   yes
remove_message   -         -        -      yes   yes
create_poll      -         -        yes    yes   yes
vote             -         -        yes    yes   yes
create_pool      -         -        -      yes   yes
contribute       -         -        yes    yes   yes
close_pool       -         -        -      yes   yes
upload_file      -         -        yes    yes   yes
invite           -         -        -      yes   yes
decide_request   -         -        -      yes   yes
list_requests    -         -        -      yes   yes
list_invitations -         -        -      yes   yes
remove_member    -         -        -      yes   yes
update_project   -         -        -      yes   yes
set_role         -         -        -      -     yes
follow_activity  -         -        yes    yes   yes
"""


def read_table(text: str) -> dict[tuple[str, str], str]:
    """(operation, standing) → ALLOWED or FORBIDDEN."""
    header, *rows = [line.split() for line in text.strip().splitlines()]
    assert tuple(header[1:]) == STANDINGS
    return {
        (operation, standing): "ALLOWED" if cell == "yes" else "FORBIDDEN"
        for operation, *cells in rows
        for standing, cell in zip(STANDINGS, cells, strict=True)
    }


PUBLIC = read_table(TABLE)
OPERATIONS = list(dict.fromkeys(operation for operation, _ in PUBLIC))


def cases(standings: tuple[str, ...]) -> list[Any]:
    return [
        pytest.param(operation, standing, id=f"{operation}-{standing}")
        for operation, standing in product(OPERATIONS, standings)
    ]


# The world of one case ----------------------------------------------------------

ACTIVE, REQUESTED = MembershipState.ACTIVE, MembershipState.REQUESTED

# Who stands where. The caller is one of the first four (or nobody, when
# anonymous); the others are the ones operations on someone else aim at.
PEOPLE: dict[str, tuple[ProjectRole, MembershipState] | None] = {
    "owner": (ProjectRole.OWNER, ACTIVE),
    "admin": (ProjectRole.ADMIN, ACTIVE),
    "member": (ProjectRole.MEMBER, ACTIVE),
    "outsider": None,
    "target": (ProjectRole.MEMBER, ACTIVE),
    "invitee": None,
    "requester": (ProjectRole.MEMBER, REQUESTED),
}


@dataclass
class World:
    """A project with one of each standing, a message, a poll and a pool."""

    api: GraphQLClient
    server: str
    token: str | None
    project: Project
    accounts: dict[str, Account]
    message: Message
    poll: Poll
    pool: Pool

    def id(self, type_name: str, row: int) -> str:
        return global_id(type_name, row)

    @property
    def project_id(self) -> str:
        return global_id("Project", self.project.id)

    def member_id(self, who: str) -> str:
        return global_id("Member", self.accounts[who].id)


async def build_world(
    api: GraphQLClient,
    server: str,
    settings: Settings,
    standing: str,
    visibility: Visibility,
) -> World:
    """The whole world in one transaction: one commit instead of twenty."""
    async with in_transaction():
        accounts = {who: await make_account(who) for who in PEOPLE}
        project = await Project.create(
            name=await Name.create(key="commons"),
            handle="commons",
            visibility=visibility,
            created_by=accounts["owner"],
        )
        for who, place in PEOPLE.items():
            if place is not None:
                role, state = place
                await ProjectMember.create(
                    project=project, account=accounts[who], role=role, state=state
                )
        soon = now() + timedelta(days=7)
        owner = accounts["owner"]
        message = await Message.create(
            project=project, author=accounts["target"], body="Hello"
        )
        poll = await Poll.create(
            project=project, author=owner, question="When?", options=["Mon", "Tue"],
            closes_at=soon,
        )  # fmt: skip
        pool = await Pool.create(
            project=project, author=owner, title="Seeds", target_cents=10_000,
            deadline=soon,
        )  # fmt: skip
    token = None
    if standing != "anonymous":
        token = await session_for(People.of(settings).issuer, accounts[standing])
    return World(api, server, token, project, accounts, message, poll, pool)


# What an answer says -----------------------------------------------------------


def verdict(body: dict[str, Any], field: str) -> str:
    """ALLOWED, HIDDEN (NOT_FOUND or null), another error code, or USER_ERROR."""
    codes = {error["extensions"]["code"] for error in body.get("errors", [])}
    if codes:
        assert len(codes) == 1, body["errors"]
        [code] = codes
        return "HIDDEN" if code == "NOT_FOUND" else code
    payload = body["data"][field]
    if payload is None:
        return "HIDDEN"
    if isinstance(payload, dict) and payload.get("userErrors"):
        return "USER_ERROR:" + ",".join(e["code"] for e in payload["userErrors"])
    return "ALLOWED"


def project_field(selection: str) -> str:
    return (
        f"query Q($id: ID!) {{ node(id: $id) {{ ... on Project {{ {selection} }} }} }}"
    )


async def read(world: World, selection: str) -> str:
    result = await world.api(
        project_field(selection), {"id": world.project_id}, token=world.token
    )
    return verdict(result.body, "node")


async def mutate(world: World, name: str, input_type: str, **given: Any) -> str:
    query = (
        f"mutation M($input: {input_type}!) "
        f"{{ {name}(input: $input) {{ userErrors {{ code }} }} }}"
    )
    result = await world.api(query, {"input": given}, token=world.token)
    return verdict(result.body, name)


# One act per operation -----------------------------------------------------------


async def view(world: World) -> str:
    return await read(world, "name")


async def read_messages(world: World) -> str:
    return await read(world, "messages { edges { node { body } } }")


async def list_members(world: World) -> str:
    return await read(world, "members { edges { node { role } } }")


async def join(world: World) -> str:
    return await mutate(
        world, "joinProject", "JoinProjectInput", projectId=world.project_id
    )


async def leave(world: World) -> str:
    return await mutate(
        world, "leaveProject", "ProjectInput", projectId=world.project_id
    )


async def set_sharing(world: World) -> str:
    return await mutate(
        world,
        "setProjectSharing",
        "JoinProjectInput",
        projectId=world.project_id,
        sharing={"fields": ["LOCATION_CITY"]},
    )


async def post_message(world: World) -> str:
    return await mutate(
        world,
        "postMessage",
        "PostMessageInput",
        projectId=world.project_id,
        body="Hi there",
    )


async def remove_message(world: World) -> str:
    return await mutate(
        world,
        "removeMessage",
        "DeleteMessageInput",
        id=world.id("Message", world.message.id),
    )


async def create_poll(world: World) -> str:
    return await mutate(
        world,
        "createPoll",
        "CreatePollInput",
        projectId=world.project_id,
        question="Where?",
        options=["Lyon", "Paris"],
        closesAt=(now() + timedelta(days=3)).isoformat(),
    )


async def vote(world: World) -> str:
    return await mutate(
        world, "vote", "VoteInput", pollId=world.id("Poll", world.poll.id), choices=[1]
    )


async def create_pool(world: World) -> str:
    return await mutate(
        world,
        "createPool",
        "CreatePoolInput",
        projectId=world.project_id,
        title="Tools",
        targetCents=5_000,
        deadline=(now() + timedelta(days=3)).isoformat(),
    )


async def contribute(world: World) -> str:
    return await mutate(
        world,
        "contribute",
        "ContributeInput",
        poolId=world.id("Pool", world.pool.id),
        amountCents=500,
        paymentReference="pay-1",
    )


async def close_pool(world: World) -> str:
    return await mutate(
        world, "closePool", "PoolInput", poolId=world.id("Pool", world.pool.id)
    )


async def upload_file(world: World) -> str:
    response = await upload(
        world.api,
        world.token,
        world.project_id,
        MINIMAL_PDF,
        filename="notes.pdf",
        content_type="application/pdf",
    )
    return verdict(response.json(), "uploadFile")


async def invite(world: World) -> str:
    return await mutate(
        world,
        "inviteToProject",
        "ProjectMemberInput",
        projectId=world.project_id,
        memberId=world.member_id("invitee"),
    )


async def decide_request(world: World) -> str:
    return await mutate(
        world,
        "decideJoinRequest",
        "DecideJoinRequestInput",
        projectId=world.project_id,
        memberId=world.member_id("requester"),
        approve=True,
    )


async def list_requests(world: World) -> str:
    return await read(world, "joinRequests { edges { node { role } } }")


async def list_invitations(world: World) -> str:
    return await read(world, "invitations { edges { node { role } } }")


async def remove_member(world: World) -> str:
    return await mutate(
        world,
        "removeProjectMember",
        "ProjectMemberInput",
        projectId=world.project_id,
        memberId=world.member_id("target"),
    )


async def update_project(world: World) -> str:
    return await mutate(
        world,
        "updateProject",
        "UpdateProjectInput",
        projectId=world.project_id,
        summary="Seeds and tools",
    )


async def set_role(world: World) -> str:
    return await mutate(
        world,
        "setProjectRole",
        "SetProjectRoleInput",
        projectId=world.project_id,
        memberId=world.member_id("target"),
        role="ADMIN",
    )


ACTIVITY = "subscription A($id: ID!) { projectActivity(projectId: $id) { kind } }"


async def follow_activity(world: World) -> str:
    """Subscribes, then sends probes through the bus until something comes back."""
    probe = {"id": 0, "kind": "test.probe", "payload": {}, "at": now().isoformat()}
    variables = {"id": world.project_id}
    async with subscriptions(world.server, world.token) as connection:
        await connection.send(
            {
                "id": "1",
                "type": "subscribe",
                "payload": {"query": ACTIVITY, "variables": variables},
            }
        )
        for _ in range(100):
            await bus().publish(project_channel(world.project.id), probe)
            try:
                message = await connection.receive(seconds=0.05)
            except TimeoutError:
                continue
            assert message["type"] == "next", message
            return verdict(message["payload"], "projectActivity")
    raise AssertionError("the subscription neither listened nor refused")


ACTS: dict[str, Callable[[World], Awaitable[str]]] = {
    "view": view,
    "read_messages": read_messages,
    "list_members": list_members,
    "join": join,
    "leave": leave,
    "set_sharing": set_sharing,
    "post_message": post_message,
    "remove_message": remove_message,
    "create_poll": create_poll,
    "vote": vote,
    "create_pool": create_pool,
    "contribute": contribute,
    "close_pool": close_pool,
    "upload_file": upload_file,
    "invite": invite,
    "decide_request": decide_request,
    "list_requests": list_requests,
    "list_invitations": list_invitations,
    "remove_member": remove_member,
    "update_project": update_project,
    "set_role": set_role,
    "follow_activity": follow_activity,
}


def test_every_operation_of_the_table_is_tried() -> None:
    assert list(ACTS) == OPERATIONS


@pytest.mark.parametrize(("operation", "standing"), cases(STANDINGS))
async def test_public_project_allows_or_refuses_as_the_table_says(
    api: GraphQLClient,
    server: str,
    settings: Settings,
    operation: str,
    standing: str,
) -> None:
    world = await build_world(api, server, settings, standing, Visibility.PUBLIC)

    answer = await asyncio.wait_for(ACTS[operation](world), timeout=20)

    assert answer == PUBLIC[operation, standing]


@pytest.mark.parametrize(("operation", "standing"), cases(OUTSIDE))
async def test_private_project_hides_every_operation_from_outside(
    api: GraphQLClient,
    server: str,
    settings: Settings,
    operation: str,
    standing: str,
) -> None:
    world = await build_world(api, server, settings, standing, Visibility.PRIVATE)

    answer = await asyncio.wait_for(ACTS[operation](world), timeout=20)

    assert answer == "HIDDEN"
