"""Data for the project page benchmark: a project, its members, their sharing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from strawberry import relay

from myco_graph.domain import accounts, discussion, grants, polls, pools, projects
from myco_graph.domain.models import (
    Account,
    AccountKind,
    Audience,
    MembershipState,
    Name,
    ProfileValue,
    Project,
    ProjectMember,
    ProjectRole,
    Purpose,
    TokenKind,
    Visibility,
)
from myco_graph.domain.profile import wrap

SHARED: dict[str, Any] = {
    "identity.firstName": "Camille",
    "location.city": "Lyon",
    "location.country": "France",
    "music.favoriteGenres": ["jazz", "rock"],
    "music.instruments": ["piano"],
    "interests.hobbies": ["cycling", "gardening"],
}
MESSAGES = 25
POLLS = 3
POOLS = 2

PAGE_QUERY = """
query Page($project: ID!, $members: Int!) {
  node(id: $project) {
    ... on Project {
      name
      summary
      memberCount
      members(first: $members) {
        edges { node {
          role
          member { handle displayName }
          profile {
            identity { firstName }
            location { city country }
            music { favoriteGenres instruments }
            interests { hobbies }
          }
        } }
      }
      messages(first: 20) {
        edges { node { body createdAt author { handle displayName } } }
      }
      polls(first: 10, open: true) {
        edges { node { question closesAt voters options { label votes } } }
      }
      pools(first: 10) {
        edges { node { title targetCents raisedCents contributors deadline } }
      }
    }
  }
}
"""


@dataclass(frozen=True)
class PageData:
    project_id: int
    project_global_id: str
    viewer: Account
    token: str


async def _members(count: int, tag: str) -> list[Account]:
    password_hash = accounts._hasher.hash("bench-password-1")
    keys = [f"{tag}_{n}" for n in range(count)]
    await Name.bulk_create([Name(key=key) for key in keys])
    names = await Name.filter(key__in=keys).order_by("id")
    await Account.bulk_create(
        [
            Account(
                kind=AccountKind.MEMBER,
                name_id=name.id,
                handle=name.key,
                display_name=f"Member {name.key}",
                email=f"{name.key}@bench.example",
                password_hash=password_hash,
            )
            for name in names
        ]
    )
    return await Account.filter(handle__in=keys).order_by("id")


async def populate(
    members: int, *, tag: str, token_issuer: accounts.TokenIssuer
) -> PageData:
    """A public project with ``members`` members (the viewer among them)."""
    settings_issuer = grants.Issuer("http://bench.example", "bench.example")
    people = await _members(members, tag)
    viewer = people[0]
    project = await projects.create(
        viewer,
        f"{tag}_project",
        "A benchmark project",
        Visibility.PUBLIC,
        projects.Sharing(list(SHARED)),
        settings_issuer,
    )
    await ProjectMember.bulk_create(
        [
            ProjectMember(
                project_id=project.id,
                account_id=person.id,
                role=ProjectRole.MEMBER,
                state=MembershipState.ACTIVE,
                sharing=list(SHARED),
            )
            for person in people[1:]
        ]
    )
    await ProfileValue.bulk_create(
        [
            ProfileValue(account_id=person.id, key=key, value=wrap(value))
            for person in people
            for key, value in SHARED.items()
        ]
    )
    request = grants.GrantRequest(
        field_keys=list(SHARED),
        audience=Audience.PROJECT,
        audience_id=project.id,
        purpose=Purpose.PROJECT_COLLABORATION,
        expires_at=None,
        explicit=False,
    )
    for person in people[1:]:
        await grants.grant(person, request, settings_issuer)
    for number in range(MESSAGES):
        author = people[number % len(people)]
        await discussion.post(project, author, f"Message {number} about the garden")
    await _polls_and_pools(project, people)
    token, _ = await token_issuer.issue(viewer, TokenKind.SESSION)
    return PageData(
        project_id=project.id,
        project_global_id=relay.to_base64("Project", project.id),
        viewer=viewer,
        token=token,
    )


async def _polls_and_pools(project: Project, people: list[Account]) -> None:
    """Open polls with ballots from every member, pools with contributions."""
    closes = accounts.now() + timedelta(days=7)
    options = ["Tomatoes", "Beans", "Squash", "Herbs"]
    for number in range(POLLS):
        draft = polls.PollDraft(f"What do we plant in bed {number}?", options, closes)
        poll = await polls.create(project, people[0], draft)
        for index, person in enumerate(people):
            await polls.vote(poll, person, [index % len(options)])
    for number in range(POOLS):
        draft = pools.PoolDraft(f"Tools {number}", 50_000, closes)
        pool = await pools.create(project, people[0], draft)
        for index, person in enumerate(people[: len(people) // 2]):
            gift = pools.Gift(
                1_000 + index, f"ref-{number}-{index}", hidden=index % 3 == 0
            )
            await pools.contribute(pool, person, gift, 1_000_000)
