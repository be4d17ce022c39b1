"""End to end, over generated worlds: the directory shows exactly what members shared.

Hypothesis makes members' values and grants (some expired, some withdrawn);
each member, an admin, a brand and an anonymous reader then read every field
of every member through the running server. The expectation comes from the
oracle in ``tests.consent_support``, never from the code under test.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from myco_graph.app import make_services
from myco_graph.domain import catalogue
from myco_graph.domain.accounts import now
from myco_graph.domain.catalogue import FieldType, ProfileField
from myco_graph.domain.consent import Grant, Read, Viewer
from myco_graph.domain.models import (
    AccessLogEntry,
    Account,
    AccountKind,
    Audience,
    ConsentGrant,
    Event,
    ProfileValue,
    Project,
    Purpose,
)
from myco_graph.infrastructure.config import Settings
from tests.consent_support import (
    as_input,
    end_to_end_examples,
    expected,
    global_id,
    grant,
    key_name,
    make_account,
    make_project,
    profile_selection,
    row_id_of,
    session_for,
    set_values,
    shown,
    withdraw,
)
from tests.helpers import GraphQLClient

HANDLES = ("ada", "bea", "cyd")
KEYS = sorted(catalogue.FIELDS)
FATES = ("open", "lasting", "expired", "withdrawn")

DIRECTORY = (
    f"{{ members(first: 10) {{ edges {{ node {{ id {profile_selection()} }} }} }} }}"
)
BY_NODE = (
    "query Members($m0: ID!, $m1: ID!, $m2: ID!) { "
    + " ".join(
        f"m{i}: node(id: $m{i}) {{ ... on Member {{ id {profile_selection()} }} }}"
        for i in range(len(HANDLES))
    )
    + " }"
)
ACCESS_LOG = """
{ viewer { ... on Member {
  accessLog(first: 50) { edges { node { viewer purpose fields grantIds reads } } }
} } }
"""


# The generated world ------------------------------------------------------------


class Values(dict[str, Any]):
    """A member's generated values; printed by key only, never by value."""

    def __repr__(self) -> str:
        return f"Values({sorted(self)})"


@dataclass(frozen=True)
class PlannedGrant:
    subject: int  # index of the member who grants
    keys: tuple[str, ...]
    audience: Audience
    audience_member: int | None  # index of the member, for Audience.MEMBER
    purpose: Purpose
    explicit: bool
    fate: str  # open, lasting (expires later), expired, withdrawn


@dataclass(frozen=True)
class World:
    values: tuple[Values, ...]
    grants: tuple[PlannedGrant, ...]


def values_of(spec: ProfileField) -> st.SearchStrategy[Any]:
    choices = sorted(spec.choice_values)
    match spec.type:
        case FieldType.TEXT:
            letters = "abcdefghijklmnopqrstuvwxyzÀéèüß0123456789"
            return st.text(st.sampled_from(letters), min_size=1, max_size=20)
        case FieldType.INTEGER:
            return st.integers(spec.minimum, spec.maximum)
        case FieldType.BOOLEAN:
            return st.booleans()
        case FieldType.DATE:
            return st.dates(date(1990, 1, 1), date(2030, 12, 31)).map(date.isoformat)
        case FieldType.CHOICE:
            return st.sampled_from(choices)
        case FieldType.CHOICES:
            return st.lists(st.sampled_from(choices), max_size=3, unique=True)
    raise AssertionError(spec.type)


@st.composite
def planned_grants(draw: st.DrawFn, pool: list[str]) -> PlannedGrant:
    """A grant the API accepts: special fields explicit, never for matching."""
    keys = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3, unique=True))
    purpose = draw(st.sampled_from([Purpose.DISPLAY] * 3 + list(Purpose)))
    if purpose is Purpose.OFFER_MATCHING:
        plain = [key for key in keys if not catalogue.FIELDS[key].special]
        keys, purpose = (plain, purpose) if plain else (keys, Purpose.RESEARCH)
    special = any(catalogue.FIELDS[key].special for key in keys)
    audience = draw(st.sampled_from(Audience))
    return PlannedGrant(
        subject=draw(st.integers(0, len(HANDLES) - 1)),
        keys=tuple(keys),
        audience=audience,
        audience_member=(
            draw(st.integers(0, len(HANDLES) - 1))
            if audience is Audience.MEMBER
            else None
        ),
        purpose=purpose,
        explicit=True if special else draw(st.booleans()),
        fate=draw(st.sampled_from(FATES)),
    )


@st.composite
def worlds(draw: st.DrawFn) -> World:
    """Values and grants over a small pool of fields, so that they meet."""
    pool = draw(st.lists(st.sampled_from(KEYS), min_size=1, max_size=6, unique=True))
    values = []
    for _ in HANDLES:
        keys = draw(st.sets(st.sampled_from(pool), max_size=len(pool)))
        values.append(
            Values(
                {key: draw(values_of(catalogue.FIELDS[key])) for key in sorted(keys)}
            )
        )
    grants = draw(st.lists(planned_grants(pool), max_size=5))
    return World(tuple(values), tuple(grants))


# The people who read ----------------------------------------------------------


@dataclass
class Reader:
    name: str
    viewer: Viewer
    token: str | None = field(repr=False)
    uses_directory: bool  # members and admins list members; others go by id


@dataclass
class Cast:
    members: list[Account]
    brand: Account
    project: Project
    tokens: dict[int, str] = field(repr=False)
    readers: list[Reader] = field(default_factory=list)


@pytest.fixture
async def cast(server: str, settings: Settings) -> Cast:
    """Three members, a brand, an admin and a project, made once per test."""
    issuer = make_services(settings).issuer
    members = [await make_account(handle) for handle in HANDLES]
    brand = await make_account("acme", AccountKind.BRAND)
    admin = await make_account("staff", AccountKind.ADMIN)
    project = await make_project("garden", members[0], members[1])
    tokens = {
        account.id: await session_for(issuer, account)
        for account in [*members, brand, admin]
    }
    readers = [
        Reader(
            account.handle,
            Viewer(account.id, account.kind),
            tokens[account.id],
            account.kind is not AccountKind.BRAND,
        )
        for account in [*members, admin, brand]
    ]
    readers.append(Reader("anonymous", Viewer.anonymous(), None, False))
    return Cast(members, brand, project, tokens, readers)


# Building the world through the API --------------------------------------------


async def reset() -> None:
    """Each example starts from accounts alone."""
    for model in (AccessLogEntry, ConsentGrant, ProfileValue, Event):
        await model.all().delete()


def audience_id(cast: Cast, planned: PlannedGrant) -> tuple[str | None, int | None]:
    """The audience's global id for the API and its row id for the oracle."""
    if planned.audience is Audience.MEMBER:
        assert planned.audience_member is not None
        member = cast.members[planned.audience_member]
        return global_id("Member", member.id), member.id
    if planned.audience is Audience.BRAND:
        return global_id("Brand", cast.brand.id), cast.brand.id
    if planned.audience is Audience.PROJECT:
        return global_id("Project", cast.project.id), cast.project.id
    return None, None


async def build(api: GraphQLClient, cast: Cast, world: World) -> list[Grant]:
    """Stores the world through the API; returns its grants as the oracle sees them."""
    for member, values in zip(cast.members, world.values, strict=True):
        if values:
            await set_values(api, cast.tokens[member.id], values)
    moment = now()
    grants = []
    for planned in world.grants:
        subject = cast.members[planned.subject]
        token = cast.tokens[subject.id]
        given_id, row_audience = audience_id(cast, planned)
        expires = moment + timedelta(days=1) if planned.fate != "open" else None
        created = await grant(
            api,
            token,
            list(planned.keys),
            planned.audience.name,
            given_id,
            purpose=planned.purpose.name,
            explicit=planned.explicit,
            expires_at=expires.isoformat() if expires else None,
        )
        row_id = row_id_of(created["id"])
        withdrawn = None
        if planned.fate == "expired":
            expires = moment - timedelta(days=1)
            await ConsentGrant.filter(id=row_id).update(expires_at=expires)
        if planned.fate == "withdrawn":
            await withdraw(api, token, created["id"])
            withdrawn = moment
        grants.append(
            Grant(
                id=row_id,
                subject_id=subject.id,
                audience=planned.audience,
                audience_id=row_audience,
                purpose=planned.purpose,
                field_keys=frozenset(planned.keys),
                explicit=planned.explicit,
                expires_at=expires,
                withdrawn_at=withdrawn,
            )
        )
    return grants


# Reading and checking -----------------------------------------------------------


async def read_all(api: GraphQLClient, cast: Cast, reader: Reader) -> dict[str, Any]:
    if reader.uses_directory:
        result = await api(DIRECTORY, token=reader.token)
    else:
        ids = {
            f"m{i}": global_id("Member", member.id)
            for i, member in enumerate(cast.members)
        }
        result = await api(BY_NODE, ids, token=reader.token)
    return result.body


def profiles_in(body: dict[str, Any]) -> dict[int, dict[str, Any]]:
    data = body["data"]
    if "members" in data:
        nodes = [edge["node"] for edge in data["members"]["edges"]]
    else:
        nodes = list(data.values())
    return {row_id_of(node["id"]): node["profile"] for node in nodes}


def denials_in(body: dict[str, Any]) -> set[tuple[int, str, str, str | None]]:
    """(subject, field, code, reason) of each error, found through its path."""
    denials = set()
    for error in body.get("errors", []):
        node = body["data"]
        for step in error["path"][:-3]:
            node = node[step]
        key = ".".join(error["path"][-2:])
        extensions = error["extensions"]
        denials.add(
            (row_id_of(node["id"]), key, extensions["code"], extensions.get("reason"))
        )
    return denials


def same_value(key: str, given: Any, stored: Any) -> bool:
    if stored is None:
        return given is None
    if isinstance(given, list):
        given = sorted(given)
    return bool(given == as_input(key, stored))


@dataclass
class LogLine:
    fields: set[str] = field(default_factory=set)
    grants: set[int] = field(default_factory=set)
    reads: int = 0


async def logs_of(api: GraphQLClient, cast: Cast) -> dict[int, dict[str, LogLine]]:
    """Each member's access log as they see it, per viewer (days merged)."""
    logs: dict[int, dict[str, LogLine]] = {}
    results = await asyncio.gather(
        *(api(ACCESS_LOG, token=cast.tokens[member.id]) for member in cast.members)
    )
    for member, result in zip(cast.members, results, strict=True):
        lines: dict[str, LogLine] = defaultdict(LogLine)
        for edge in result.data["viewer"]["accessLog"]["edges"]:
            node = edge["node"]
            assert node["purpose"] == "DISPLAY"
            line = lines[node["viewer"]]
            line.fields |= set(node["fields"])
            line.grants |= {row_id_of(gid) for gid in node["grantIds"]}
            line.reads += node["reads"]
        logs[member.id] = dict(lines)
    return logs


@settings(
    max_examples=end_to_end_examples(),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(world=worlds())
async def test_directory_shows_only_what_grants_allow_and_logs_every_read(
    api: GraphQLClient, cast: Cast, world: World
) -> None:
    await reset()
    grants = await build(api, cast, world)
    moment = now()
    wrong: list[tuple[str, str, str]] = []
    want_logs: dict[int, dict[str, LogLine]] = defaultdict(lambda: defaultdict(LogLine))

    bodies = await asyncio.gather(*(read_all(api, cast, r) for r in cast.readers))
    for reader, body in zip(cast.readers, bodies, strict=True):
        profiles = profiles_in(body)
        want_denials = set()
        for member, values in zip(cast.members, world.values, strict=True):
            for key in KEYS:
                read = Read(member.id, key, Purpose.DISPLAY)
                want = expected(reader.viewer, read, grants, moment)
                given = shown(profiles[member.id], key)
                stored = values.get(key) if want.allowed else None
                if not same_value(key, given, stored):
                    wrong.append((reader.name, member.handle, key))
                if not want.allowed:
                    want_denials.add((member.id, key, "CONSENT_REQUIRED", want.reason))
                elif want.grant_id is not None:
                    line = want_logs[member.id][reader.viewer.key]
                    line.fields.add(key_name(key))
                    line.grants.add(want.grant_id)
                    line.reads += 1
        assert denials_in(body) == want_denials, reader.name

    assert wrong == []
    assert await logs_of(api, cast) == {
        member.id: dict(want_logs[member.id]) for member in cast.members
    }
