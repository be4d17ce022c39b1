"""Projects: who may do what, and how members come and go.

Every project operation names an :class:`Operation`; :data:`RULES` says which
kinds of actor may perform it, and :func:`authorize` is the one place that
checks it. A private project does not exist for anyone outside it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from enum import StrEnum

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from myco_graph.domain import catalogue, events, grants, names
from myco_graph.domain.accounts import now
from myco_graph.domain.models import (
    Account,
    AccountKind,
    Audience,
    ConsentGrant,
    Event,
    MembershipState,
    Project,
    ProjectMember,
    ProjectRole,
    Purpose,
    Visibility,
)
from myco_graph.errors import BadUserInput, Forbidden, NotFound
from myco_graph.infrastructure import sql
from myco_graph.infrastructure.sql import Statement, fetch

SUMMARY_MAX = 2_000


class Actor(StrEnum):
    """How the caller stands towards a project."""

    ANONYMOUS = "anonymous"
    OUTSIDER = "outsider"
    MEMBER = "member"
    ADMIN = "admin"
    OWNER = "owner"


class Operation(StrEnum):
    VIEW = "view"
    READ_CONTENT = "read_content"
    LIST_MEMBERS = "list_members"
    FOLLOW_ACTIVITY = "follow_activity"
    REQUEST_TO_JOIN = "request_to_join"
    LEAVE = "leave"
    SET_SHARING = "set_sharing"
    POST_MESSAGE = "post_message"
    REMOVE_MESSAGE = "remove_message"
    CREATE_POLL = "create_poll"
    VOTE = "vote"
    CREATE_POOL = "create_pool"
    CONTRIBUTE = "contribute"
    CLOSE_POOL = "close_pool"
    UPLOAD_FILE = "upload_file"
    INVITE = "invite"
    DECIDE_REQUEST = "decide_request"
    REMOVE_MEMBER = "remove_member"
    UPDATE_PROJECT = "update_project"
    SET_ROLE = "set_role"


EVERYONE = frozenset(Actor)
SIGNED_IN = frozenset(Actor) - {Actor.ANONYMOUS}
MEMBERS = frozenset({Actor.MEMBER, Actor.ADMIN, Actor.OWNER})
STAFF = frozenset({Actor.ADMIN, Actor.OWNER})

# Who may do what in a public project. In a private project, everything
# also needs membership; outsiders do not even learn that it exists.
RULES: dict[Operation, frozenset[Actor]] = {
    Operation.VIEW: EVERYONE,
    Operation.READ_CONTENT: EVERYONE,
    Operation.LIST_MEMBERS: MEMBERS,
    Operation.FOLLOW_ACTIVITY: MEMBERS,
    Operation.REQUEST_TO_JOIN: frozenset({Actor.OUTSIDER}),
    Operation.LEAVE: frozenset({Actor.MEMBER, Actor.ADMIN}),
    Operation.SET_SHARING: MEMBERS,
    Operation.POST_MESSAGE: MEMBERS,
    Operation.REMOVE_MESSAGE: STAFF,
    Operation.CREATE_POLL: MEMBERS,
    Operation.VOTE: MEMBERS,
    Operation.CREATE_POOL: STAFF,
    Operation.CONTRIBUTE: MEMBERS,
    Operation.CLOSE_POOL: STAFF,
    Operation.UPLOAD_FILE: MEMBERS,
    Operation.INVITE: STAFF,
    Operation.DECIDE_REQUEST: STAFF,
    Operation.REMOVE_MEMBER: STAFF,
    Operation.UPDATE_PROJECT: STAFF,
    Operation.SET_ROLE: frozenset({Actor.OWNER}),
}

ROLE_ACTORS = {
    ProjectRole.MEMBER: Actor.MEMBER,
    ProjectRole.ADMIN: Actor.ADMIN,
    ProjectRole.OWNER: Actor.OWNER,
}


def allowed(operation: Operation, actor: Actor, visibility: Visibility) -> bool:
    """The rule itself, without any database."""
    if visibility is Visibility.PRIVATE and actor not in MEMBERS:
        return False
    return actor in RULES[operation]


# Read on every page of a project, so written by hand.
ACTIVE_MEMBERS = Statement("""
SELECT count(*) FROM project_members WHERE project_id = $1 AND state = $2
""")


@functools.cache
def _project_and_role() -> Statement:
    """A project with the role of one account in it, if active.

    Made on first use: the models know their relations' columns only once
    the ORM has started.
    """
    return Statement(f"""
SELECT {sql.columns(Project, "p")}, m.role
FROM projects p LEFT JOIN project_members m
    ON m.project_id = p.id AND m.account_id = $2 AND m.state = $3
WHERE p.id = $1
""")  # noqa: S608


async def standing(
    project_id: int, account: Account | None
) -> tuple[Project, Actor] | None:
    """The project and how ``account`` stands in it, in one statement."""
    active = MembershipState.ACTIVE.value
    account_id = account.id if account is not None else None
    rows = await fetch(_project_and_role(), project_id, account_id, active)
    if not rows:
        return None
    project = sql.model_from(Project, rows[0])
    role = rows[0][sql.width(Project)]
    if account is None:
        return project, Actor.ANONYMOUS
    return project, ROLE_ACTORS[ProjectRole(role)] if role else Actor.OUTSIDER


def public(search: str | None = None) -> QuerySet[Project]:
    """Public projects, those whose name or summary holds ``search`` if given.

    The match ignores case; on PostgreSQL, trigram indexes serve it (see
    migration 0008).
    """
    query = Project.filter(visibility=Visibility.PUBLIC)
    term = (search or "").strip()
    if term:
        query = query.filter(Q(handle__icontains=term) | Q(summary__icontains=term))
    return query


async def member_count(project_id: int) -> int:
    """How many members a project has."""
    rows = await fetch(ACTIVE_MEMBERS, project_id, MembershipState.ACTIVE.value)
    return int(rows[0][0])


def check(project: Project, actor: Actor, operation: Operation) -> None:
    """Refuses what the rules refuse: a private project does not exist outside it."""
    if project.visibility is Visibility.PRIVATE and actor not in MEMBERS:
        raise NotFound("No such project.")
    if not allowed(operation, actor, project.visibility):
        if actor is Actor.ANONYMOUS:
            raise Forbidden("Sign in to do this in a project.")
        raise Forbidden(f"A project {actor.value} cannot do this.")


async def authorize(
    project_id: int, account: Account | None, operation: Operation
) -> tuple[Project, Actor]:
    """The project and the caller's standing, if the caller may do ``operation``."""
    found = await standing(project_id, account)
    if found is None:
        raise NotFound("No such project.")
    project, actor = found
    check(project, actor, operation)
    return project, actor


@dataclass(frozen=True)
class Sharing:
    """The fields a member shares with the members of a project."""

    field_keys: list[str]
    explicit: bool = False

    def checked(self) -> Sharing:
        keys = sorted({catalogue.lookup(key).key for key in self.field_keys})
        special = any(catalogue.FIELDS[key].special for key in keys)
        if special and not self.explicit:
            raise BadUserInput(
                "Special-category fields need an explicit grant (explicit: true).",
                field="sharing.explicit",
            )
        return Sharing(keys, self.explicit)


async def create(
    owner: Account,
    name: str,
    summary: str,
    visibility: Visibility,
    sharing: Sharing,
    issuer: grants.Issuer,
) -> Project:
    """Creates a project; its creator becomes its owner."""
    if owner.kind is not AccountKind.MEMBER:
        raise Forbidden("Only members create projects.")
    summary = _summary(summary)
    sharing = sharing.checked()
    async with in_transaction() as conn:
        claimed = await names.claim(conn, name, field="name")
        project = await Project.create(
            name=claimed,
            handle=name,
            summary=summary,
            visibility=visibility,
            created_by=owner,
            using_db=conn,
        )
        membership = await ProjectMember.create(
            project=project,
            account=owner,
            role=ProjectRole.OWNER,
            state=MembershipState.ACTIVE,
            sharing=sharing.field_keys,
            sharing_explicit=sharing.explicit,
            using_db=conn,
        )
        granted = await _grant_sharing(conn, project, owner, membership, issuer)
        event = await events.record(
            conn, "project.created", account_id=owner.id, project_id=project.id
        )
    for announced in [*granted, event]:
        await events.announce(announced)
    return project


def _summary(summary: str) -> str:
    summary = summary.strip()
    if len(summary) > SUMMARY_MAX:
        raise BadUserInput(
            f"A summary has at most {SUMMARY_MAX} characters.", field="summary"
        )
    return summary


async def update(project: Project, summary: str) -> Project:
    project.summary = _summary(summary)
    await project.save(update_fields=["summary"])
    return project


async def _grant_sharing(
    conn: BaseDBAsyncClient,
    project: Project,
    member: Account,
    row: ProjectMember,
    issuer: grants.Issuer,
) -> list[Event]:
    """Turns the membership's sharing choice into a project grant."""
    await _withdraw_sharing(conn, project.id, member.id)
    if not row.sharing:
        return []
    request = grants.GrantRequest(
        field_keys=row.sharing,
        audience=Audience.PROJECT,
        audience_id=project.id,
        purpose=Purpose.PROJECT_COLLABORATION,
        expires_at=None,
        explicit=row.sharing_explicit,
    )
    _, event = await grants.grant_within(conn, member, request, issuer)
    return [event]


async def _withdraw_sharing(
    conn: BaseDBAsyncClient, project_id: int, member_id: int
) -> None:
    await (
        ConsentGrant.filter(
            subject_id=member_id,
            audience=Audience.PROJECT,
            audience_id=project_id,
            purpose=Purpose.PROJECT_COLLABORATION,
            withdrawn_at__isnull=True,
        )
        .using_db(conn)
        .update(withdrawn_at=now())
    )


async def set_sharing(
    project: Project, member: Account, sharing: Sharing, issuer: grants.Issuer
) -> None:
    """Changes what a member shares with the project: the old grant is withdrawn."""
    sharing = sharing.checked()
    async with in_transaction() as conn:
        row = await ProjectMember.get(
            project_id=project.id,
            account_id=member.id,
            state=MembershipState.ACTIVE,
            using_db=conn,
        )
        row.sharing, row.sharing_explicit = sharing.field_keys, sharing.explicit
        await row.save(update_fields=["sharing", "sharing_explicit"], using_db=conn)
        granted = await _grant_sharing(conn, project, member, row, issuer)
    for event in granted:
        await events.announce(event)


async def request_to_join(
    project: Project, member: Account, sharing: Sharing, issuer: grants.Issuer
) -> None:
    """Asks to join a public project; staff approve or refuse."""
    if member.kind is not AccountKind.MEMBER:
        raise Forbidden("Only members join projects.")
    sharing = sharing.checked()
    existing = await ProjectMember.get_or_none(
        project_id=project.id, account_id=member.id
    )
    if existing is not None and existing.state is MembershipState.INVITED:
        await accept_invitation(project, member, sharing, issuer)
        return
    if existing is not None:
        raise BadUserInput("You already asked to join.", field="projectId")
    await ProjectMember.create(
        project=project,
        account=member,
        role=ProjectRole.MEMBER,
        state=MembershipState.REQUESTED,
        sharing=sharing.field_keys,
        sharing_explicit=sharing.explicit,
    )


async def invite(project: Project, invitee_id: int, issuer: grants.Issuer) -> None:
    """Invites a member; one who had asked to join is let in at once."""
    invitee = await Account.get_or_none(id=invitee_id, kind=AccountKind.MEMBER)
    if invitee is None:
        raise BadUserInput("No such member.", field="memberId")
    existing = await ProjectMember.get_or_none(
        project_id=project.id, account_id=invitee.id
    )
    if existing is not None and existing.state is not MembershipState.REQUESTED:
        raise BadUserInput("This member is already invited or in.", field="memberId")
    if existing is not None:
        await _activate(project, invitee, existing, issuer)
        return
    await ProjectMember.create(
        project=project,
        account=invitee,
        role=ProjectRole.MEMBER,
        state=MembershipState.INVITED,
    )


async def accept_invitation(
    project: Project, member: Account, sharing: Sharing, issuer: grants.Issuer
) -> None:
    row = await ProjectMember.get_or_none(
        project_id=project.id, account_id=member.id, state=MembershipState.INVITED
    )
    if row is None:
        raise NotFound("No invitation to this project.")
    sharing = sharing.checked()
    row.sharing, row.sharing_explicit = sharing.field_keys, sharing.explicit
    await _activate(project, member, row, issuer)


async def decline_invitation(project_id: int, member: Account) -> None:
    """The invited member says no: the invitation is gone, nothing else."""
    await _drop_pending(project_id, member.id, MembershipState.INVITED)


async def cancel_request(project_id: int, member: Account) -> None:
    """The member takes back a request to join that staff have not decided."""
    await _drop_pending(project_id, member.id, MembershipState.REQUESTED)


async def _drop_pending(
    project_id: int, member_id: int, state: MembershipState
) -> None:
    # The same answer whether the project exists or not: a private project
    # stays unknown to anyone it did not invite.
    dropped = await ProjectMember.filter(
        project_id=project_id, account_id=member_id, state=state
    ).delete()
    if not dropped:
        what = "invitation to" if state is MembershipState.INVITED else "request for"
        raise NotFound(f"No pending {what} this project.")


async def decide_request(
    project: Project, member_id: int, approve: bool, issuer: grants.Issuer
) -> None:
    row = await ProjectMember.get_or_none(
        project_id=project.id, account_id=member_id, state=MembershipState.REQUESTED
    ).select_related("account")
    if row is None:
        raise NotFound("No such request to join.")
    if approve:
        await _activate(project, row.account, row, issuer)
    else:
        await row.delete()


async def _activate(
    project: Project, member: Account, row: ProjectMember, issuer: grants.Issuer
) -> None:
    async with in_transaction() as conn:
        row.state = MembershipState.ACTIVE
        await row.save(
            update_fields=["state", "sharing", "sharing_explicit"], using_db=conn
        )
        granted = await _grant_sharing(conn, project, member, row, issuer)
        event = await events.record(
            conn,
            "member.joined",
            account_id=member.id,
            project_id=project.id,
            payload={"member": member.id},
        )
    for announced in [*granted, event]:
        await events.announce(announced)


async def leave(project: Project, member: Account) -> None:
    await _remove(project, member.id, kind="member.left")


async def remove_member(project: Project, actor: Actor, member_id: int) -> None:
    """Removes a member; for an invitation or a request, takes it back."""
    row = await ProjectMember.get_or_none(project_id=project.id, account_id=member_id)
    if row is None:
        raise NotFound("No such member in this project.")
    if row.state is not MembershipState.ACTIVE:
        # Nobody left: the project's members are not told of it.
        await row.delete()
        return
    if row.role is ProjectRole.OWNER or (
        row.role is ProjectRole.ADMIN and actor is not Actor.OWNER
    ):
        raise Forbidden("Only the owner removes admins, and nobody removes the owner.")
    await _remove(project, member_id, kind="member.removed")


async def _remove(project: Project, member_id: int, *, kind: str) -> None:
    async with in_transaction() as conn:
        await (
            ProjectMember.filter(project_id=project.id, account_id=member_id)
            .using_db(conn)
            .delete()
        )
        await _withdraw_sharing(conn, project.id, member_id)
        event = await events.record(
            conn,
            kind,
            account_id=member_id,
            project_id=project.id,
            payload={"member": member_id},
        )
    await events.announce(event)


async def set_role(project: Project, member_id: int, role: ProjectRole) -> None:
    if role is ProjectRole.OWNER:
        raise BadUserInput("A project has one owner.", field="role")
    row = await ProjectMember.get_or_none(
        project_id=project.id, account_id=member_id, state=MembershipState.ACTIVE
    )
    if row is None or row.role is ProjectRole.OWNER:
        raise NotFound("No such member in this project.")
    row.role = role
    await row.save(update_fields=["role"])
