"""A project page's lists, read by hand: the rows and counts the ORM would give."""

from __future__ import annotations

from datetime import timedelta

import pytest

from myco_graph.domain import discussion, listings, polls, pools
from myco_graph.domain.accounts import now
from myco_graph.domain.models import (
    Contribution,
    MembershipState,
    Poll,
    ProjectRole,
    Vote,
)
from tests.helpers import count_statements
from tests.project_support import make_account, make_project

pytestmark = pytest.mark.usefixtures("server")


def draft(question: str, *, multiple: bool = False) -> polls.PollDraft:
    return polls.PollDraft(
        question, ["a", "b", "c"], now() + timedelta(days=3), multiple=multiple
    )


async def test_polls_come_with_their_counts_in_one_statement() -> None:
    ann, bob, cat = [await make_account(h) for h in ("ann", "bob", "cat")]
    project = await make_project(ann, bob, cat)
    quiet = await polls.create(project, ann, draft("Quiet?"))
    busy = await polls.create(project, ann, draft("Busy?", multiple=True))
    await polls.vote(busy, ann, [0, 2])
    await polls.vote(busy, bob, [2])
    await polls.vote(busy, cat, [1])
    # A ballot whose voter erased their account no longer counts.
    await Vote.filter(poll_id=busy.id, account_id=cat.id).update(account_id=None)

    with count_statements() as counter:
        page = await listings.polls(project.id, 10, None)

    assert counter.count == 1
    assert [(row.id, row.tally.votes, row.tally.voters) for row in page.rows] == [
        (busy.id, {0: 1, 2: 2}, 2),
        (quiet.id, {}, 0),
    ]
    assert (await polls.tallies([busy.id]))[busy.id] == page.rows[0].tally


async def test_the_open_filter_and_paging_of_polls() -> None:
    ann = await make_account("ann")
    project = await make_project(ann)
    made = [await polls.create(project, ann, draft(f"Q{n}?")) for n in range(3)]
    await Poll.filter(id=made[0].id).update(closes_at=now() - timedelta(minutes=1))

    first = await listings.polls(project.id, 1, None, open=True)
    rest = await listings.polls(project.id, 5, first.rows[0].id, open=True)
    closed = await listings.polls(project.id, 5, None, open=False)

    assert ([r.id for r in first.rows], first.has_next) == ([made[2].id], True)
    assert ([r.id for r in rest.rows], rest.has_next) == ([made[1].id], False)
    assert [r.id for r in closed.rows] == [made[0].id]


async def test_pools_come_with_their_totals() -> None:
    ann, bob = await make_account("ann"), await make_account("bob")
    project = await make_project(ann, bob)
    deadline = now() + timedelta(days=3)
    empty = await pools.create(project, ann, pools.PoolDraft("Empty", 100, deadline))
    full = await pools.create(project, ann, pools.PoolDraft("Full", 100, deadline))
    for who, cents in ((ann, 500), (bob, 250), (bob, 250)):
        await Contribution.create(
            pool=full, account=who, amount_cents=cents, payment_reference="ref"
        )

    page = await listings.pools(project.id, 10, None)

    assert [(row.id, row.totals) for row in page.rows] == [
        (full.id, pools.Totals(1_000, 2)),
        (empty.id, pools.Totals(0, 0)),
    ]


async def test_members_and_messages_come_with_their_accounts() -> None:
    ann, bob = await make_account("ann"), await make_account("bob")
    project = await make_project(ann, bob)
    hello = await discussion.post(project, bob, "Hello @ann, see https://example.org")

    members = await listings.members(project.id, MembershipState.ACTIVE, 1, None)
    after = await listings.members(
        project.id, MembershipState.ACTIVE, 5, members.rows[0].id
    )
    messages = await listings.messages(project.id, 20, None)

    assert [(m.account.handle, m.role, members.has_next) for m in members.rows] == [
        ("bob", ProjectRole.MEMBER, True)
    ]
    assert [(m.account.handle, m.role) for m in after.rows] == [
        ("ann", ProjectRole.OWNER)
    ]
    (message,) = messages.rows
    assert (message.id, message.author, message.mentions, message.links) == (
        hello.id,
        members.rows[0].account,
        [ann.id],
        ["https://example.org"],
    )
