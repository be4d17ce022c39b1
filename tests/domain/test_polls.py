"""Polls in the domain: checked drafts, replaced ballots, counts in SQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from myco_graph.domain import polls
from myco_graph.domain.accounts import now
from myco_graph.domain.models import Account, Event, Poll, Project, Vote
from myco_graph.errors import BadUserInput, Forbidden
from tests.helpers import count_statements, row_counts
from tests.project_support import make_account, make_project

pytestmark = pytest.mark.usefixtures("server")

AT = datetime(2026, 5, 1, 12, tzinfo=UTC)


def draft(**changes: object) -> polls.PollDraft:
    given: dict[str, object] = {
        "question": "Where do we meet?",
        "options": ["Lyon", "Paris"],
        "closes_at": AT + timedelta(days=7),
    }
    return polls.PollDraft(**(given | changes))  # type: ignore[arg-type]


async def open_poll(project: Project, author: Account, **changes: object) -> Poll:
    closing = {"closes_at": now() + timedelta(days=7)}
    return await polls.create(project, author, draft(**(closing | changes)))


async def close_now(poll: Poll) -> None:
    """Moves the closing time into the past, as time passing would."""
    poll.closes_at = now() - timedelta(seconds=1)
    await poll.save(update_fields=["closes_at"])


def test_draft_is_trimmed() -> None:
    checked = draft(question="  Where?  ", options=[" Lyon ", "Paris"]).checked(AT)

    assert (checked.question, checked.options) == ("Where?", ["Lyon", "Paris"])


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"question": "   "}, "question"),
        ({"question": "?" * 301}, "question"),
        ({"options": ["Lyon"]}, "options"),
        ({"options": [f"option {n}" for n in range(21)]}, "options"),
        ({"options": ["Lyon", " "]}, "options"),
        ({"options": ["Lyon", "x" * 201]}, "options"),
        ({"options": ["Lyon", "lyon "]}, "options"),
        ({"closes_at": AT}, "closesAt"),
        ({"closes_at": AT + timedelta(days=91)}, "closesAt"),
        ({"closes_at": datetime(2026, 5, 2, 12)}, "closesAt"),
    ],
)
def test_bad_draft_is_refused_naming_its_field(
    changes: dict[str, object], field: str
) -> None:
    with pytest.raises(BadUserInput) as refused:
        draft(**changes).checked(AT)

    assert refused.value.field == field


async def test_new_ballot_replaces_the_previous_one() -> None:
    alice = await make_account("alice")
    poll = await open_poll(await make_project(alice), alice)

    await polls.vote(poll, alice, [0])
    await polls.vote(poll, alice, [1])

    tally = (await polls.tallies([poll.id]))[poll.id]
    assert (tally.votes, tally.voters) == ({1: 1}, 1)
    assert await polls.ballots_of(alice.id, [poll.id]) == {poll.id: [1]}


async def test_multiple_choice_counts_options_and_voters_apart() -> None:
    alice, bob, carol = [await make_account(h) for h in ("alice", "bob", "carol")]
    project = await make_project(alice, bob, carol)
    poll = await open_poll(project, alice, options=["a", "b", "c"], multiple=True)

    await polls.vote(poll, alice, [0, 2])
    await polls.vote(poll, bob, [2])
    await polls.vote(poll, carol, [0, 1, 2])

    tally = (await polls.tallies([poll.id]))[poll.id]
    assert (tally.votes, tally.voters) == ({0: 2, 1: 1, 2: 3}, 3)


async def test_concurrent_ballots_of_one_member_leave_one_ballot() -> None:
    alice = await make_account("alice")
    poll = await open_poll(await make_project(alice), alice, options=list("abcdef"))

    await asyncio.gather(*(polls.vote(poll, alice, [n]) for n in range(6)))

    assert await Vote.filter(poll_id=poll.id).count() == 1


@pytest.mark.parametrize(
    ("choices", "multiple"),
    [([0, 1], False), ([], True), ([2], False), ([-1], True), ([1, 1], True)],
)
async def test_bad_ballot_is_refused_and_keeps_the_previous_one(
    choices: list[int], multiple: bool
) -> None:
    alice = await make_account("alice")
    poll = await open_poll(await make_project(alice), alice, multiple=multiple)
    await polls.vote(poll, alice, [0])
    before = await row_counts()

    with pytest.raises(BadUserInput):
        await polls.vote(poll, alice, choices)

    assert await row_counts() == before
    assert await polls.ballots_of(alice.id, [poll.id]) == {poll.id: [0]}


async def test_ballot_after_closing_is_refused() -> None:
    alice = await make_account("alice")
    poll = await open_poll(await make_project(alice), alice)
    await polls.vote(poll, alice, [0])
    await close_now(poll)
    before = await row_counts()

    with pytest.raises(BadUserInput, match="closed"):
        await polls.vote(poll, alice, [1])

    assert await row_counts() == before


async def test_ballot_of_someone_outside_the_project_is_refused() -> None:
    alice, mallory = await make_account("alice"), await make_account("mallory")
    poll = await open_poll(await make_project(alice), alice)

    with pytest.raises(Forbidden):
        await polls.vote(poll, mallory, [0])

    assert await Vote.all().count() == 0


async def test_voted_event_names_the_poll_and_nothing_chosen() -> None:
    alice = await make_account("alice")
    poll = await open_poll(await make_project(alice), alice)

    await polls.vote(poll, alice, [1])

    event = await Event.get(kind="poll.voted")
    assert (event.project_id, event.payload) == (poll.project_id, {"poll": poll.id})


async def test_tallies_of_many_polls_take_two_statements() -> None:
    alice, bob = await make_account("alice"), await make_account("bob")
    project = await make_project(alice, bob)
    many = [await open_poll(project, alice) for _ in range(12)]
    for poll in many:
        await polls.vote(poll, alice, [0])
        await polls.vote(poll, bob, [1])

    with count_statements() as counter:
        found = await polls.tallies(poll.id for poll in many)

    assert counter.count == 2
    assert all(tally.votes == {0: 1, 1: 1} for tally in found.values())


async def test_ballot_of_an_erased_account_leaves_the_results() -> None:
    alice, bob = await make_account("alice"), await make_account("bob")
    poll = await open_poll(await make_project(alice, bob), alice)
    await polls.vote(poll, alice, [0])
    await polls.vote(poll, bob, [0])

    await bob.delete()

    tally = (await polls.tallies([poll.id]))[poll.id]
    assert (tally.votes, tally.voters) == ({0: 1}, 1)
