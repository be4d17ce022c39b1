"""Projects in GraphQL: the assembled Project type, membership, activity."""

from __future__ import annotations

import functools
from collections.abc import AsyncGenerator, Callable, Iterable
from datetime import datetime
from typing import Any

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from myco_graph.domain import grants, listings, models, projects
from myco_graph.domain.events import project_channel
from myco_graph.domain.models import AccountKind, MembershipState, Purpose, Visibility
from myco_graph.domain.names import name_key
from myco_graph.domain.projects import Operation, Sharing
from myco_graph.errors import NotFound
from myco_graph.graphql.accounts import node_row_id, row_id
from myco_graph.graphql.consent import ProfileFieldKey
from myco_graph.graphql.context import Info
from myco_graph.graphql.discussion import Message, MessagesOfProject
from myco_graph.graphql.errors import UserError, user_errors
from myco_graph.graphql.execution import prepared
from myco_graph.graphql.files import FilesOfProject
from myco_graph.graphql.members import Member
from myco_graph.graphql.paging import (
    DEFAULT_PAGE_SIZE,
    Connection,
    connection,
    position,
    wrapped,
)
from myco_graph.graphql.polls import Poll, PollsOfProject
from myco_graph.graphql.pools import Pool, PoolsOfProject
from myco_graph.graphql.profile import (
    Profile,
    ProfileAccess,
    consent_session,
    prepare_profiles,
    profile_of,
    requested_keys,
)
from myco_graph.graphql.project_base import (
    ContentRow,
    ProjectRole,
    ProjectVisibility,
    T,
    access,
    authorize,
    forget_access,
)
from myco_graph.infrastructure.events import bus

# Where, under a list of members, their profiles are selected.
PROFILE_PATH = ("edges", "node", "profile")
ROLES = {models.ProjectRole(role.value): role for role in ProjectRole}
FIELD_KEYS = {key.value: key for key in ProfileFieldKey}


@strawberry.type(
    description="A member's place in a project, and what they share there."
)
class ProjectMember:
    role: ProjectRole
    joined_at: datetime
    shared_fields: list[ProfileFieldKey]  # type: ignore[valid-type]
    # Read with the membership, so that a page of members resolves it as a
    # plain attribute: no resolver call, no coroutine per member.
    member: Member | None
    account_id: strawberry.Private[int]
    project_id: strawberry.Private[int]
    # The profile fields a list selects under all its members, and the
    # profile itself when the list decided it (see prepare_profiles).
    profile_keys: strawberry.Private[tuple[str, ...] | None] = None
    listed_profile: strawberry.Private[Any] = None

    @strawberry.field(description="What this member shares with the project.")
    @prepared("listed_profile")
    def profile(self, info: Info) -> Profile:  # type: ignore[valid-type]
        access = ProfileAccess(
            self.account_id, Purpose.PROJECT_COLLABORATION, self.project_id
        )
        return profile_of(info, access, self.profile_keys)  # type: ignore[no-any-return]

    @classmethod
    def of(
        cls, row: listings.MemberRow, profile_keys: tuple[str, ...] | None = None
    ) -> ProjectMember:
        """From a membership read with its account."""
        return cls(
            role=ROLES[row.role],
            joined_at=row.created_at,
            shared_fields=[FIELD_KEYS[key] for key in row.sharing],
            member=Member.of(row.account),
            account_id=row.account_id,
            project_id=row.project_id,
            profile_keys=profile_keys,
        )


async def _members(
    info: Info,
    project_id: int,
    state: MembershipState,
    first: int,
    after: str | None,
) -> Connection[ProjectMember]:
    """A page of memberships, with the profiles the query selects decided."""
    rows = await listings.members(project_id, state, first, position(first, after))
    keys = requested_keys(info, PROFILE_PATH)
    page = wrapped(rows, functools.partial(ProjectMember.of, profile_keys=keys), after)
    listed = [(edge.node, edge.node.account_id) for edge in page.edges]
    await prepare_profiles(
        info, listed, keys, Purpose.PROJECT_COLLABORATION, project_id
    )
    return page


@strawberry.type(description="A project: public (listed, federated) or private.")
class Project(MessagesOfProject, PollsOfProject, PoolsOfProject, FilesOfProject):
    @strawberry.field(description="The viewer's role here, or null.")
    async def viewer_role(self, info: Info) -> ProjectRole | None:
        _, actor = await access(info, self.id)
        role = {"member": "member", "admin": "admin", "owner": "owner"}.get(actor.value)
        return ProjectRole(role) if role else None

    @strawberry.field
    async def member_count(self, info: Info) -> int:
        await access(info, self.id)
        return await projects.member_count(self.id)

    @strawberry.field(description="Members, newest first; seen by members only.")
    async def members(
        self, info: Info, first: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Connection[ProjectMember]:
        await authorize(info, self.id, Operation.LIST_MEMBERS)
        # Only the project's members list them: the consent session need not
        # read the viewer's membership again.
        consent_session(info.context).knows_membership(self.id, member=True)
        return await _members(info, self.id, MembershipState.ACTIVE, first, after)

    @strawberry.field(description="Requests to join, for the project's staff.")
    async def join_requests(
        self, info: Info, first: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Connection[ProjectMember]:
        await authorize(info, self.id, Operation.DECIDE_REQUEST)
        return await _members(info, self.id, MembershipState.REQUESTED, first, after)

    @strawberry.field(
        description="Invitations not answered yet, for the project's staff; "
        "removeProjectMember takes one back."
    )
    async def invitations(
        self, info: Info, first: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Connection[ProjectMember]:
        await authorize(info, self.id, Operation.INVITE)
        return await _members(info, self.id, MembershipState.INVITED, first, after)

    @classmethod
    def of(cls, row: models.Project) -> Project:
        return cls(
            id=row.id,
            name=row.handle,
            summary=row.summary,
            visibility=ProjectVisibility(row.visibility.value),
            created_at=row.created_at,
            row=row,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Project | None]:
        ids = [row_id(node_id) for node_id in node_ids]
        return [await visible_project(info, project_id) for project_id in ids]


async def visible_project(info: Info, project_id: int) -> Project | None:
    """The project if the viewer may see it; None hides private ones."""
    try:
        project, _ = await access(info, project_id)
    except NotFound:
        return None
    return Project.of(project)


def project_id_of(global_id: relay.GlobalID, field: str = "projectId") -> int:
    return node_row_id(global_id, Project, field)


def member_id_of(global_id: relay.GlobalID, field: str = "memberId") -> int:
    return node_row_id(global_id, Member, field)


def issuer(info: Info) -> grants.Issuer:
    settings = info.context.services.settings
    return grants.Issuer(str(settings.base_url).rstrip("/"), settings.domain)


@strawberry.input(description="Profile fields shared with a project's members.")
class SharingInput:
    fields: list[ProfileFieldKey]  # type: ignore[valid-type]
    explicit: bool = strawberry.field(
        default=False, description="Needed to share special-category fields."
    )

    def sharing(self) -> Sharing:
        keys = [key.value for key in self.fields]  # type: ignore[attr-defined]
        return Sharing(keys, self.explicit)


NO_SHARING = Sharing([])


@strawberry.input
class CreateProjectInput:
    name: str
    summary: str = ""
    visibility: ProjectVisibility = ProjectVisibility.PUBLIC
    sharing: SharingInput | None = None


@strawberry.input
class UpdateProjectInput:
    project_id: relay.GlobalID
    summary: str


@strawberry.input
class JoinProjectInput:
    project_id: relay.GlobalID
    sharing: SharingInput | None = None


@strawberry.input
class ProjectMemberInput:
    project_id: relay.GlobalID
    member_id: relay.GlobalID


@strawberry.input
class DecideJoinRequestInput:
    project_id: relay.GlobalID
    member_id: relay.GlobalID
    approve: bool


@strawberry.input
class SetProjectRoleInput:
    project_id: relay.GlobalID
    member_id: relay.GlobalID
    role: ProjectRole


@strawberry.input
class ProjectInput:
    project_id: relay.GlobalID


@strawberry.type
class ProjectPayload:
    user_errors: list[UserError]
    project: Project | None = None


def _sharing(given: SharingInput | None) -> Sharing:
    return given.sharing() if given is not None else NO_SHARING


async def project_payload(info: Info, project_id: int) -> ProjectPayload:
    """The payload of a change to a project: the project as the viewer now sees it."""
    forget_access(info, project_id)
    return ProjectPayload(
        user_errors=[], project=await visible_project(info, project_id)
    )


@strawberry.type
class ProjectQuery:
    @strawberry.field(description="Public projects, newest first, optionally searched.")
    async def projects(
        self,
        first: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
        search: str | None = None,
    ) -> Connection[Project]:
        return await connection(projects.public(search), Project.of, first, after)

    @strawberry.field(description="A project by its name, if you may see it.")
    async def project(self, info: Info, name: str) -> Project | None:
        row = await models.Project.get_or_none(name__key=name_key(name))
        return await visible_project(info, row.id) if row is not None else None

    @strawberry.field(description="The viewer's projects, newest first.")
    async def my_projects(
        self, info: Info, first: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Connection[Project]:
        viewer = info.context.require_viewer()
        query = models.Project.filter(
            memberships__account_id=viewer.id,
            memberships__state=MembershipState.ACTIVE,
        )
        return await connection(query, Project.of, first, after)


@strawberry.type
class ProjectMutation:
    @strawberry.mutation(description="Creates a project; you become its owner.")
    @user_errors
    async def create_project(
        self, info: Info, input: CreateProjectInput
    ) -> ProjectPayload:
        owner = info.context.require_kind(AccountKind.MEMBER)
        visibility = Visibility(input.visibility.value)
        sharing = _sharing(input.sharing)
        row = await projects.create(
            owner, input.name, input.summary, visibility, sharing, issuer(info)
        )
        return await project_payload(info, row.id)

    @strawberry.mutation
    @user_errors
    async def update_project(
        self, info: Info, input: UpdateProjectInput
    ) -> ProjectPayload:
        project_id = project_id_of(input.project_id)
        project, _ = await authorize(info, project_id, Operation.UPDATE_PROJECT)
        await projects.update(project, input.summary)
        return await project_payload(info, project_id)

    @strawberry.mutation(
        description="Asks to join a public project, or accepts an invitation; "
        "says what you share with its members."
    )
    @user_errors
    async def join_project(self, info: Info, input: JoinProjectInput) -> ProjectPayload:
        project_id = project_id_of(input.project_id)
        viewer = info.context.viewer
        # An invitation opens even a private project; anyone else asks to join,
        # which the project's rules allow or refuse like any other operation.
        invited = viewer is not None and await models.ProjectMember.exists(
            project_id=project_id, account_id=viewer.id, state=MembershipState.INVITED
        )
        sharing = _sharing(input.sharing)
        if invited:
            project = await models.Project.get(id=project_id)
            member = info.context.require_kind(AccountKind.MEMBER)
            await projects.accept_invitation(project, member, sharing, issuer(info))
        else:
            project, _ = await authorize(info, project_id, Operation.REQUEST_TO_JOIN)
            member = info.context.require_kind(AccountKind.MEMBER)
            await projects.request_to_join(project, member, sharing, issuer(info))
        return await project_payload(info, project_id)

    @strawberry.mutation
    @user_errors
    async def invite_to_project(
        self, info: Info, input: ProjectMemberInput
    ) -> ProjectPayload:
        project_id = project_id_of(input.project_id)
        project, _ = await authorize(info, project_id, Operation.INVITE)
        await projects.invite(project, member_id_of(input.member_id), issuer(info))
        return await project_payload(info, project_id)

    @strawberry.mutation
    @user_errors
    async def decide_join_request(
        self, info: Info, input: DecideJoinRequestInput
    ) -> ProjectPayload:
        project_id = project_id_of(input.project_id)
        project, _ = await authorize(info, project_id, Operation.DECIDE_REQUEST)
        await projects.decide_request(
            project, member_id_of(input.member_id), input.approve, issuer(info)
        )
        return await project_payload(info, project_id)

    @strawberry.mutation
    @user_errors
    async def leave_project(self, info: Info, input: ProjectInput) -> ProjectPayload:
        project_id = project_id_of(input.project_id)
        project, _ = await authorize(info, project_id, Operation.LEAVE)
        await projects.leave(project, info.context.require_viewer())
        return await project_payload(info, project_id)

    @strawberry.mutation
    @user_errors
    async def remove_project_member(
        self, info: Info, input: ProjectMemberInput
    ) -> ProjectPayload:
        project_id = project_id_of(input.project_id)
        project, actor = await authorize(info, project_id, Operation.REMOVE_MEMBER)
        await projects.remove_member(project, actor, member_id_of(input.member_id))
        return await project_payload(info, project_id)

    @strawberry.mutation
    @user_errors
    async def set_project_role(
        self, info: Info, input: SetProjectRoleInput
    ) -> ProjectPayload:
        project_id = project_id_of(input.project_id)
        project, _ = await authorize(info, project_id, Operation.SET_ROLE)
        role = models.ProjectRole(input.role.value)
        await projects.set_role(project, member_id_of(input.member_id), role)
        return await project_payload(info, project_id)

    @strawberry.mutation(description="Changes what you share with a project.")
    @user_errors
    async def set_project_sharing(
        self, info: Info, input: JoinProjectInput
    ) -> ProjectPayload:
        project_id = project_id_of(input.project_id)
        project, _ = await authorize(info, project_id, Operation.SET_SHARING)
        member = info.context.require_viewer()
        await projects.set_sharing(
            project, member, _sharing(input.sharing), issuer(info)
        )
        return await project_payload(info, project_id)


async def _concerned(
    model: type[ContentRow], row_id: int | None, convert: Callable[[ContentRow], T]
) -> T | None:
    """What an event names, if it still exists (the subscriber is a member)."""
    if row_id is None:
        return None
    row = await model.get_or_none(id=row_id)
    return convert(row) if row is not None else None


@strawberry.type(description="Something that happened in a project.")
class ProjectActivity:
    kind: str
    occurred_at: datetime
    payload: JSON
    message_id: strawberry.Private[int | None]
    poll_id: strawberry.Private[int | None]
    pool_id: strawberry.Private[int | None]

    @strawberry.field(description="The message concerned, for message events.")
    async def message(self) -> Message | None:
        return await _concerned(models.Message, self.message_id, Message.of)

    @strawberry.field(description="The poll concerned, for poll events.")
    async def poll(self) -> Poll | None:
        return await _concerned(models.Poll, self.poll_id, Poll.of)

    @strawberry.field(description="The pool concerned, for pool events.")
    async def pool(self) -> Pool | None:
        return await _concerned(models.Pool, self.pool_id, Pool.of)

    @classmethod
    def of(cls, event: dict[str, Any]) -> ProjectActivity:
        payload = event["payload"]
        return cls(
            kind=event["kind"],
            occurred_at=datetime.fromisoformat(event["at"]),
            payload=payload,
            message_id=payload.get("message"),
            poll_id=payload.get("poll"),
            pool_id=payload.get("pool"),
        )


@strawberry.type
class ProjectSubscription:
    @strawberry.subscription(
        description="New messages, poll and pool changes, for the project's members."
    )
    async def project_activity(
        self, info: Info, project_id: relay.GlobalID
    ) -> AsyncGenerator[ProjectActivity, None]:
        row_id_ = project_id_of(project_id)
        await authorize(info, row_id_, Operation.FOLLOW_ACTIVITY)
        async for event in bus().listen(project_channel(row_id_)):
            # Standing is read again for each event: a member who left or was
            # removed stops receiving at once.
            forget_access(info, row_id_)
            await authorize(info, row_id_, Operation.FOLLOW_ACTIVITY)
            yield ProjectActivity.of(event)
