"""The consent decision: may this viewer use this member's field for this purpose?

Every read of a personal value goes through a :class:`Session`, which
decides for whole batches of reads with a fixed number of statements, however
many members and fields a request shows, and folds the allowed reads into the
access log in one statement. :func:`decide` is the rule itself, a pure
function.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import operator
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple

import orjson
from tortoise import connections

from myco_graph.domain import access_log, catalogue
from myco_graph.domain.accounts import now
from myco_graph.domain.models import (
    AccountKind,
    Audience,
    ConsentGrant,
    MembershipState,
    ProfileValue,
    ProjectMember,
    Purpose,
)
from myco_graph.domain.profile import unwrap


class Reason(StrEnum):
    """Why a read was denied; clients see these names."""

    NOT_SHARED = "NOT_SHARED"
    EXPIRED = "EXPIRED"
    WITHDRAWN = "WITHDRAWN"
    PURPOSE_MISMATCH = "PURPOSE_MISMATCH"
    EXPLICIT_REQUIRED = "EXPLICIT_REQUIRED"


@dataclass(frozen=True)
class Viewer:
    """Who reads: a local account, or nobody signed in."""

    account_id: int | None
    kind: AccountKind | None
    projects: frozenset[int] = frozenset()

    @property
    def key(self) -> str:
        """How the access log names this viewer."""
        return f"account:{self.account_id}" if self.account_id else "anonymous"

    @classmethod
    def anonymous(cls) -> Viewer:
        return cls(account_id=None, kind=None)


class Read(NamedTuple):
    """One field of one member, read for one purpose (within a project or not).

    A named tuple: a page of members makes thousands of these per request.
    """

    subject_id: int
    key: str
    purpose: Purpose
    project_id: int | None = None


@dataclass(frozen=True)
class Grant:
    """The parts of a grant the decision looks at."""

    id: int
    subject_id: int
    audience: Audience
    audience_id: int | None
    purpose: Purpose
    field_keys: frozenset[str]
    explicit: bool
    expires_at: datetime | None
    withdrawn_at: datetime | None

    @classmethod
    def of_values(cls, row: tuple[Any, ...]) -> Grant:
        """From a row of GRANT_COLUMNS, read without building a model."""
        (grant_id, subject_id, audience, audience_id, purpose, keys, explicit,
         expires_at, withdrawn_at) = row  # fmt: skip
        return cls(
            id=grant_id,
            subject_id=subject_id,
            audience=Audience(audience),
            audience_id=audience_id,
            purpose=Purpose(purpose),
            field_keys=frozenset(keys),
            explicit=explicit,
            expires_at=expires_at,
            withdrawn_at=withdrawn_at,
        )

    def active(self, moment: datetime) -> bool:
        return self.withdrawn_at is None and (
            self.expires_at is None or self.expires_at > moment
        )


@dataclass(frozen=True)
class Decision:
    grant_id: int | None = None
    reason: Reason | None = None

    @property
    def allowed(self) -> bool:
        return self.reason is None


OWN = Decision()
DENIED = {reason: Decision(reason=reason) for reason in Reason}
SPECIAL_KEYS = frozenset(key for key, spec in catalogue.FIELDS.items() if spec.special)


@functools.lru_cache(maxsize=4096)
def allowed_by(grant_id: int) -> Decision:
    """The decision "allowed under this grant", made once per grant."""
    return Decision(grant_id=grant_id)


# What the decision reads of a grant; receipts stay in the database.
GRANT_COLUMNS = (
    "id",
    "subject_id",
    "audience",
    "audience_id",
    "purpose",
    "field_keys",
    "explicit",
    "expires_at",
    "withdrawn_at",
)


def reaches(grant: Grant, viewer: Viewer, read: Read) -> bool:
    """True when the grant's audience includes the viewer for this read."""
    match grant.audience:
        case Audience.PUBLIC:
            return True
        case Audience.COOP:
            # The coop's members: not its staff accounts, not brands.
            return viewer.kind is AccountKind.MEMBER
        case Audience.MEMBER:
            # An anonymous viewer's id is None too: it must not match a grant
            # whose audience id is missing.
            return (
                viewer.account_id is not None
                and viewer.kind is not AccountKind.BRAND
                and grant.audience_id == viewer.account_id
            )
        case Audience.BRAND:
            return viewer.kind is AccountKind.BRAND and (
                grant.audience_id == viewer.account_id
            )
        case Audience.PROJECT:
            return (
                read.project_id is not None
                and grant.audience_id == read.project_id
                and read.project_id in viewer.projects
            )
    return False


def decide(
    viewer: Viewer, read: Read, grants: Iterable[Grant], moment: datetime
) -> Decision:
    """Allowed under the newest matching active grant, or denied with a reason.

    Among the grants that cover the field and reach the viewer: the newest
    usable one of the read's purpose allows it; otherwise the newest of that
    purpose says why not (withdrawn, expired, or not explicit enough), and a
    live grant for another purpose means the purpose does not match.
    """
    if viewer.account_id == read.subject_id:
        return OWN
    special = read.key in SPECIAL_KEYS
    if special and read.purpose is Purpose.OFFER_MATCHING:
        # Special categories never target offers, whatever a grant says.
        return DENIED[Reason.NOT_SHARED]
    newest: Grant | None = None
    usable: Grant | None = None
    other_purpose_active = False
    for grant in grants:
        if (
            grant.subject_id != read.subject_id
            or read.key not in grant.field_keys
            or not reaches(grant, viewer, read)
        ):
            continue
        if grant.purpose is not read.purpose:
            other_purpose_active = other_purpose_active or grant.active(moment)
            continue
        if newest is None or grant.id > newest.id:
            newest = grant
        if (
            grant.active(moment)
            and (grant.explicit or not special)
            and (usable is None or grant.id > usable.id)
        ):
            usable = grant
    if usable is not None:
        return allowed_by(usable.id)
    if newest is not None:
        if newest.withdrawn_at is not None:
            return DENIED[Reason.WITHDRAWN]
        if newest.active(moment):
            return DENIED[Reason.EXPLICIT_REQUIRED]
        return DENIED[Reason.EXPIRED]
    if other_purpose_active:
        return DENIED[Reason.PURPOSE_MISMATCH]
    return DENIED[Reason.NOT_SHARED]


# A profile read one way: subject, purpose, and the project it is read within.
Whose = tuple[int, Purpose, int | None]
_whose = operator.itemgetter(0, 2, 3)  # of a Read


class Outcome(NamedTuple):
    """The result of one read: the value when allowed, the reason otherwise."""

    decision: Decision
    value: Any = None


class Session:
    """The consent reads of one request, batched, with what they already loaded.

    ``read`` decides a batch with at most one statement for values, one for
    the grants of subjects not seen yet in this session, and one for the
    viewer's project memberships when a read is made within a project.
    Allowed reads by someone else wait in the session until :meth:`flush`
    folds them into the access log with one statement.

    A session that lives long (a websocket) must see withdrawals at once:
    ``remember=False`` reloads grants and values for every batch.
    """

    def __init__(self, viewer: Viewer, *, remember: bool = True) -> None:
        self.viewer = viewer
        self.remember = remember
        self._grants: dict[int, dict[str, tuple[Grant, ...]]] = {}
        self._values: dict[tuple[int, str], Any] = {}
        self._projects: dict[int, bool] = {}
        self._pending = access_log.Folded()
        self._writes: list[asyncio.Task[None]] = []
        self._decided: dict[Whose, dict[str, Outcome]] = {}

    def decided(self, whose: Whose) -> dict[str, Outcome] | None:
        """Outcomes already decided for one profile read one way, by field key."""
        return self._decided.get(whose)

    def forget(self, subject_id: int) -> None:
        """Drops what the session holds about a member whose data just changed."""
        self._grants.pop(subject_id, None)
        self._values = {
            key: value for key, value in self._values.items() if key[0] != subject_id
        }
        self._decided = {
            whose: outcomes
            for whose, outcomes in self._decided.items()
            if whose[0] != subject_id
        }

    async def read(self, reads: Sequence[Read]) -> list[Outcome]:
        """Decides a batch of reads and returns the allowed values."""
        if not self.remember:
            self._grants, self._values, self._projects = {}, {}, {}
        subjects = {read.subject_id for read in reads}
        _, _, viewer = await asyncio.gather(
            self._load_values(reads),
            self._load_grants(subjects),
            self._viewer_for(reads),
        )
        moment = now()
        outcomes: list[Outcome] = []
        # Reads come grouped by profile (a list reads each member's fields in
        # a row), so the per-profile maps are looked up once per group.
        for whose, group in itertools.groupby(reads, key=_whose):
            outcomes += self._decide_profile(viewer, whose, group, moment)
        if self.remember and not self._writes and self._pending.rows:
            # The first batch of a request is logged while the rest of the
            # response is being built; flush() waits for it before anything
            # is sent, so no value leaves unlogged.
            self._start_writing()
            # Let the write reach the database before the caller goes on:
            # the rest of a page is built without giving the loop back.
            await asyncio.sleep(0)
        return outcomes

    def _decide_profile(
        self, viewer: Viewer, whose: Whose, reads: Iterable[Read], moment: datetime
    ) -> list[Outcome]:
        """Decides reads of one profile read one way; logs the allowed ones."""
        subject_id, purpose, _ = whose
        grants_by_key = self._grants.get(subject_id, {})
        decided = self._decided.setdefault(whose, {}) if self.remember else {}
        # Fields with the same grants and the same category get the same
        # answer: decide once for them.
        decisions: dict[tuple[int, bool], Decision] = {}
        outcomes: list[Outcome] = []
        logged: list[str] = []
        grant_ids: set[int] = set()
        for read in reads:
            key = read.key
            grants = grants_by_key.get(key, ())
            same = (id(grants), key in SPECIAL_KEYS)
            decision = decisions.get(same)
            if decision is None:
                decision = decisions[same] = decide(viewer, read, grants, moment)
            if decision.reason is None:
                outcome = Outcome(decision, self._values.get((subject_id, key)))
            else:
                outcome = Outcome(decision)
            outcomes.append(outcome)
            decided[key] = outcome
            if decision.grant_id is not None:
                logged.append(key)
                grant_ids.add(decision.grant_id)
        if logged:
            self._pending.add_many(subject_id, purpose, logged, grant_ids, len(logged))
        return outcomes

    def _start_writing(self) -> None:
        pending, self._pending = self._pending, access_log.Folded()
        write = access_log.record(
            self.viewer.key, self.viewer.account_id, pending, now()
        )
        self._writes.append(asyncio.create_task(write))

    async def flush(self) -> None:
        """Writes the reads made so far to the access log, and waits for it."""
        if self._pending.rows:
            self._start_writing()
        writes, self._writes = self._writes, []
        await asyncio.gather(*writes)

    async def _load_values(self, reads: Sequence[Read]) -> None:
        missing = [
            read for read in reads if (read.subject_id, read.key) not in self._values
        ]
        if not missing:
            return
        subjects = {read.subject_id for read in missing}
        keys = {read.key for read in missing}
        for read in missing:
            self._values[(read.subject_id, read.key)] = None
        for subject, key, stored in await _value_rows(subjects, keys):
            self._values[(subject, key)] = unwrap(stored)

    async def _load_grants(self, subjects: set[int]) -> None:
        missing = subjects - self._grants.keys() - {self.viewer.account_id}
        if not missing:
            return
        loaded: dict[int, dict[str, list[Grant]]] = {
            s: defaultdict(list) for s in missing
        }
        for row in await _grant_rows(missing):
            grant = Grant.of_values(row)
            for key in grant.field_keys:
                loaded[grant.subject_id][key].append(grant)
        for subject, by_key in loaded.items():
            # Fields covered by the same grants share one tuple, which lets a
            # batch decide them once (see read).
            shared: dict[tuple[int, ...], tuple[Grant, ...]] = {}
            self._grants[subject] = {
                key: shared.setdefault(tuple(g.id for g in grants), tuple(grants))
                for key, grants in by_key.items()
            }

    async def _viewer_for(self, reads: Sequence[Read]) -> Viewer:
        """The viewer, with the projects it belongs to among those being read."""
        wanted = {read.project_id for read in reads if read.project_id is not None}
        missing = wanted - self._projects.keys()
        if missing and self.viewer.account_id is not None:
            member_of: set[Any] = set(
                await ProjectMember.filter(
                    account_id=self.viewer.account_id,
                    project_id__in=missing,
                    state=MembershipState.ACTIVE,
                ).values_list("project_id", flat=True)
            )
            for project_id in missing:
                self._projects[project_id] = project_id in member_of
        projects = frozenset(p for p, member in self._projects.items() if member)
        if projects == self.viewer.projects:
            return self.viewer
        return replace(self.viewer, projects=self.viewer.projects | projects)


async def _grant_rows(subjects: set[int]) -> list[tuple[Any, ...]]:
    """The decision's columns of these members' grants, as plain rows."""
    table = ConsentGrant._meta.db_table
    rows = await _rows_where(table, GRANT_COLUMNS, subject_id=sorted(subjects))
    return [
        (
            row["id"],
            row["subject_id"],
            row["audience"],
            row["audience_id"],
            row["purpose"],
            _json(row["field_keys"]),
            bool(row["explicit"]),
            _moment(row["expires_at"]),
            _moment(row["withdrawn_at"]),
        )
        for row in rows
    ]


async def _value_rows(subjects: set[int], keys: set[str]) -> list[tuple[Any, ...]]:
    """These members' stored values for these keys, as plain rows."""
    table = ProfileValue._meta.db_table
    columns = ("account_id", "key", "value")
    rows = await _rows_where(
        table, columns, account_id=sorted(subjects), key=sorted(keys)
    )
    return [(row["account_id"], row["key"], _json(row["value"])) for row in rows]


async def _rows_where(
    table: str, columns: Sequence[str], **within: Sequence[Any]
) -> Sequence[Any]:
    """Rows whose columns each hold one of the values given for them.

    Read without building models, nor even dicts: a page of 200 members
    costs a few milliseconds less, on the path of every list of profiles.
    Each row is the driver's own, read by column name. The drivers differ in
    what they hand back for JSON, booleans and times, which the callers even
    out.
    """
    conn = connections.get("default")
    postgres = conn.capabilities.dialect == "postgres"
    tests: list[str] = []
    parameters: list[Any] = []
    for column, values in within.items():
        if postgres:
            parameters.append(list(values))
            tests.append(f'"{column}" = ANY(${len(parameters)})')
        else:
            parameters.extend(values)
            tests.append(f'"{column}" IN ({", ".join("?" * len(values))})')
    selected = ", ".join(f'"{column}"' for column in columns)
    sql = f"SELECT {selected} FROM {table} WHERE {' AND '.join(tests)}"  # noqa: S608
    rows: Sequence[Any]
    _, rows = await conn.execute_query(sql, parameters)
    return rows


def _json(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def _moment(value: datetime | str | None) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


async def read_values(viewer: Viewer, reads: Sequence[Read]) -> list[Outcome]:
    """Decides one batch of reads and logs them at once: a one-off session."""
    session = Session(viewer)
    outcomes = await session.read(reads)
    await session.flush()
    return outcomes
