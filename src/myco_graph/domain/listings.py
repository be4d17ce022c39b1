"""The lists of a project page, read as plain rows in one statement each.

A project page shows a page of members with their accounts, the latest
messages with their authors, and polls and pools with their counts. Read
through the ORM these cost a query build and a model per row, several times
what the database spends; here each list is one hand-written statement (see
``infrastructure.sql``) whose rows become named tuples with the attributes
the models have, so that whoever shows a model can show these.

Each list pages by id, newest first, like ``pages.newest_first``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from myco_graph.domain.accounts import now
from myco_graph.domain.models import AccountKind, MembershipState, ProjectRole
from myco_graph.domain.pages import Page
from myco_graph.domain.polls import Tally
from myco_graph.domain.pools import Totals
from myco_graph.infrastructure.sql import Statement, fetch, json_value, moment

# Enum members by stored value: a look-up per row, cheaper than the enum call.
KINDS = {kind.value: kind for kind in AccountKind}
ROLES = {role.value: role for role in ProjectRole}


class AccountRow(NamedTuple):
    """An account as a list shows it."""

    id: int
    kind: AccountKind
    handle: str
    display_name: str
    email: str
    created_at: datetime


ACCOUNT = "a.id, a.kind, a.handle, a.display_name, a.email, a.created_at"
ACCOUNT_WIDTH = 6


def _account(row: Sequence[Any], start: int) -> AccountRow | None:
    """The account whose columns (ACCOUNT) begin at ``start``, if joined."""
    if row[start] is None:
        return None
    account_id, kind, handle, display_name, email, created_at = row[
        start : start + ACCOUNT_WIDTH
    ]
    return AccountRow(
        account_id, KINDS[kind], handle, display_name, email, _at(created_at)
    )


def _at(stored: Any) -> datetime:
    """A time of a column that is never null."""
    found = moment(stored)
    assert found is not None
    return found


def _paged(rows: Sequence[Any], first: int) -> tuple[Sequence[Any], bool]:
    return rows[:first], len(rows) > first


# Members --------------------------------------------------------------------


class MemberRow(NamedTuple):
    """An active membership with its account."""

    id: int
    role: ProjectRole
    created_at: datetime
    sharing: list[str]
    project_id: int
    account_id: int
    account: AccountRow


MEMBERS = Statement(f"""
SELECT m.id, m.role, m.created_at, m.sharing, m.project_id, {ACCOUNT}
FROM project_members m JOIN accounts a ON a.id = m.account_id
WHERE m.project_id = $1 AND m.state = $2 AND ($3::bigint IS NULL OR m.id < $3)
ORDER BY m.id DESC LIMIT $4
""")  # noqa: S608


async def members(
    project_id: int, state: MembershipState, first: int, after: int | None
) -> Page[MemberRow]:
    """Memberships of a project in ``state``, with their accounts."""
    rows, more = _paged(
        await fetch(MEMBERS, project_id, state.value, after, first + 1), first
    )
    found = []
    for row in rows:
        account = _account(row, 5)
        assert account is not None  # an inner join
        found.append(
            MemberRow(
                row[0],
                ROLES[row[1]],
                _at(row[2]),
                json_value(row[3]),
                row[4],
                account.id,
                account,
            )
        )
    return Page(found, more)


# Messages -------------------------------------------------------------------


class MessageRow(NamedTuple):
    """A message with its local author, if it has one still."""

    id: int
    body: str
    links: list[str]
    mentions: list[int]
    created_at: datetime
    edited_at: datetime | None
    deleted_at: datetime | None
    removed_by_admin: bool
    author_id: int | None
    author: AccountRow | None


MESSAGES = Statement(f"""
SELECT m.id, m.body, m.links, m.mentions, m.created_at, m.edited_at,
    m.deleted_at, m.removed_by_admin, m.author_id, {ACCOUNT}
FROM messages m LEFT JOIN accounts a ON a.id = m.author_id
WHERE m.project_id = $1 AND ($2::bigint IS NULL OR m.id < $2)
ORDER BY m.id DESC LIMIT $3
""")  # noqa: S608


async def messages(project_id: int, first: int, after: int | None) -> Page[MessageRow]:
    """A project's discussion, with the authors' accounts."""
    rows, more = _paged(await fetch(MESSAGES, project_id, after, first + 1), first)
    return Page(
        [
            MessageRow(
                row[0],
                row[1],
                json_value(row[2]),
                json_value(row[3]),
                _at(row[4]),
                moment(row[5]),
                moment(row[6]),
                bool(row[7]),
                row[8],
                _account(row, 9),
            )
            for row in rows
        ],
        more,
    )


# Polls ----------------------------------------------------------------------


class PollRow(NamedTuple):
    """A poll with its results (counts only)."""

    id: int
    project_id: int
    author_id: int | None
    question: str
    options: list[str]
    multiple: bool
    closes_at: datetime
    created_at: datetime
    tally: Tally


# A page of polls, then their counts: one row per option chosen, and one per
# poll whose option is null and whose count is the number of voters. A
# ballot counts while it has an owner (see polls.tallies).
_POLLS = """
WITH page AS (
    SELECT id, project_id, author_id, question, options, multiple, closes_at,
        created_at
    FROM polls
    WHERE project_id = $1 AND ($2::bigint IS NULL OR id < $2) {opening}
    ORDER BY id DESC LIMIT $3
), counted AS (
    SELECT v.poll_id, v.option, count(*) AS n
    FROM votes v JOIN page ON page.id = v.poll_id
    WHERE v.account_id IS NOT NULL OR v.remote_voter_id IS NOT NULL
    GROUP BY v.poll_id, v.option
    UNION ALL
    SELECT v.poll_id, NULL,
        count(DISTINCT v.account_id) + count(DISTINCT v.remote_voter_id)
    FROM votes v JOIN page ON page.id = v.poll_id
    WHERE v.account_id IS NOT NULL OR v.remote_voter_id IS NOT NULL
    GROUP BY v.poll_id
)
SELECT page.*, counted.option, counted.n
FROM page LEFT JOIN counted ON counted.poll_id = page.id
ORDER BY page.id DESC
"""
POLLS = {
    None: Statement(_POLLS.format(opening="")),
    True: Statement(_POLLS.format(opening="AND closes_at > $4")),
    False: Statement(_POLLS.format(opening="AND closes_at <= $4")),
}


async def polls(
    project_id: int, first: int, after: int | None, open: bool | None = None
) -> Page[PollRow]:
    """A project's polls with their counts; ``open`` keeps open or closed ones."""
    parameters: list[Any] = [project_id, after, first + 1]
    if open is not None:
        parameters.append(now())
    found: dict[int, PollRow] = {}
    for row in await fetch(POLLS[open], *parameters):
        poll = found.get(row[0])
        if poll is None:
            poll = found[row[0]] = PollRow(
                row[0],
                row[1],
                row[2],
                row[3],
                json_value(row[4]),
                bool(row[5]),
                _at(row[6]),
                _at(row[7]),
                Tally(),
            )
        option, count = row[8], row[9]
        if option is not None:
            poll.tally.votes[option] = count
        elif count is not None:
            poll.tally.voters = count
    rows = list(found.values())
    return Page(rows[:first], len(rows) > first)


# Pools ----------------------------------------------------------------------


class PoolRow(NamedTuple):
    """A pool with its totals, hidden amounts included."""

    id: int
    project_id: int
    author_id: int | None
    title: str
    target_cents: int
    deadline: datetime
    closed_at: datetime | None
    created_at: datetime
    totals: Totals


POOLS = Statement("""
SELECT p.id, p.project_id, p.author_id, p.title, p.target_cents, p.deadline,
    p.closed_at, p.created_at, coalesce(sum(c.amount_cents), 0),
    count(DISTINCT c.account_id)
FROM pools p LEFT JOIN contributions c ON c.pool_id = p.id
WHERE p.project_id = $1 AND ($2::bigint IS NULL OR p.id < $2)
GROUP BY p.id ORDER BY p.id DESC LIMIT $3
""")


async def pools(project_id: int, first: int, after: int | None) -> Page[PoolRow]:
    """A project's money pools with their totals."""
    rows, more = _paged(await fetch(POOLS, project_id, after, first + 1), first)
    return Page(
        [
            PoolRow(
                row[0],
                row[1],
                row[2],
                row[3],
                row[4],
                _at(row[5]),
                moment(row[6]),
                _at(row[7]),
                Totals(int(row[8]), int(row[9])),
            )
            for row in rows
        ],
        more,
    )
