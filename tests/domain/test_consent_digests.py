"""Each member's grants kept as one document by the database, and kept parsed.

The consent decision trusts ``consent_digests`` instead of reading the
grants themselves: these tests hold it to every change a member's grants go
through, and the process, which keeps grants parsed by digest and the
decisions made under them, to reading each one afresh as it should.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from tortoise import connections
from tortoise.migrations.executor import MigrationTarget
from tortoise.transactions import in_transaction

from myco_graph.domain import consent, grants
from myco_graph.domain.consent import Read, Reason, Viewer, read_values
from myco_graph.domain.models import (
    Account,
    AccountKind,
    Audience,
    ConsentDigest,
    ConsentGrant,
    MembershipState,
    ProjectMember,
    ProjectRole,
    Purpose,
)
from myco_graph.domain.profile import set_values
from myco_graph.infrastructure import db
from myco_graph.infrastructure.config import Settings
from tests.consent_support import give, make_account, make_project, viewer_of
from tests.helpers import count_statements

pytestmark = pytest.mark.usefixtures("server")

GENRES = "music.favoriteGenres"
CITY = "location.city"


async def kept_row(member: Account) -> tuple[str, list[list[Any]]] | None:
    """The member's digest and document, or None when there is no row."""
    row = await ConsentDigest.filter(subject_id=member.id).first()
    return None if row is None else (row.digest, orjson.loads(row.grants))


async def test_the_document_follows_every_change_to_a_members_grants() -> None:
    alice = await make_account("alice")
    bob = await make_account("bob")
    assert await kept_row(alice) is None

    first = await give(alice, [GENRES])
    first_digest, document = await kept_row(alice) or ("", [])
    assert [(g[0], g[8]) for g in document] == [(first, None)]

    second = await give(alice, [CITY], purpose=Purpose.PROJECT_COLLABORATION)
    second_digest, document = await kept_row(alice) or ("", [])
    assert [g[0] for g in document] == [first, second]

    await grants.withdraw(alice, first)
    third_digest, document = await kept_row(alice) or ("", [])
    assert document[0][8] is not None and document[1][8] is None
    assert len({first_digest, second_digest, third_digest}) == 3

    await give(bob, [GENRES])
    assert (await kept_row(alice) or ("",))[0] == third_digest

    # Erasure takes the grants with the account, and their document with them.
    await Account.filter(id=alice.id).delete()
    assert await kept_row(alice) is None
    assert await kept_row(bob) is not None


async def test_the_document_reads_as_the_grants_stored() -> None:
    alice = await make_account("alice")
    expiry = datetime.now(UTC) + timedelta(days=3)
    await give(alice, [GENRES, CITY], expires_at=expiry)
    withdrawn = await give(alice, [CITY], purpose=Purpose.RESEARCH)
    await grants.withdraw(alice, withdrawn)

    row = await ConsentDigest.get(subject_id=alice.id)
    parsed = sorted(
        (grant for group, _ in consent._parse_coverage(row.grants) for grant in group),
        key=lambda grant: grant.id,
    )

    stored = await ConsentGrant.filter(subject_id=alice.id).order_by("id")
    assert [
        (g.id, g.audience, g.purpose, g.field_keys, g.expires_at, g.withdrawn_at)
        for g in dict.fromkeys(parsed)
    ] == [
        (
            g.id,
            g.audience,
            g.purpose,
            frozenset(g.field_keys),
            g.expires_at,
            g.withdrawn_at,
        )
        for g in stored
    ]


async def test_only_a_receipt_being_written_leaves_the_document_as_it_is() -> None:
    alice = await make_account("alice")
    grant_id = await give(alice, [GENRES])
    before = await kept_row(alice)

    await ConsentGrant.filter(id=grant_id).update(receipt_jws="another signature")

    assert await kept_row(alice) == before


async def test_a_withdrawal_reaches_a_process_that_kept_the_grants() -> None:
    alice = await make_account("alice")
    bob = await make_account("bob")
    await set_values(alice, {GENRES: ["jazz"]})
    grant_id = await give(alice, [GENRES])
    read = Read(alice.id, GENRES, Purpose.DISPLAY)
    reader = Viewer(account_id=bob.id, kind=bob.kind)

    [before] = await read_values(reader, [read])
    await grants.withdraw(alice, grant_id)
    [after] = await read_values(reader, [read])

    assert before.value == ["jazz"]
    assert (after.decision.reason, after.value) == (Reason.WITHDRAWN, None)


async def test_grants_already_kept_cost_one_statement_and_new_ones_two() -> None:
    alice = await make_account("alice")
    bob = await make_account("bob")
    await give(alice, [GENRES])

    with count_statements() as first:
        await consent._coverages_of([alice.id])
    with count_statements() as again:
        kept = await consent._coverages_of([alice.id])
    await give(alice, [CITY])
    with count_statements() as changed:
        fresh = await consent._coverages_of([alice.id])

    assert (first.count, again.count, changed.count) == (2, 1, 2)
    assert [keys for _, keys in kept[alice.id].coverages] == [frozenset({GENRES})]
    covered = {key for _, keys in fresh[alice.id].coverages for key in keys}
    assert covered == {GENRES, CITY}
    assert await consent._coverages_of([bob.id]) == {}


async def test_kept_grants_stay_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(consent, "KEPT_GRANTS", 2)
    members = [await make_account(f"member{n}") for n in range(3)]
    for member in members:
        await give(member, [GENRES])

    for member in members:
        await consent._coverages_of([member.id])

    assert [subject for subject, _ in consent._kept] == [m.id for m in members[1:]]


async def test_concurrent_changes_to_one_members_grants_both_reach_the_document() -> (
    None
):
    # On PostgreSQL the second change waits for the first to commit, then
    # writes a document with both; SQLite writes one transaction at a time.
    alice = await make_account("alice")
    first = await give(alice, [GENRES])
    withdrawing = asyncio.Event()
    release = asyncio.Event()

    async def withdraw_slowly() -> None:
        async with in_transaction() as conn:
            await (
                ConsentGrant.filter(id=first)
                .using_db(conn)
                .update(withdrawn_at=datetime.now(UTC))
            )
            withdrawing.set()
            await release.wait()

    withdrawal = asyncio.create_task(withdraw_slowly())
    await withdrawing.wait()
    granting = asyncio.create_task(give(alice, [CITY]))
    await asyncio.sleep(0.2)
    assert not granting.done()
    release.set()
    await withdrawal
    second = await granting

    _, document = await kept_row(alice) or ("", [])
    assert [(g[0], g[8] is not None) for g in document] == [
        (first, True),
        (second, False),
    ]


async def test_the_migration_fills_in_grants_made_before_it(settings: Settings) -> None:
    alice = await make_account("alice")
    bob = await make_account("bob")
    await give(alice, [GENRES])
    await give(bob, [CITY])
    await give(alice, [CITY])
    made_by_triggers = {m.id: await kept_row(m) for m in (alice, bob)}

    executor = db._executor(settings)
    target = [MigrationTarget("models", "0008_project_search")]
    try:
        await executor.migrate(target)
        # The grants stay; their documents went with the table.
        [left] = await connections.get("default").execute_query_dict(
            "SELECT count(*) AS grants FROM consent_grants"
        )
        assert left["grants"] == 3
    finally:
        await db.migrate(settings)

    assert {m.id: await kept_row(m) for m in (alice, bob)} == made_by_triggers


# Decisions kept under a member's grants --------------------------------------


async def shown(viewer: Viewer, *reads: Read) -> list[Any]:
    """The values each read shows, or its reason when it is refused."""
    outcomes = await read_values(viewer, list(reads))
    return [o.decision.reason or o.value for o in outcomes]


async def test_a_members_own_values_never_stand_for_anyone_elses() -> None:
    # Members without grants share what was decided under no grant; what a
    # member sees of their own profile is not part of it.
    alice = await make_account("alice")
    bob = await make_account("bob")
    await set_values(alice, {GENRES: ["jazz"]})
    await set_values(bob, {GENRES: ["folk"]})
    alices, bobs = (Read(m.id, GENRES, Purpose.DISPLAY) for m in (alice, bob))

    assert await shown(viewer_of(alice), alices) == [["jazz"]]
    assert await shown(viewer_of(alice), bobs) == [Reason.NOT_SHARED]
    assert await shown(viewer_of(bob), alices) == [Reason.NOT_SHARED]
    assert await shown(viewer_of(bob), bobs) == [["folk"]]


async def test_what_one_viewer_may_read_is_not_kept_for_another() -> None:
    alice = await make_account("alice")
    bob = await make_account("bob")
    carol = await make_account("carol")
    await set_values(alice, {GENRES: ["jazz"]})
    await give(alice, [GENRES], Audience.MEMBER, bob.id)
    read = Read(alice.id, GENRES, Purpose.DISPLAY)

    assert await shown(viewer_of(bob), read) == [["jazz"]]
    assert await shown(viewer_of(carol), read) == [Reason.NOT_SHARED]
    assert await shown(viewer_of(bob), read) == [["jazz"]]


async def test_joining_a_project_opens_what_its_members_share_with_it() -> None:
    alice = await make_account("alice")
    carol = await make_account("carol")
    project = await make_project("choir", alice)
    await set_values(alice, {GENRES: ["folk"]})
    collaboration = Purpose.PROJECT_COLLABORATION
    await give(alice, [GENRES], Audience.PROJECT, project.id, collaboration)
    read = Read(alice.id, GENRES, collaboration, project.id)

    before = await shown(viewer_of(carol), read)
    await ProjectMember.create(
        project=project,
        account=carol,
        role=ProjectRole.MEMBER,
        state=MembershipState.ACTIVE,
    )
    after = await shown(viewer_of(carol), read)

    assert (before, after) == ([Reason.NOT_SHARED], [["folk"]])


async def test_kept_decisions_follow_the_first_of_several_expiries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    alice = await make_account("alice")
    bob = await make_account("bob")
    await set_values(alice, {GENRES: ["jazz"], CITY: "Lyon"})
    soon = datetime.now(UTC) + timedelta(hours=1)
    later = soon + timedelta(hours=1)
    await give(alice, [GENRES], expires_at=later)
    await give(alice, [CITY], expires_at=soon)
    reads = (
        Read(alice.id, GENRES, Purpose.DISPLAY),
        Read(alice.id, CITY, Purpose.DISPLAY),
    )

    seen = [await shown(viewer_of(bob), *reads)]
    for moment in (soon, later):
        monkeypatch.setattr(consent, "now", lambda moment=moment: moment)
        seen.append(await shown(viewer_of(bob), *reads))

    assert seen == [
        [["jazz"], "Lyon"],
        [["jazz"], Reason.EXPIRED],
        [Reason.EXPIRED, Reason.EXPIRED],
    ]


async def test_kept_decisions_stay_bounded_per_member() -> None:
    alice = await make_account("alice")
    await give(alice, [GENRES])
    readers = [await make_account(f"reader{n}") for n in range(40)]

    for one in readers:
        await shown(viewer_of(one), Read(alice.id, GENRES, Purpose.DISPLAY))

    [kept] = [g for (subject, _), g in consent._kept.items() if subject == alice.id]
    assert 0 < len(kept.made) <= consent.MemberGrants.MADE_AT_MOST


async def test_a_page_sends_its_values_statement_before_its_grants() -> None:
    # The values take the database longest: they go out first, and the
    # grants are read and the fields decided while they load.
    alice = await make_account("alice")
    bob = await make_account("bob")
    await give(alice, [GENRES])
    session = consent.Session(viewer_of(bob))

    with count_statements() as sent:
        await session.read_profiles([alice.id], frozenset({GENRES}), Purpose.DISPLAY)

    tables = [
        table
        for statement in sent.statements
        for table in ("profile_values", "consent_digests")
        if f"FROM {table}" in statement
    ]
    assert tables[:2] == ["profile_values", "consent_digests"]


async def test_a_coop_wide_grant_is_decided_once_per_kind_of_viewer() -> None:
    # Whom a grant to everyone or to the coop reaches depends on the kind
    # of viewer alone: every member shares one kept decision, a brand
    # another.
    alice = await make_account("alice")
    await set_values(alice, {GENRES: ["jazz"]})
    await give(alice, [GENRES])
    read = Read(alice.id, GENRES, Purpose.DISPLAY)
    members = [await make_account(f"member{n}") for n in range(3)]
    brand = await make_account("brand", AccountKind.BRAND)

    for member in members:
        assert await shown(viewer_of(member), read) == [["jazz"]]
    assert await shown(viewer_of(brand), read) == [Reason.NOT_SHARED]

    [kept] = [g for (subject, _), g in consent._kept.items() if subject == alice.id]
    assert not kept.personal
    assert len(kept.made) == 2
