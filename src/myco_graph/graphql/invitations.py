"""Pending memberships in GraphQL: invitations and requests to join.

An invited member sees the projects that invited them, private ones
included, by name and summary only: enough to decide. Accepting is
``joinProject``; declining, and taking back a request to join, drop the
pending membership and nothing else.
"""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import relay

from myco_graph.domain import models, projects
from myco_graph.domain.models import AccountKind, MembershipState
from myco_graph.graphql.context import Info
from myco_graph.graphql.errors import user_errors
from myco_graph.graphql.paging import DEFAULT_PAGE_SIZE, Connection, connection
from myco_graph.graphql.project_base import ProjectVisibility
from myco_graph.graphql.projects import (
    Project,
    ProjectInput,
    ProjectPayload,
    project_id_of,
    project_payload,
)


@strawberry.type(
    description="An invitation to a project, as the invited member sees it."
)
class ProjectInvitation:
    project_id: relay.GlobalID = strawberry.field(
        description="What joinProject accepts and declineInvitation declines."
    )
    name: str
    summary: str
    visibility: ProjectVisibility
    invited_at: datetime
    # The membership row: invitations page by it, newest first.
    id: strawberry.Private[int]

    @classmethod
    def of(cls, row: models.ProjectMember) -> ProjectInvitation:
        project = row.project
        return cls(
            project_id=relay.GlobalID(Project.__name__, str(project.id)),
            name=project.handle,
            summary=project.summary,
            visibility=ProjectVisibility(project.visibility.value),
            invited_at=row.created_at,
            id=row.id,
        )


@strawberry.type
class InvitationQuery:
    @strawberry.field(description="Projects that invited you, newest first.")
    async def my_invitations(
        self, info: Info, first: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Connection[ProjectInvitation]:
        viewer = info.context.require_viewer()
        query = models.ProjectMember.filter(
            account_id=viewer.id, state=MembershipState.INVITED
        ).select_related("project")
        return await connection(query, ProjectInvitation.of, first, after)


@strawberry.type
class InvitationMutation:
    @strawberry.mutation(description="Declines an invitation to a project.")
    @user_errors
    async def decline_invitation(
        self, info: Info, input: ProjectInput
    ) -> ProjectPayload:
        member = info.context.require_kind(AccountKind.MEMBER)
        project_id = project_id_of(input.project_id)
        await projects.decline_invitation(project_id, member)
        # A private project declined is hidden from the member again: null.
        return await project_payload(info, project_id)

    @strawberry.mutation(description="Takes back your request to join a project.")
    @user_errors
    async def cancel_join_request(
        self, info: Info, input: ProjectInput
    ) -> ProjectPayload:
        member = info.context.require_kind(AccountKind.MEMBER)
        project_id = project_id_of(input.project_id)
        await projects.cancel_request(project_id, member)
        return await project_payload(info, project_id)
