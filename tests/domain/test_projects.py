"""Projects in the domain: names, membership flows, sharing as project grants."""

from __future__ import annotations

import contextlib

import pytest
from tortoise.transactions import in_transaction

from myco_graph.domain import grants, profile, projects
from myco_graph.domain.consent import Read, Reason, Viewer, read_values
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
from myco_graph.domain.projects import Actor, Operation, Sharing
from myco_graph.errors import BadUserInput, Forbidden, NotFound
from myco_graph.infrastructure.config import Settings
from tests.helpers import row_counts
from tests.project_support import make_account

pytestmark = pytest.mark.usefixtures("server")

ISSUER = grants.Issuer("http://coop.test", "coop.test")
CITY, COUNTRY, LEANING = "location.city", "location.country", "politics.leaning"
NOTHING = Sharing([])


async def new_project(
    owner: Account, visibility: Visibility = Visibility.PUBLIC, name: str = "Garden"
) -> Project:
    return await projects.create(owner, name, "", visibility, NOTHING, ISSUER)


async def joined(project: Project, member: Account, *keys: str) -> None:
    """Invited, then in, sharing ``keys`` with the project."""
    await projects.invite(project, member.id, ISSUER)
    await projects.accept_invitation(project, member, Sharing(list(keys)), ISSUER)


async def membership(project: Project, member: Account) -> ProjectMember | None:
    return await ProjectMember.get_or_none(project_id=project.id, account_id=member.id)


async def project_grants(member: Account) -> list[ConsentGrant]:
    return await ConsentGrant.filter(
        subject_id=member.id, audience=Audience.PROJECT
    ).order_by("id")


async def city_as_seen_by(reader: Account, subject: Account, project: Project) -> str:
    """The subject's city read by ``reader`` within the project, or why not."""
    viewer = Viewer(account_id=reader.id, kind=reader.kind)
    read = Read(subject.id, CITY, Purpose.PROJECT_COLLABORATION, project.id)
    [outcome] = await read_values(viewer, [read])
    reason = outcome.decision.reason
    return reason.value if reason is not None else outcome.value


# The rule -----------------------------------------------------------------------


@pytest.mark.parametrize("operation", list(Operation))
def test_private_project_allows_nothing_to_anyone_outside(operation: Operation) -> None:
    outside = [Actor.ANONYMOUS, Actor.OUTSIDER]

    answers = [projects.allowed(operation, a, Visibility.PRIVATE) for a in outside]

    assert answers == [False, False]


async def test_authorize_hides_a_private_project_and_refuses_in_a_public_one() -> None:
    olga, mallory = await make_account("olga"), await make_account("mallory")
    public = await new_project(olga)
    private = await new_project(olga, Visibility.PRIVATE, name="Cellar")

    with pytest.raises(NotFound):
        await projects.authorize(private.id, mallory, Operation.VIEW)
    with pytest.raises(Forbidden):
        await projects.authorize(public.id, mallory, Operation.POST_MESSAGE)
    _, actor = await projects.authorize(private.id, olga, Operation.SET_ROLE)

    assert actor is Actor.OWNER


# Creating -----------------------------------------------------------------------


async def test_creator_owns_the_project_and_shares_through_a_project_grant() -> None:
    olga = await make_account("olga")

    project = await projects.create(
        olga, "Garden", " Seeds ", Visibility.PUBLIC, Sharing([CITY, CITY]), ISSUER
    )

    row = await membership(project, olga)
    assert row is not None
    assert (row.role, row.state, row.sharing) == (
        ProjectRole.OWNER,
        MembershipState.ACTIVE,
        [CITY],
    )
    [grant] = await project_grants(olga)
    assert (grant.audience_id, grant.purpose, grant.field_keys) == (
        project.id,
        Purpose.PROJECT_COLLABORATION,
        [CITY],
    )
    assert grant.receipt_jws and grant.receipt["recipients"]["id"] == str(project.id)
    assert (project.handle, project.summary) == ("Garden", "Seeds")
    kinds = await Event.all().order_by("id").values_list("kind", flat=True)
    assert kinds == ["consent.granted", "project.created"]


async def test_name_taken_in_another_case_leaves_nothing_behind() -> None:
    await make_account("garden")
    olga = await make_account("olga")
    before = await row_counts()

    with pytest.raises(BadUserInput) as refused:
        await projects.create(
            olga, "GARDEN", "", Visibility.PUBLIC, Sharing([CITY]), ISSUER
        )

    assert refused.value.field == "name"
    assert await row_counts() == before


async def test_only_members_create_projects() -> None:
    brand = await make_account("acme")
    brand.kind = AccountKind.BRAND
    await brand.save(update_fields=["kind"])

    with pytest.raises(Forbidden):
        await new_project(brand)


async def test_summary_is_trimmed_and_bounded() -> None:
    project = await new_project(await make_account("olga"))

    await projects.update(project, "  Seeds  ")
    with pytest.raises(BadUserInput) as refused:
        await projects.update(project, "x" * 2_001)

    assert refused.value.field == "summary"
    assert (await Project.get(id=project.id)).summary == "Seeds"


# Sharing ------------------------------------------------------------------------


def test_sharing_is_sorted_without_repeats() -> None:
    checked = Sharing([COUNTRY, CITY, COUNTRY]).checked()

    assert checked == Sharing([CITY, COUNTRY])


def test_unknown_field_cannot_be_shared() -> None:
    with pytest.raises(BadUserInput):
        Sharing(["location.street"]).checked()


def test_special_field_needs_explicit_sharing() -> None:
    with pytest.raises(BadUserInput) as refused:
        Sharing([LEANING]).checked()

    assert refused.value.field == "sharing.explicit"
    assert Sharing([LEANING], explicit=True).checked().explicit


async def test_new_sharing_withdraws_the_old_grant() -> None:
    olga, alice = await make_account("olga"), await make_account("alice")
    project = await new_project(olga)
    await joined(project, alice, CITY)

    await projects.set_sharing(project, alice, Sharing([COUNTRY]), ISSUER)

    old, new = await project_grants(alice)
    assert (old.field_keys, old.withdrawn_at is not None) == ([CITY], True)
    assert (new.field_keys, new.withdrawn_at) == ([COUNTRY], None)


async def test_sharing_nothing_withdraws_everything_and_grants_nothing() -> None:
    olga, alice = await make_account("olga"), await make_account("alice")
    project = await new_project(olga)
    await joined(project, alice, CITY)

    await projects.set_sharing(project, alice, NOTHING, ISSUER)

    [old] = await project_grants(alice)
    assert old.withdrawn_at is not None


# Coming in ----------------------------------------------------------------------


async def test_asking_to_join_when_invited_accepts_the_invitation() -> None:
    olga, alice = await make_account("olga"), await make_account("alice")
    project = await new_project(olga)
    await projects.invite(project, alice.id, ISSUER)

    await projects.request_to_join(project, alice, Sharing([CITY]), ISSUER)

    row = await membership(project, alice)
    assert row is not None and row.state is MembershipState.ACTIVE
    assert [grant.field_keys for grant in await project_grants(alice)] == [[CITY]]


async def test_inviting_someone_who_asked_lets_them_in_at_once() -> None:
    olga, alice = await make_account("olga"), await make_account("alice")
    project = await new_project(olga)
    await projects.request_to_join(project, alice, Sharing([CITY]), ISSUER)
    asked = await project_grants(alice)

    await projects.invite(project, alice.id, ISSUER)

    row = await membership(project, alice)
    assert row is not None and row.state is MembershipState.ACTIVE
    assert asked == []
    assert [grant.field_keys for grant in await project_grants(alice)] == [[CITY]]


async def test_inviting_twice_or_inviting_a_brand_is_refused() -> None:
    olga, alice = await make_account("olga"), await make_account("alice")
    project = await new_project(olga)
    await projects.invite(project, alice.id, ISSUER)
    brand = await make_account("acme")
    await Account.filter(id=brand.id).update(kind=AccountKind.BRAND)

    with pytest.raises(BadUserInput):
        await projects.invite(project, alice.id, ISSUER)
    with pytest.raises(BadUserInput):
        await projects.invite(project, brand.id, ISSUER)


async def test_refused_request_is_forgotten() -> None:
    olga, alice = await make_account("olga"), await make_account("alice")
    project = await new_project(olga)
    await projects.request_to_join(project, alice, Sharing([CITY]), ISSUER)

    await projects.decide_request(project, alice.id, approve=False, issuer=ISSUER)

    assert await membership(project, alice) is None
    assert await project_grants(alice) == []


async def test_accepting_without_an_invitation_is_not_found() -> None:
    olga, alice = await make_account("olga"), await make_account("alice")
    project = await new_project(olga)

    with pytest.raises(NotFound):
        await projects.accept_invitation(project, alice, NOTHING, ISSUER)


# Going out ----------------------------------------------------------------------


async def test_leaving_withdraws_the_grant_on_the_very_next_read() -> None:
    olga, alice = await make_account("olga"), await make_account("alice")
    project = await new_project(olga)
    await joined(project, alice, CITY)
    await profile.set_values(alice, {CITY: "Lyon"})
    before = await city_as_seen_by(olga, alice, project)

    await projects.leave(project, alice)

    assert before == "Lyon"
    assert await city_as_seen_by(olga, alice, project) == Reason.WITHDRAWN.value
    assert await membership(project, alice) is None
    assert await Event.filter(kind="member.left", project_id=project.id).count() == 1


async def test_removal_withdraws_the_grant_on_the_very_next_read() -> None:
    olga, alice = await make_account("olga"), await make_account("alice")
    project = await new_project(olga)
    await joined(project, alice, CITY)
    await profile.set_values(alice, {CITY: "Lyon"})

    await projects.remove_member(project, Actor.OWNER, alice.id)

    assert await city_as_seen_by(olga, alice, project) == Reason.WITHDRAWN.value
    assert await Event.filter(kind="member.removed").count() == 1


async def test_removed_member_no_longer_reads_the_others() -> None:
    olga, alice = await make_account("olga"), await make_account("alice")
    project = await projects.create(
        olga, "Garden", "", Visibility.PUBLIC, Sharing([CITY]), ISSUER
    )
    await profile.set_values(olga, {CITY: "Paris"})
    await joined(project, alice)
    before = await city_as_seen_by(alice, olga, project)

    await projects.remove_member(project, Actor.ADMIN, alice.id)

    assert before == "Paris"
    assert await city_as_seen_by(alice, olga, project) == Reason.NOT_SHARED.value


async def test_nobody_removes_the_owner_and_only_the_owner_removes_admins() -> None:
    olga, adam, ada = [await make_account(h) for h in ("olga", "adam", "ada")]
    project = await new_project(olga)
    for admin in (adam, ada):
        await joined(project, admin)
        await projects.set_role(project, admin.id, ProjectRole.ADMIN)

    with pytest.raises(Forbidden):
        await projects.remove_member(project, Actor.ADMIN, olga.id)
    with pytest.raises(Forbidden):
        await projects.remove_member(project, Actor.OWNER, olga.id)
    with pytest.raises(Forbidden):
        await projects.remove_member(project, Actor.ADMIN, ada.id)
    await projects.remove_member(project, Actor.OWNER, ada.id)

    assert await membership(project, ada) is None
    assert await membership(project, adam) is not None


async def test_removing_someone_who_is_not_there_is_not_found() -> None:
    olga, alice = await make_account("olga"), await make_account("alice")
    project = await new_project(olga)

    with pytest.raises(NotFound):
        await projects.remove_member(project, Actor.OWNER, alice.id)


# Roles --------------------------------------------------------------------------


async def test_a_project_has_one_owner() -> None:
    olga, alice = await make_account("olga"), await make_account("alice")
    project = await new_project(olga)
    await joined(project, alice)

    with pytest.raises(BadUserInput) as refused:
        await projects.set_role(project, alice.id, ProjectRole.OWNER)
    with pytest.raises(NotFound):
        await projects.set_role(project, olga.id, ProjectRole.MEMBER)

    assert refused.value.field == "role"
    row = await membership(project, alice)
    assert row is not None and row.role is ProjectRole.MEMBER


async def test_invited_person_has_no_role_to_change_yet() -> None:
    olga, alice = await make_account("olga"), await make_account("alice")
    project = await new_project(olga)
    await projects.invite(project, alice.id, ISSUER)

    with pytest.raises(NotFound):
        await projects.set_role(project, alice.id, ProjectRole.ADMIN)


# Searching public projects --------------------------------------------------------


async def test_search_finds_public_projects_by_name_or_summary_ignoring_case() -> None:
    owner = await make_account("olga")
    seeds = await projects.create(
        owner, "Seeds", "", Visibility.PUBLIC, NOTHING, ISSUER
    )
    tools = await projects.create(
        owner, "Tools", "Lending SEEDLINGS", Visibility.PUBLIC, NOTHING, ISSUER
    )
    await projects.create(owner, "Seedbank", "", Visibility.PRIVATE, NOTHING, ISSUER)

    found = await projects.public("  seed ").order_by("id")
    everything = await projects.public("   ")

    assert [project.id for project in found] == [seeds.id, tools.id]
    assert {project.handle for project in everything} == {"Seeds", "Tools"}


class Rollback(Exception):
    """Undoes the transaction it leaves."""


# Enough public projects that scanning them all is no longer the cheap way.
MANY_PROJECTS = """
WITH made AS (
    INSERT INTO names (key, created_at)
    SELECT 'many-' || i, now() FROM generate_series(1, 20000) AS i
    RETURNING id, key
)
INSERT INTO projects (name_id, handle, summary, visibility, created_at)
SELECT id, key, 'About ' || md5(key), 'public', now() FROM made
"""


async def test_search_reads_the_trigram_indexes(settings: Settings) -> None:
    if not settings.uses_postgres:
        pytest.skip("the trigram indexes are PostgreSQL's; SQLite scans")
    sql = projects.public("seed").sql(params_inline=True)

    with contextlib.suppress(Rollback):
        async with in_transaction() as conn:
            await conn.execute_script(MANY_PROJECTS)
            # As autovacuum would: new rows move from GIN's pending list into
            # the index, and the planner learns the table's new size.
            await conn.execute_script(
                "SELECT gin_clean_pending_list('projects_handle_trgm'),"
                " gin_clean_pending_list('projects_summary_trgm'); ANALYZE projects"
            )
            _, rows = await conn.execute_query(f"EXPLAIN {sql}")
            raise Rollback

    # An index whose expression differs from the ORM's would be left unused.
    plan = "\n".join(row[0] for row in rows)
    assert "projects_handle_trgm" in plan and "projects_summary_trgm" in plan
