"""Data for the project page benchmark: a project, its members, their sharing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from strawberry import relay

from myco_graph.domain import accounts, discussion, grants, projects
from myco_graph.domain.models import (
    Account,
    AccountKind,
    Audience,
    MembershipState,
    Name,
    ProfileValue,
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
    token, _ = await token_issuer.issue(viewer, TokenKind.SESSION)
    return PageData(
        project_id=project.id,
        project_global_id=relay.to_base64("Project", project.id),
        viewer=viewer,
        token=token,
    )
