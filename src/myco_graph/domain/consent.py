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
from collections import defaultdict
from collections.abc import Awaitable, Collection, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple

import orjson

from myco_graph.domain import access_log, catalogue
from myco_graph.domain.accounts import now
from myco_graph.domain.models import (
    AccountKind,
    Audience,
    MembershipState,
    ProjectMember,
    Purpose,
)
from myco_graph.domain.profile import unwrap
from myco_graph.infrastructure import sql


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


class Grant(NamedTuple):
    """The parts of a grant the decision looks at.

    A named tuple: a page of members loads hundreds of these per request.
    """

    id: int
    subject_id: int
    audience: Audience
    audience_id: int | None
    purpose: Purpose
    field_keys: frozenset[str]
    explicit: bool
    expires_at: datetime | None
    withdrawn_at: datetime | None

    def active(self, moment: datetime) -> bool:
        return self.withdrawn_at is None and (
            self.expires_at is None or self.expires_at > moment
        )


@dataclass(frozen=True)
class Decision:
    grant_id: int | None = None
    reason: Reason | None = None
    # The grant as the access log records it: made once with the decision.
    grants: frozenset[int] = frozenset()

    @property
    def allowed(self) -> bool:
        return self.reason is None


OWN = Decision()
DENIED = {reason: Decision(reason=reason) for reason in Reason}
SPECIAL_KEYS = frozenset(key for key, spec in catalogue.FIELDS.items() if spec.special)


@functools.lru_cache(maxsize=4096)
def allowed_by(grant_id: int) -> Decision:
    """The decision "allowed under this grant", made once per grant."""
    return Decision(grant_id=grant_id, grants=frozenset((grant_id,)))


# Enum members read once, here: reading one off its class costs Python 3.11
# about as much as a function call, and the decision runs for every field
# group of every profile a page shows.
PUBLIC, COOP, MEMBER, BRAND, PROJECT = (
    Audience.PUBLIC,
    Audience.COOP,
    Audience.MEMBER,
    Audience.BRAND,
    Audience.PROJECT,
)
MEMBER_ACCOUNT, BRAND_ACCOUNT = AccountKind.MEMBER, AccountKind.BRAND
OFFER_MATCHING = Purpose.OFFER_MATCHING
NOT_SHARED = DENIED[Reason.NOT_SHARED]
EXPIRED = DENIED[Reason.EXPIRED]
WITHDRAWN = DENIED[Reason.WITHDRAWN]
PURPOSE_MISMATCH = DENIED[Reason.PURPOSE_MISMATCH]
EXPLICIT_REQUIRED = DENIED[Reason.EXPLICIT_REQUIRED]


def reaches(grant: Grant, viewer: Viewer, project_id: int | None) -> bool:
    """True when the grant's audience includes the viewer.

    ``project_id`` is the project the read is made within, if any.
    """
    audience = grant.audience
    if audience is COOP:
        # The coop's members: not its staff accounts, not brands.
        return viewer.kind is MEMBER_ACCOUNT
    if audience is PUBLIC:
        return True
    if audience is MEMBER:
        # An anonymous viewer's id is None too: it must not match a grant
        # whose audience id is missing.
        return (
            viewer.account_id is not None
            and viewer.kind is not BRAND_ACCOUNT
            and grant.audience_id == viewer.account_id
        )
    if audience is BRAND:
        return viewer.kind is BRAND_ACCOUNT and grant.audience_id == viewer.account_id
    if audience is PROJECT:
        return (
            project_id is not None
            and grant.audience_id == project_id
            and project_id in viewer.projects
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
    subject_id, key, purpose, project_id = read
    return _decide(viewer, subject_id, key, purpose, project_id, grants, moment)


def _decide(
    viewer: Viewer,
    subject_id: int,
    key: str,
    purpose: Purpose,
    project_id: int | None,
    grants: Iterable[Grant],
    moment: datetime,
) -> Decision:
    """:func:`decide`, for a read given by its parts."""
    if viewer.account_id == subject_id:
        return OWN
    special = key in SPECIAL_KEYS
    if special and purpose is OFFER_MATCHING:
        # Special categories never target offers, whatever a grant says.
        return NOT_SHARED
    newest: Grant | None = None
    usable: Grant | None = None
    other_purpose_active = False
    for grant in grants:
        if (
            grant.subject_id != subject_id
            or key not in grant.field_keys
            or not reaches(grant, viewer, project_id)
        ):
            continue
        if grant.purpose is not purpose:
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
            return WITHDRAWN
        if newest.active(moment):
            return EXPLICIT_REQUIRED
        return EXPIRED
    if other_purpose_active:
        return PURPOSE_MISMATCH
    return NOT_SHARED


# A profile read one way: subject, purpose, and the project it is read within.
Whose = tuple[int, Purpose, int | None]
# The grants that cover a set of fields of one member, and those fields.
Coverage = tuple[tuple[Grant, ...], frozenset[str]]
# Fields of one member decided together: the grants covering them, and them.
Part = tuple[tuple[Grant, ...], AbstractSet[str]]
NO_GRANTS: tuple[Grant, ...] = ()
NO_KEYS: frozenset[str] = frozenset()


class Made(NamedTuple):
    """Some fields of one profile decided: what a profile takes from it.

    ``parts`` pairs each group of fields decided together with its decision;
    ``denied`` gives each refused field's reason, ``logged`` each allowed
    group with the grants the access log records; ``until`` is when one of
    the grants expires and the decision may change (None: never by itself).
    Every profile decided the same way shares it: nothing changes it.
    """

    parts: tuple[tuple[frozenset[str], Decision], ...]
    denied: dict[str, Reason]
    logged: tuple[tuple[frozenset[str], frozenset[int]], ...]
    until: datetime | None


class MemberGrants:
    """One member's grants as the decision uses them, and what it made of them.

    ``coverages`` groups the grants by the fields they cover (see
    _coverage). The same grants, read the same way, decide the same until
    one expires: ``made`` keeps those decisions by reader (see _reader) and
    fields, the reader being only a kind of viewer where that is all the
    grants look at (see ``personal``). The process keeps a member's grants
    while they stay the same (see _coverages_of), so a page read again is
    decided again only where time has caught up with a grant.
    """

    __slots__ = ("coverages", "made", "personal")

    # Kept decisions per member's grants: a few readers, a few field sets.
    MADE_AT_MOST = 32

    def __init__(self, coverages: tuple[Coverage, ...]) -> None:
        self.coverages = coverages
        self.made: dict[tuple[object, AbstractSet[str]], Made] = {}
        # Grants to everyone or to the coop reach a viewer by kind alone:
        # decisions under them are kept once for all viewers of a kind.
        # Grants to one member, one brand or one project need the viewer.
        self.personal = any(
            grant.audience not in (PUBLIC, COOP)
            for covering, _ in coverages
            for grant in covering
        )


# A member without grants. Shared by all of them: decisions under no grant
# are the same whoever the member is (their own reads aside, see
# _decide_all).
NO_COVERAGE = MemberGrants(())


class Outcome(NamedTuple):
    """The result of one read: the value when allowed, the reason otherwise."""

    decision: Decision
    value: Any = None


@dataclass(slots=True)
class Decided:
    """One profile read one way: the fields decided, their decisions, the values.

    Fields decided together share one decision: ``parts`` holds each group
    with its decision, and ``keys`` every field decided so far. ``values``
    holds the member's stored values, allowed or not: readers show a value
    only where its decision allows it. ``denied`` gives the reason of each
    refused field, so that building a profile looks at no decision of the
    fields it shows.
    """

    values: dict[str, Any]
    keys: frozenset[str]
    parts: list[tuple[AbstractSet[str], Decision]]
    denied: dict[str, Reason]

    def decision(self, key: str) -> Decision:
        for keys, decision in self.parts:
            if key in keys:
                return decision
        raise KeyError(key)

    def outcome(self, key: str) -> Outcome:
        decision = self.decision(key)
        if decision.reason is not None:
            return Outcome(decision)
        return Outcome(decision, self.values.get(key))


class Session:
    """The consent reads of one request, batched, with what they already loaded.

    A batch (:meth:`read_profiles` for a list's profiles, :meth:`read` for
    any reads) costs at most one statement for values, one for the grants
    of members not seen yet in this session (their digests; a second one
    reads those the process has not kept parsed, see _coverages_of), and
    one for the viewer's project memberships when it reads within a
    project; the values load while the rest is read and decided. Fields of
    one member covered by the same grants are decided together, by one
    decision (see :func:`decide`). Allowed reads by someone else are folded
    into the access log with one statement, which :meth:`flush` waits for.

    A session that lives long (a websocket) must see withdrawals at once:
    ``remember=False`` reloads grants and values for every batch.
    """

    def __init__(self, viewer: Viewer, *, remember: bool = True) -> None:
        self.viewer = viewer
        self.remember = remember
        # Per member: their grants as the decision uses them.
        self._grants: dict[int, MemberGrants] = {}
        self._values: dict[int, dict[str, Any]] = {}
        self._loaded: dict[int, frozenset[str]] = {}
        self._projects: dict[int, bool] = {}
        self._pending = access_log.Folded()
        self._writes: list[asyncio.Task[None]] = []
        self._decided: dict[Whose, Decided] = {}

    def decided(self, whose: Whose) -> Decided | None:
        """What is already decided of one profile read one way."""
        return self._decided.get(whose)

    def knows_membership(self, project_id: int, member: bool) -> None:
        """Records the viewer's standing in a project, read by the caller already."""
        self._projects.setdefault(project_id, member)

    def forget(self, subject_id: int) -> None:
        """Drops what the session holds about a member whose data just changed."""
        self._grants.pop(subject_id, None)
        self._values.pop(subject_id, None)
        self._loaded.pop(subject_id, None)
        self._decided = {
            whose: decided
            for whose, decided in self._decided.items()
            if whose[0] != subject_id
        }

    async def read(self, reads: Sequence[Read]) -> list[Outcome]:
        """Decides a batch of reads and returns their outcomes, in order."""
        wanted: dict[Whose, set[str]] = defaultdict(set)
        for read in reads:
            wanted[(read.subject_id, read.purpose, read.project_id)].add(read.key)
        decided = await self.decide_profiles(wanted)
        return [
            decided[(read.subject_id, read.purpose, read.project_id)].outcome(read.key)
            for read in reads
        ]

    async def read_profiles(
        self,
        subject_ids: Sequence[int],
        keys: frozenset[str],
        purpose: Purpose,
        project_id: int | None = None,
    ) -> list[Decided]:
        """Decides the same fields of several profiles, as a list shows them.

        The profiles come back in the order of ``subject_ids``.
        """
        wanted = {(subject, purpose, project_id): keys for subject in subject_ids}
        projects = set() if project_id is None else {project_id}
        decided = await self._decide_batch(wanted, set(subject_ids), projects)
        if len(decided) == len(subject_ids):
            return decided
        # A member listed twice: both places show the one decided profile.
        by_whose = dict(zip(wanted, decided, strict=True))
        return [by_whose[(subject, purpose, project_id)] for subject in subject_ids]

    async def decide_profiles(
        self, wanted: Mapping[Whose, AbstractSet[str]]
    ) -> dict[Whose, Decided]:
        """Decides the wanted fields of each profile (read one way), as one batch."""
        subjects = {subject for subject, _, _ in wanted}
        projects = {project for _, _, project in wanted if project is not None}
        decided = await self._decide_batch(wanted, subjects, projects)
        return dict(zip(wanted, decided, strict=True))

    async def _decide_batch(
        self,
        wanted: Mapping[Whose, AbstractSet[str]],
        subjects: set[int],
        projects: set[int],
    ) -> list[Decided]:
        """The profiles of ``wanted`` decided, in its order."""
        if not self.remember:
            self._grants, self._values, self._loaded = {}, {}, {}
            self._projects = {}
        unknown = projects - self._projects.keys()
        if self.viewer.account_id is None:
            unknown = set()
        # Deciding needs no value: the values load while the grants are read
        # and the fields decided, and are awaited once all is decided.
        missing = self._missing_values(wanted)
        values = asyncio.ensure_future(self._load_values(missing)) if missing else None
        try:
            grants = self._load_grants_and_memberships(subjects, unknown)
            if values is None:
                await grants
            else:
                # A task of its own, started after the values' one: the
                # values' statement, the longer of the two, goes out first.
                await asyncio.ensure_future(grants)
            decided = self._decide_all(wanted)
        except BaseException:
            if values is not None:
                # Not left running unwatched; the first failure is the one raised.
                await asyncio.gather(values, return_exceptions=True)
            raise
        if values is not None:
            await values
        if self.remember and not self._writes and self._pending.rows:
            # The first batch of a request is logged while the rest of the
            # response is being built; flush() waits for it before anything
            # is sent, so no value leaves unlogged.
            self._start_writing()
            # Let the write reach the database before the caller goes on:
            # the rest of a page is built without giving the loop back.
            await asyncio.sleep(0)
        return decided

    def _decide_all(self, wanted: Mapping[Whose, AbstractSet[str]]) -> list[Decided]:
        """Decides the wanted fields of each profile; logs the allowed ones.

        One loop for the whole batch, with what it looks up held in locals:
        a page runs it for each of its profiles. A member's own fields are
        always theirs; others are decided under the member's grants, or
        taken from what was decided under them before (see MemberGrants).
        """
        viewer, moment = self._viewer(), now()
        # A session that does not remember keeps no profile between batches.
        known_of = self._decided if self.remember else {}
        values_of, grants_of, pending = self._values, self._grants, self._pending
        own = viewer.account_id
        # Most batches read for one purpose: its readers are looked up once,
        # this viewer and any viewer of its kind (see MemberGrants.personal).
        last: tuple[Purpose | None, int | None] = (None, None)
        reader: object = None
        any_of_kind: object = None
        of_kind = Viewer(account_id=None, kind=viewer.kind)
        decided: list[Decided] = []
        for whose, keys in wanted.items():
            subject_id, purpose, project_id = whose
            known = known_of.get(whose)
            if known is None:
                # Every member of the batch has its values (see _missing_values).
                known = Decided(values_of[subject_id], NO_KEYS, [], {})
                known_of[whose] = known
            decided.append(known)
            # Frozen, as decisions are kept by it (a list's is already).
            remaining = frozenset(keys - known.keys if known.keys else keys)
            if not remaining:
                continue
            known.keys = known.keys | remaining if known.keys else remaining
            if subject_id == own:
                known.parts.append((remaining, OWN))
                continue
            if purpose is not last[0] or project_id != last[1]:
                reader = _reader(viewer, purpose, project_id)
                any_of_kind = _reader(of_kind, purpose, None)
                last = (purpose, project_id)
            grants = grants_of.get(subject_id, NO_COVERAGE)
            key = (reader if grants.personal else any_of_kind, remaining)
            made = grants.made.get(key)
            if made is None or (made.until is not None and moment >= made.until):
                made = _decide_under(
                    grants, viewer, subject_id, purpose, project_id, remaining, moment
                )
                if len(grants.made) >= MemberGrants.MADE_AT_MOST:
                    grants.made.clear()
                grants.made[key] = made
            known.parts.extend(made.parts)
            if made.denied:
                known.denied.update(made.denied)
            for same, grant_ids in made.logged:
                pending.add(subject_id, purpose, same, grant_ids)
        return decided

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
        if len(writes) == 1:
            await writes[0]  # as a request's reads usually are: one batch
        elif writes:
            await asyncio.gather(*writes)

    async def _load_grants_and_memberships(
        self, subjects: set[int], projects: set[int]
    ) -> None:
        """Reads the grants the session lacks and the viewer's memberships."""
        grants = subjects - self._grants.keys() - {self.viewer.account_id}
        reads: list[Awaitable[None]] = []
        if grants:
            reads.append(self._load_grants(grants))
        if projects:
            reads.append(self._memberships(projects))
        if len(reads) > 1:
            await asyncio.gather(*reads)
        elif reads:
            await reads[0]

    async def _load_values(self, missing: Mapping[int, AbstractSet[str]]) -> None:
        # A list's profiles all want the same fields: one set, many times.
        distinct = {id(keys): keys for keys in missing.values()}
        keys: set[str] = set().union(*distinct.values())
        values = self._values
        # A row may be one this session had loaded already: the same value.
        for subject, key, stored in await stored_values(missing.keys(), keys):
            values[subject][key] = unwrap(stored)

    async def _load_grants(self, missing: set[int]) -> None:
        found = await _coverages_of(missing)
        self._grants.update(dict.fromkeys(missing, NO_COVERAGE))
        self._grants.update(found)

    def _missing_values(
        self, wanted: Mapping[Whose, AbstractSet[str]]
    ) -> dict[int, AbstractSet[str]]:
        """The fields of each member not loaded yet, now counted as loaded."""
        missing: dict[int, AbstractSet[str]] = {}
        loaded_of, values = self._loaded, self._values
        for (subject, _, _), keys in wanted.items():
            loaded = loaded_of.get(subject)
            if loaded is None:
                # Kept as given: a list hands every member the same frozen set.
                loaded_of[subject] = frozenset(keys)
                values.setdefault(subject, {})
                missing[subject] = keys
            elif not keys <= loaded:
                needed = frozenset(keys - loaded)
                loaded_of[subject] = loaded | needed
                missing[subject] = needed | missing.get(subject, frozenset())
        return missing

    async def _memberships(self, projects: set[int]) -> None:
        """Reads whether the viewer belongs to each of these projects."""
        found: set[Any] = set(
            await ProjectMember.filter(
                account_id=self.viewer.account_id,
                project_id__in=projects,
                state=MembershipState.ACTIVE,
            ).values_list("project_id", flat=True)
        )
        for project_id in projects:
            self._projects[project_id] = project_id in found

    def _viewer(self) -> Viewer:
        """The viewer, with the projects it belongs to among those read so far."""
        member_of = frozenset(p for p, member in self._projects.items() if member)
        if member_of <= self.viewer.projects:
            return self.viewer
        return replace(self.viewer, projects=self.viewer.projects | member_of)


@functools.lru_cache(maxsize=1024)
def _reader(viewer: Viewer, purpose: Purpose, project_id: int | None) -> object:
    """Stands for one viewer reading for one purpose, within a project or not.

    Decisions are kept by it: an object hashes at once, where the viewer and
    the purpose hash through Python code, for each profile of a page.
    """
    return object()


def _decide_under(
    grants: MemberGrants,
    viewer: Viewer,
    subject_id: int,
    purpose: Purpose,
    project_id: int | None,
    keys: AbstractSet[str],
    moment: datetime,
) -> Made:
    """Decides ``keys`` of one member under their grants, as of ``moment``."""
    coverages = grants.coverages
    if (
        len(coverages) == 1
        and keys <= coverages[0][1]
        and SPECIAL_KEYS.isdisjoint(keys)
    ):
        # The usual profile: one grant covers every wanted field.
        parts: Iterable[Part] = ((coverages[0][0], keys),)
    else:
        parts = _parts(coverages, keys)
    made: list[tuple[frozenset[str], Decision]] = []
    denied: dict[str, Reason] = {}
    logged: list[tuple[frozenset[str], frozenset[int]]] = []
    for covering, fields in parts:
        # Fields covered by the same grants, of the same category, get the
        # same answer: one decision for all of them.
        same = frozenset(fields)
        decision = _decide(
            viewer, subject_id, next(iter(same)), purpose, project_id, covering, moment
        )
        made.append((same, decision))
        if decision.reason is not None:
            denied.update(dict.fromkeys(same, decision.reason))
        elif decision.grants:
            logged.append((same, decision.grants))
    # A grant that has not expired yet will: then the decision is made anew.
    expiries = [
        grant.expires_at
        for covering, _ in coverages
        for grant in covering
        if grant.expires_at is not None and grant.expires_at > moment
    ]
    return Made(tuple(made), denied, tuple(logged), min(expiries, default=None))


def _parts(coverages: Sequence[Coverage], keys: AbstractSet[str]) -> list[Part]:
    """``keys`` split by the grants covering them and by category.

    Each part gets one decision: its fields are covered by the same grants
    and are all special-category fields, or none is.
    """
    if not keys:
        return []
    parts: list[Part] = []
    remaining = set(keys)
    for grants, covered in [*coverages, (NO_GRANTS, None)]:
        part = remaining if covered is None else remaining & covered
        if not part:
            continue
        if covered is not None:
            remaining -= part
        special = part & SPECIAL_KEYS
        if special and len(special) < len(part):
            parts.append((grants, part - special))
        parts.append((grants, special or part))
    return parts


def _coverage(grants: list[Grant]) -> tuple[Coverage, ...]:
    """A member's grants grouped by the fields they cover, each field once.

    Most members have a grant or two per purpose; a single grant is its own
    group. Otherwise each field goes with the exact set of grants covering it.
    """
    if len(grants) == 1:
        return (((grants[0],), grants[0].field_keys),)
    groups: dict[tuple[Grant, ...], set[str]] = defaultdict(set)
    for key in set().union(*(grant.field_keys for grant in grants)):
        groups[tuple(g for g in grants if key in g.field_keys)].add(key)
    return tuple((covering, frozenset(keys)) for covering, keys in groups.items())


# Enum members by stored value: a look-up, cheaper than calling the enum.
AUDIENCES = {audience.value: audience for audience in Audience}
PURPOSES = {purpose.value: purpose for purpose in Purpose}


# The session's reads, by hand (see infrastructure.sql): on the path of every
# list of profiles. Values as stored, not decided: only a session shows them.
VALUES = sql.Statement("""
SELECT account_id, key, value FROM profile_values
WHERE account_id = ANY($1) AND key = ANY($2)
""")
# A page's grants, read from consent_digests (see ConsentDigest): for each
# member, the digest of their grants' document, or with it the document
# itself, which holds what the decision reads of each grant, in Grant's
# order. A page's members come in one row, as arrays, which the driver
# reads without any parsing (a row per member cost it more than every
# decision of the page); SQLite sends JSON arrays.
DIGESTS = sql.Statement(
    """
SELECT array_agg(subject_id), array_agg(digest) FROM consent_digests
WHERE subject_id = ANY($1)
""",
    sqlite="""
SELECT json_group_array(subject_id), json_group_array(digest) FROM consent_digests
WHERE subject_id IN (SELECT value FROM json_each($1))
""",
)
DOCUMENTS = sql.Statement(
    """
SELECT array_agg(subject_id), array_agg(digest), array_agg(grants)
FROM consent_digests WHERE subject_id = ANY($1)
""",
    sqlite="""
SELECT json_group_array(subject_id), json_group_array(digest),
    json_group_array(grants)
FROM consent_digests WHERE subject_id IN (SELECT value FROM json_each($1))
""",
)
# Parsed grants the process keeps, by member and digest: a digest names one
# document, so a kept entry is never out of date, only no longer asked for.
# The first kept goes first once there are this many: a page's worth of
# members many times over.
KEPT_GRANTS = 8192
_kept: dict[tuple[int, str], MemberGrants] = {}


def forget_kept_grants() -> None:
    """Drops the parsed grants the process keeps, as when a database is emptied."""
    _kept.clear()


async def stored_values(
    subjects: Collection[int], keys: Collection[str]
) -> list[tuple[Any, ...]]:
    """These members' stored values for these keys, as plain rows."""
    rows = await sql.fetch(VALUES, sorted(subjects), sorted(keys))
    return [(subject, key, sql.json_value(value)) for subject, key, value in rows]


async def _coverages_of(subjects: Collection[int]) -> dict[int, MemberGrants]:
    """These members' grants, as the decision uses them (see MemberGrants).

    One statement reads their digests; the grants of members whose digest
    the process has not kept are read in a second one and kept.
    """
    [(members, digests)] = await sql.fetch(DIGESTS, list(subjects))
    if members is None:  # nobody here has granted anything
        return {}
    found: dict[int, MemberGrants] = {}
    unknown: list[int] = []
    for whose in zip(sql.json_value(members), sql.json_value(digests), strict=True):
        grants = _kept.get(whose)
        if grants is None:
            unknown.append(whose[0])
        else:
            found[whose[0]] = grants
    if unknown:
        found.update(await _read_coverages(unknown))
    return found


async def _read_coverages(subjects: list[int]) -> dict[int, MemberGrants]:
    """These members' grants, parsed from their documents and kept."""
    [(members, digests, documents)] = await sql.fetch(DOCUMENTS, subjects)
    if members is None:  # withdrawn and erased since their digests were read
        return {}
    found: dict[int, MemberGrants] = {}
    for subject, digest, document in zip(
        sql.json_value(members),
        sql.json_value(digests),
        sql.json_value(documents),
        strict=True,
    ):
        # The document read now, even if it changed since the digest was:
        # it is the newer one, and it is kept by its own digest.
        grants = found[subject] = MemberGrants(_parse_coverage(document))
        if len(_kept) >= KEPT_GRANTS:
            del _kept[next(iter(_kept))]
        _kept[(subject, digest)] = grants
    return found


def _parse_coverage(document: str) -> tuple[Coverage, ...]:
    """One member's grants grouped by the fields they cover, from the JSON
    document the database keeps of them.

    What comes out is never changed, so requests share it.
    """
    time = datetime.fromisoformat
    grants = [
        Grant(
            grant_id,
            subject_id,
            AUDIENCES[audience],
            audience_id,
            PURPOSES[purpose],
            frozenset(keys),
            bool(explicit),
            None if expires_at is None else time(expires_at),
            None if withdrawn_at is None else time(withdrawn_at),
        )
        for (grant_id, subject_id, audience, audience_id, purpose, keys, explicit,
             expires_at, withdrawn_at) in orjson.loads(document)
    ]  # fmt: skip
    return _coverage(grants)


async def read_values(viewer: Viewer, reads: Sequence[Read]) -> list[Outcome]:
    """Decides one batch of reads and logs them at once: a one-off session."""
    session = Session(viewer)
    outcomes = await session.read(reads)
    await session.flush()
    return outcomes
