"""The consent decision: may this viewer use this member's field for this purpose?

Every read of a personal value goes through :func:`read_values`, which
decides for a whole batch of reads with a fixed number of statements: one
for the values, one for the grants, one to fold the allowed reads into the
access log. :func:`decide` is the rule itself, a pure function.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from myco_graph.domain import access_log, catalogue
from myco_graph.domain.profile import unwrap
from myco_graph.domain.accounts import now
from myco_graph.domain.models import (
    AccountKind,
    Audience,
    ConsentGrant,
    ProfileValue,
    Purpose,
)


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


@dataclass(frozen=True)
class Read:
    """One field of one member, read for one purpose (within a project or not)."""

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
    def of(cls, row: ConsentGrant) -> Grant:
        return cls(
            id=row.id,
            subject_id=row.subject_id,
            audience=row.audience,
            audience_id=row.audience_id,
            purpose=row.purpose,
            field_keys=frozenset(row.field_keys),
            explicit=row.explicit,
            expires_at=row.expires_at,
            withdrawn_at=row.withdrawn_at,
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
            return viewer.kind in {AccountKind.MEMBER, AccountKind.ADMIN}
        case Audience.MEMBER:
            return viewer.kind is not AccountKind.BRAND and (
                grant.audience_id == viewer.account_id
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


def usable_for(grant: Grant, read: Read) -> bool:
    """Special categories are never used to target offers, whatever a grant says."""
    field = catalogue.FIELDS[read.key]
    return not (field.special and read.purpose is Purpose.OFFER_MATCHING)


def decide(
    viewer: Viewer, read: Read, grants: Iterable[Grant], moment: datetime
) -> Decision:
    """Allowed under the newest matching active grant, or denied with a reason."""
    if viewer.account_id == read.subject_id:
        return OWN
    special = catalogue.FIELDS[read.key].special
    relevant = sorted(
        (
            grant
            for grant in grants
            if grant.subject_id == read.subject_id
            and read.key in grant.field_keys
            and reaches(grant, viewer, read)
            and usable_for(grant, read)
        ),
        key=lambda grant: grant.id,
        reverse=True,
    )
    same_purpose = [grant for grant in relevant if grant.purpose is read.purpose]
    for grant in same_purpose:
        if grant.active(moment) and (grant.explicit or not special):
            return Decision(grant_id=grant.id)
    if same_purpose:
        newest = same_purpose[0]
        if newest.withdrawn_at is not None:
            return Decision(reason=Reason.WITHDRAWN)
        if newest.active(moment):
            return Decision(reason=Reason.EXPLICIT_REQUIRED)
        return Decision(reason=Reason.EXPIRED)
    if any(grant.active(moment) for grant in relevant):
        return Decision(reason=Reason.PURPOSE_MISMATCH)
    return Decision(reason=Reason.NOT_SHARED)


@dataclass(frozen=True)
class Outcome:
    """The result of one read: the value when allowed, the reason otherwise."""

    decision: Decision
    value: Any = None


async def read_values(viewer: Viewer, reads: Sequence[Read]) -> list[Outcome]:
    """Decides a batch of reads, loads the allowed values, logs reads by others."""
    subjects = {read.subject_id for read in reads}
    keys = {read.key for read in reads}
    values_rows = await ProfileValue.filter(
        account_id__in=subjects, key__in=keys
    ).values_list("account_id", "key", "value")
    values = {(subject, key): unwrap(stored) for subject, key, stored in values_rows}
    others = subjects - {viewer.account_id}
    grants_by_subject: dict[int, list[Grant]] = defaultdict(list)
    if others:
        rows = await ConsentGrant.filter(subject_id__in=others).only(*GRANT_COLUMNS)
        for row in rows:
            grants_by_subject[row.subject_id].append(Grant.of(row))

    moment = now()
    outcomes: list[Outcome] = []
    allowed: list[tuple[Read, int]] = []
    for read in reads:
        decision = decide(viewer, read, grants_by_subject[read.subject_id], moment)
        if not decision.allowed:
            outcomes.append(Outcome(decision))
            continue
        outcomes.append(Outcome(decision, values.get((read.subject_id, read.key))))
        if decision.grant_id is not None:
            allowed.append((read, decision.grant_id))

    await access_log.record(viewer.key, viewer.account_id, allowed, moment)
    return outcomes
