"""Batched consent reads against the database: values, projects, the access log."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from myco_graph.domain import consent, profile
from myco_graph.domain.consent import Read, Reason, Viewer, read_values
from myco_graph.domain.models import (
    AccessLogEntry,
    Account,
    AccountKind,
    Audience,
    ConsentGrant,
    MembershipState,
    ProjectMember,
    ProjectRole,
    Purpose,
)
from tests.consent_support import give, make_account, make_project, viewer_of

pytestmark = pytest.mark.usefixtures("server")

GENRES = "music.favoriteGenres"
CITY = "location.city"
COLLABORATION = Purpose.PROJECT_COLLABORATION


async def log_rows(subject: Account) -> list[tuple[str, list[str], list[int], int]]:
    rows = await AccessLogEntry.filter(subject_id=subject.id).order_by("id")
    return [
        (row.viewer_key, sorted(row.field_keys), sorted(row.grant_ids), row.reads)
        for row in rows
    ]


async def test_allowed_read_returns_the_value_and_denied_read_its_reason() -> None:
    alice = await make_account("alice")
    bob = await make_account("bob")
    await profile.set_values(alice, {GENRES: ["jazz"], CITY: "Lyon"})
    grant_id = await give(alice, [GENRES])

    genres, city = await read_values(
        viewer_of(bob),
        [
            Read(alice.id, GENRES, Purpose.DISPLAY),
            Read(alice.id, CITY, Purpose.DISPLAY),
        ],
    )

    assert (genres.decision.grant_id, genres.value) == (grant_id, ["jazz"])
    assert (city.decision.reason, city.value) == (Reason.NOT_SHARED, None)


async def test_a_failed_grant_read_fails_the_reads_and_leaves_nothing_running(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The values load beside the grants: it must be over when the error leaves.
    alice = await make_account("alice")
    bob = await make_account("bob")
    await profile.set_values(alice, {GENRES: ["jazz"]})
    await give(alice, [GENRES])

    async def unreadable(subjects: object) -> dict[int, consent.MemberGrants]:
        await asyncio.sleep(0)
        raise ConnectionError("the database went away")

    monkeypatch.setattr(consent, "_coverages_of", unreadable)

    with pytest.raises(ConnectionError):
        await read_values(viewer_of(bob), [Read(alice.id, GENRES, Purpose.DISPLAY)])

    loading = [
        task
        for task in asyncio.all_tasks()
        if "_load_values" in repr(task.get_coro()) and not task.done()
    ]
    assert loading == []
    assert await log_rows(alice) == []


async def test_a_grant_read_before_expires_on_time_for_later_reads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Parsed grants are kept while they stay the same; expiry is not a
    # change to them, so each read must still weigh it against its own time.
    alice = await make_account("alice")
    bob = await make_account("bob")
    await profile.set_values(alice, {GENRES: ["jazz"]})
    expiry = datetime.now(UTC) + timedelta(hours=1)
    await give(alice, [GENRES], expires_at=expiry)
    read = Read(alice.id, GENRES, Purpose.DISPLAY)

    [before] = await read_values(viewer_of(bob), [read])
    monkeypatch.setattr(consent, "now", lambda: expiry + timedelta(seconds=1))
    [after] = await read_values(viewer_of(bob), [read])

    assert before.value == ["jazz"]
    assert (after.decision.reason, after.value) == (Reason.EXPIRED, None)


async def test_project_grant_reaches_active_project_members_within_it() -> None:
    alice = await make_account("alice")
    bob = await make_account("bob")
    project = await make_project("choir", alice, bob)
    await profile.set_values(alice, {GENRES: ["folk"]})
    await give(alice, [GENRES], Audience.PROJECT, project.id, COLLABORATION)

    [outcome] = await read_values(
        viewer_of(bob), [Read(alice.id, GENRES, COLLABORATION, project.id)]
    )

    assert outcome.value == ["folk"]


async def test_project_grant_stays_out_of_reads_outside_the_project() -> None:
    alice = await make_account("alice")
    bob = await make_account("bob")
    project = await make_project("choir", alice, bob)
    other = await make_project("band", alice, bob)
    await profile.set_values(alice, {GENRES: ["folk"]})
    await give(alice, [GENRES], Audience.PROJECT, project.id, COLLABORATION)

    outcomes = await read_values(
        viewer_of(bob),
        [
            Read(alice.id, GENRES, COLLABORATION),
            Read(alice.id, GENRES, COLLABORATION, other.id),
        ],
    )

    assert [outcome.decision.reason for outcome in outcomes] == [
        Reason.NOT_SHARED,
        Reason.NOT_SHARED,
    ]


async def test_project_grant_excludes_outsiders_and_invitees() -> None:
    alice = await make_account("alice")
    carol = await make_account("carol")
    dave = await make_account("dave")
    project = await make_project("choir", alice)
    await ProjectMember.create(
        project=project,
        account=dave,
        role=ProjectRole.MEMBER,
        state=MembershipState.INVITED,
    )
    await profile.set_values(alice, {GENRES: ["folk"]})
    await give(alice, [GENRES], Audience.PROJECT, project.id, COLLABORATION)
    within = Read(alice.id, GENRES, COLLABORATION, project.id)

    [for_carol] = await read_values(viewer_of(carol), [within])
    [for_dave] = await read_values(viewer_of(dave), [within])

    assert for_carol.decision.reason is Reason.NOT_SHARED
    assert for_dave.decision.reason is Reason.NOT_SHARED


async def test_repeated_reads_fold_into_one_log_row() -> None:
    alice = await make_account("alice")
    bob = await make_account("bob")
    grant_id = await give(alice, [GENRES, CITY])
    reads = [
        Read(alice.id, GENRES, Purpose.DISPLAY),
        Read(alice.id, CITY, Purpose.DISPLAY),
    ]

    await read_values(viewer_of(bob), reads)
    await read_values(viewer_of(bob), reads)

    assert await log_rows(alice) == [
        (f"account:{bob.id}", [CITY, GENRES], [grant_id], 4)
    ]


async def test_later_reads_merge_their_fields_and_grants_into_the_row() -> None:
    alice = await make_account("alice")
    bob = await make_account("bob")
    first = await give(alice, [GENRES])
    second = await give(alice, [CITY])

    await read_values(viewer_of(bob), [Read(alice.id, GENRES, Purpose.DISPLAY)])
    await read_values(viewer_of(bob), [Read(alice.id, CITY, Purpose.DISPLAY)])

    assert await log_rows(alice) == [
        (f"account:{bob.id}", [CITY, GENRES], sorted([first, second]), 2)
    ]


async def test_each_viewer_and_purpose_gets_its_own_row() -> None:
    alice = await make_account("alice")
    bob = await make_account("bob")
    display = await give(alice, [GENRES], Audience.PUBLIC)
    research = await give(alice, [GENRES], Audience.PUBLIC, purpose=Purpose.RESEARCH)

    await read_values(viewer_of(bob), [Read(alice.id, GENRES, Purpose.DISPLAY)])
    await read_values(viewer_of(bob), [Read(alice.id, GENRES, Purpose.RESEARCH)])
    await read_values(Viewer.anonymous(), [Read(alice.id, GENRES, Purpose.DISPLAY)])

    assert await log_rows(alice) == [
        (f"account:{bob.id}", [GENRES], [display], 1),
        (f"account:{bob.id}", [GENRES], [research], 1),
        ("anonymous", [GENRES], [display], 1),
    ]


async def test_own_reads_and_denied_reads_are_not_logged() -> None:
    alice = await make_account("alice")
    brand = await make_account("acme", AccountKind.BRAND)
    await profile.set_values(alice, {GENRES: ["pop"]})
    await give(alice, [GENRES])

    await read_values(viewer_of(alice), [Read(alice.id, GENRES, Purpose.DISPLAY)])
    await read_values(viewer_of(brand), [Read(alice.id, GENRES, Purpose.DISPLAY)])

    assert await log_rows(alice) == []


async def test_a_special_field_needs_an_explicit_grant_even_beside_ordinary_ones() -> (
    None
):
    # A grant the API would refuse (not explicit, yet covering a special
    # category), written straight to the table: the decision must still hold.
    alice = await make_account("alice")
    bob = await make_account("bob")
    smoker = "health.smoker"
    await profile.set_values(alice, {CITY: "Lyon", smoker: False})
    await ConsentGrant.create(
        subject_id=alice.id,
        field_keys=[CITY, smoker],
        audience=Audience.COOP,
        purpose=Purpose.DISPLAY,
        explicit=False,
        created_at=datetime.now(UTC),
        receipt={},
        receipt_jws="",
    )

    city, health = await read_values(
        viewer_of(bob),
        [
            Read(alice.id, CITY, Purpose.DISPLAY),
            Read(alice.id, smoker, Purpose.DISPLAY),
        ],
    )

    assert city.value == "Lyon"
    assert (health.decision.reason, health.value) == (Reason.EXPLICIT_REQUIRED, None)
