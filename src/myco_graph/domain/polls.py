"""Polls: a question to a project's members, one ballot each, counts only.

A ballot is the set of options one member chose; it can be changed until the
poll closes. Who chose what is kept only so that a ballot can be replaced:
results are counts per option and a number of voters, computed in SQL.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol, cast

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q
from tortoise.functions import Count
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from myco_graph.domain import events
from myco_graph.domain.accounts import now
from myco_graph.domain.models import (
    Account,
    MembershipState,
    Poll,
    Project,
    ProjectMember,
    Vote,
)
from myco_graph.errors import BadUserInput, Forbidden

QUESTION_MAX = 300
OPTION_MAX = 200
MIN_OPTIONS = 2
MAX_OPTIONS = 20
LONGEST_OPENING = timedelta(days=90)


@dataclass(frozen=True)
class PollDraft:
    """What a member asks when creating a poll, before it is checked."""

    question: str
    options: list[str]
    closes_at: datetime
    multiple: bool = False

    def checked(self, at: datetime) -> PollDraft:
        """The draft with its text trimmed; BadUserInput names the wrong part."""
        return PollDraft(
            question=_question(self.question),
            options=_options(self.options),
            closes_at=_closing(self.closes_at, at),
            multiple=self.multiple,
        )


def _question(question: str) -> str:
    question = question.strip()
    if not 1 <= len(question) <= QUESTION_MAX:
        raise BadUserInput(
            f"A question has 1 to {QUESTION_MAX} characters.", field="question"
        )
    return question


def _options(options: list[str]) -> list[str]:
    options = [option.strip() for option in options]
    if not MIN_OPTIONS <= len(options) <= MAX_OPTIONS:
        raise BadUserInput(
            f"A poll has {MIN_OPTIONS} to {MAX_OPTIONS} options.", field="options"
        )
    if any(not 1 <= len(option) <= OPTION_MAX for option in options):
        raise BadUserInput(
            f"An option has 1 to {OPTION_MAX} characters.", field="options"
        )
    # "Yes" and "yes " are one choice to a voter, so they may not both appear.
    if len({option.casefold() for option in options}) != len(options):
        raise BadUserInput("Each option must differ from the others.", field="options")
    return options


def _closing(closes_at: datetime, at: datetime) -> datetime:
    if closes_at.tzinfo is None:
        raise BadUserInput("Give the closing time with its offset.", field="closesAt")
    if closes_at <= at:
        raise BadUserInput("A poll closes in the future.", field="closesAt")
    if closes_at > at + LONGEST_OPENING:
        raise BadUserInput(
            f"A poll stays open at most {LONGEST_OPENING.days} days.", field="closesAt"
        )
    # Stored in UTC, so that SQLite, which compares times as text, orders
    # them as PostgreSQL does.
    return closes_at.astimezone(UTC)


class Closing(Protocol):
    """A poll as any layer holds it: all that openness depends on."""

    @property
    def closes_at(self) -> datetime: ...


def is_open(poll: Closing, at: datetime) -> bool:
    return at < poll.closes_at


async def create(project: Project, author: Account, draft: PollDraft) -> Poll:
    draft = draft.checked(now())
    async with in_transaction() as conn:
        poll = await Poll.create(
            project=project,
            author=author,
            question=draft.question,
            options=draft.options,
            multiple=draft.multiple,
            closes_at=draft.closes_at,
            using_db=conn,
        )
        event = await events.record(
            conn,
            "poll.created",
            account_id=author.id,
            project_id=project.id,
            payload={"poll": poll.id},
        )
    await events.announce(event)
    return poll


def _ballot(poll: Poll, choices: list[int]) -> list[int]:
    """The chosen option indexes, checked against the poll's options."""
    if not choices:
        raise BadUserInput("Choose at least one option.", field="choices")
    if len(set(choices)) != len(choices):
        raise BadUserInput("Choose each option once.", field="choices")
    if not poll.multiple and len(choices) > 1:
        raise BadUserInput("This poll takes exactly one option.", field="choices")
    if any(not 0 <= choice < len(poll.options) for choice in choices):
        raise BadUserInput(
            f"Options are numbered 0 to {len(poll.options) - 1}.", field="choices"
        )
    return sorted(choices)


async def vote(poll: Poll, voter: Account, choices: list[int]) -> None:
    """Casts the voter's ballot, replacing the one they cast before."""
    ballot = _ballot(poll, choices)
    async with in_transaction() as conn:
        # Locking the voter's membership row serialises their own ballots (two
        # at once cannot both land) without making other voters wait, and
        # holds off their removal from the project until the ballot is in.
        membership = (
            await ProjectMember.select_for_update()
            .using_db(conn)
            .get_or_none(
                project_id=poll.project_id,
                account_id=voter.id,
                state=MembershipState.ACTIVE,
            )
        )
        if membership is None:
            raise Forbidden("Only the project's members vote.")
        if not is_open(poll, now()):
            raise BadUserInput("This poll is closed.", field="pollId")
        await Vote.filter(poll_id=poll.id, account_id=voter.id).using_db(conn).delete()
        await Vote.bulk_create(
            [Vote(poll_id=poll.id, account_id=voter.id, option=o) for o in ballot],
            using_db=conn,
        )
        # The payload names the poll only: an event never tells who chose what.
        event = await events.record(
            conn,
            "poll.voted",
            account_id=voter.id,
            project_id=poll.project_id,
            payload={"poll": poll.id},
        )
    await events.announce(event)


@dataclass
class Tally:
    """The results of one poll: votes per option index, and how many voted."""

    votes: dict[int, int] = field(default_factory=dict)
    voters: int = 0


def _counted(poll_ids: list[int], conn: BaseDBAsyncClient | None) -> QuerySet[Vote]:
    # A ballot leaves the results with its voter: once an account is erased
    # its votes lose their owner and can no longer be told apart as ballots.
    # Ballots cast from other instances count like members' own.
    return Vote.filter(
        Q(account_id__isnull=False) | Q(remote_voter_id__isnull=False),
        poll_id__in=poll_ids,
    ).using_db(conn)


async def tallies(
    poll_ids: Iterable[int], conn: BaseDBAsyncClient | None = None
) -> dict[int, Tally]:
    """The results of several polls in two grouped statements, whatever their size.

    ``conn`` reads them inside a transaction, as federation does to send the
    counts a ballot just changed.
    """
    ids = sorted(set(poll_ids))
    found: dict[int, Tally] = {poll_id: Tally() for poll_id in ids}
    if not ids:
        return found
    per_option = (
        await _counted(ids, conn)
        .annotate(count=Count("id"))
        .group_by("poll_id", "option")
        .values_list("poll_id", "option", "count")
    )
    for poll_id, option, count in cast(list[tuple[int, int, int]], per_option):
        found[poll_id].votes[option] = count
    per_poll = (
        await _counted(ids, conn)
        .annotate(
            local=Count("account_id", distinct=True),
            remote=Count("remote_voter_id", distinct=True),
        )
        .group_by("poll_id")
        .values_list("poll_id", "local", "remote")
    )
    for poll_id, local, remote in cast(list[tuple[int, int, int]], per_poll):
        found[poll_id].voters = local + remote
    return found


async def ballots_of(account_id: int, poll_ids: Iterable[int]) -> dict[int, list[int]]:
    """One account's own choices in several polls, in one statement."""
    ids = sorted(set(poll_ids))
    found: dict[int, list[int]] = defaultdict(list)
    if not ids:
        return {}
    rows = await Vote.filter(poll_id__in=ids, account_id=account_id).values_list(
        "poll_id", "option"
    )
    for poll_id, option in cast(list[tuple[int, int]], rows):
        found[poll_id].append(option)
    return {poll_id: sorted(found[poll_id]) for poll_id in ids}
