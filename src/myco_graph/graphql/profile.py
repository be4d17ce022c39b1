"""The profile in GraphQL, derived from the catalogue.

``Member.profile`` has one object per section and one typed field per
catalogue field, so frontends get typed code generation. Every one of those
values goes through the consent decision, batched per request; the purpose
comes from the path that led to the profile, never from the client.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import AsyncIterator, Callable, Sequence
from enum import Enum
from typing import Any, NamedTuple, Protocol

import strawberry
from starlette.websockets import WebSocket
from strawberry.dataloader import DataLoader
from strawberry.extensions import SchemaExtension
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField

from myco_graph.domain import catalogue, consent, profile
from myco_graph.domain.catalogue import FieldType, ProfileField, Section
from myco_graph.domain.models import AccountKind, Purpose
from myco_graph.errors import ConsentRequired
from myco_graph.graphql.context import Context, Info
from myco_graph.graphql.errors import UserError, user_errors


def _pascal(name: str) -> str:
    return name[:1].upper() + name[1:]


def _enum_member(value: str) -> str:
    return value.upper()


def graphql_name(spec: ProfileField) -> str:
    return _pascal(spec.section) + _pascal(spec.name)


def _choice_enum(spec: ProfileField) -> type[Enum]:
    members = {_enum_member(choice.value): choice.value for choice in spec.choices}
    enum: type[Enum] = Enum(f"{graphql_name(spec)}Choice", members)  # type: ignore[misc]
    return strawberry.enum(enum, description=f"Choices of {spec.key}.")


CHOICE_ENUMS: dict[str, type[Enum]] = {
    spec.key: _choice_enum(spec) for spec in catalogue.FIELDS.values() if spec.choices
}
# The member of each stored choice, by field: a look-up is cheaper than
# calling the enum, for every choice of every profile a page shows.
CHOICE_MEMBERS: dict[str, dict[str, Enum]] = {
    key: {member.value: member for member in enum} for key, enum in CHOICE_ENUMS.items()
}


def value_type(spec: ProfileField) -> Any:
    """The GraphQL type of a field's value."""
    match spec.type:
        case FieldType.TEXT:
            return str
        case FieldType.INTEGER:
            return int
        case FieldType.BOOLEAN:
            return bool
        case FieldType.DATE:
            return dt.date
        case FieldType.CHOICE:
            return CHOICE_ENUMS[spec.key]
        case FieldType.CHOICES:
            return list[CHOICE_ENUMS[spec.key]]  # type: ignore[valid-type, name-defined]
    raise AssertionError(spec.type)


# How a stored value (never None) becomes its GraphQL value; None where it
# goes out as stored (text, numbers, booleans).
Reader = Callable[[Any], Any] | None


def reader(spec: ProfileField) -> Reader:
    """The conversion of one field's stored values, made once per field."""
    if spec.type is FieldType.DATE:
        return dt.date.fromisoformat
    if spec.type is FieldType.CHOICE:
        return CHOICE_MEMBERS[spec.key].__getitem__
    if spec.type is FieldType.CHOICES:
        members = CHOICE_MEMBERS[spec.key]
        return lambda stored: [members[item] for item in stored]
    return None


READERS: dict[str, Reader] = {
    key: reader(spec) for key, spec in catalogue.FIELDS.items()
}


def to_graphql(spec: ProfileField, stored: Any) -> Any:
    read = READERS[spec.key]
    return stored if stored is None or read is None else read(stored)


def from_graphql(spec: ProfileField, given: Any) -> Any:
    if isinstance(given, Enum):
        return given.value
    if isinstance(given, list):
        return [item.value if isinstance(item, Enum) else item for item in given]
    if isinstance(given, dt.date):
        return given.isoformat()
    return given


# Reading --------------------------------------------------------------------
#
# A profile is decided whole when its field resolves: its sections and their
# values are plain attributes, so a page of members costs one resolver call
# per member instead of one per section and one per value.


class ProfileAccess(NamedTuple):
    """Whose profile, and for which purpose it is being read.

    A named tuple, and so the consent session's ``Whose`` itself: each
    profile of a page makes one.
    """

    subject_id: int
    purpose: Purpose
    project_id: int | None = None


class ProfileRead(NamedTuple):
    """Some fields of one profile read one way: what the consent loader takes."""

    whose: consent.Whose
    keys: frozenset[str]


def consent_session(context: Context) -> consent.Session:
    """The request's consent session, made on first use.

    Over a websocket the context lives as long as the connection, so the
    session keeps nothing between batches and logs each batch at once.
    """
    session = context.loaders.get("consent_session")
    if session is None:
        viewer = context.viewer
        session = consent.Session(
            consent.Viewer(
                account_id=viewer.id if viewer else None,
                kind=viewer.kind if viewer else None,
            ),
            remember=not isinstance(context.request, WebSocket),
        )
        context.loaders["consent_session"] = session
    return session


def consent_loader(context: Context) -> DataLoader[ProfileRead, consent.Decided]:
    """Batches the profile reads of a tick into one consent decision."""
    loader = context.loaders.get("consent")
    if loader is None:
        session = consent_session(context)

        async def load(reads: list[ProfileRead]) -> list[consent.Decided]:
            wanted: dict[consent.Whose, set[str]] = {}
            for read in reads:
                wanted.setdefault(read.whose, set()).update(read.keys)
            decided = await session.decide_profiles(wanted)
            if not session.remember:
                await session.flush()
            return [decided[read.whose] for read in reads]

        loader = DataLoader(load_fn=load, cache=False)
        context.loaders["consent"] = loader
    return loader


class AccessLogFlush(SchemaExtension):
    """Waits, before the response goes, until the operation's reads are logged."""

    async def on_operation(self) -> AsyncIterator[None]:
        try:
            yield
        finally:
            context = self.execution_context.context
            session = getattr(context, "loaders", {}).get("consent_session")
            if session is not None:
                await session.flush()


def _refused(key: str, reason: consent.Reason) -> ConsentRequired:
    """The error that takes a denied value's place.

    A denied value is held as its ConsentRequired error: graphql-core raises
    an error that a field resolves to at that field's path (as graphql-js
    does), so every denied field still answers null with its own
    CONSENT_REQUIRED error, without a resolver of its own.
    """
    return ConsentRequired(
        f"{key} is not shared with you for this use.", reason=reason.value
    )


Selection = SelectedField | FragmentSpread | InlineFragment


def _included(selection: Selection) -> bool:
    directives = selection.directives or {}
    skip = directives.get("skip", {}).get("if", False)
    include = directives.get("include", {}).get("if", True)
    return bool(include) and not skip


def _fields_named(selections: list[Selection], name: str | None) -> list[SelectedField]:
    """The fields among ``selections`` (through fragments), by name or all."""
    found: list[SelectedField] = []
    for selection in selections:
        if not _included(selection):
            continue
        if isinstance(selection, SelectedField):
            if name is None or selection.name == name:
                found.append(selection)
        else:
            found.extend(_fields_named(selection.selections, name))
    return found


def requested_keys(info: Info, path: tuple[str, ...]) -> tuple[str, ...]:
    """Catalogue keys selected under the current field at ``path`` (a profile).

    With an empty path, the current field is the profile itself.
    """
    level: list[SelectedField] = _fields_named(list(info.selected_fields), None)
    for step in path:
        level = [f for parent in level for f in _fields_named(parent.selections, step)]
    keys = {
        f"{section.name}.{field.name}"
        for profile in level
        for section in _fields_named(profile.selections, None)
        for field in _fields_named(section.selections, None)
    }
    return tuple(sorted(keys & catalogue.FIELDS.keys()))


class Listed(Protocol):
    """An item of a list that shows profiles: a member, a project membership."""

    listed_profile: Any


async def prepare_profiles(
    info: Info,
    listed: Sequence[tuple[Listed, int]],
    keys: tuple[str, ...],
    purpose: Purpose,
    project_id: int | None = None,
) -> None:
    """Decides the profiles of a list's items in one batch and sets them on each.

    Each item comes with its member's id; a list reads all its profiles for
    one purpose, within one project or none. ``keys`` are the fields the
    query selects under the list's profiles (see requested_keys), so the
    access log records exactly what was asked for. Each item's profile is
    then read as a plain attribute (its resolver is prepared). A session
    that keeps nothing between batches (a websocket) leaves the items to
    their resolvers, which decide in the tick's batch.
    """
    session = consent_session(info.context)
    if not keys or not listed or not session.remember:
        return
    subjects = [subject for _, subject in listed]
    decided = await session.read_profiles(subjects, _key_set(keys), purpose, project_id)
    for (item, _), one in zip(listed, decided, strict=True):
        item.listed_profile = _built(keys, one)


def _section_type(section: Section) -> type:
    namespace: dict[str, Any] = {
        "__annotations__": {
            spec.name: value_type(spec) | None for spec in section.fields
        },
        "__module__": __name__,
    }
    for spec in section.fields:
        namespace[spec.name] = strawberry.field(
            default=None,
            description=spec.labels["en"]
            + (" (special category)" if spec.special else ""),
        )
    cls = type(f"{_pascal(section.name)}Profile", (), namespace)
    return strawberry.type(cls, description=f"The {section.labels['en']} section.")


SECTION_TYPES: dict[str, type] = {
    section.name: _section_type(section) for section in catalogue.SECTIONS
}
# A section the query selects no value of; never changed, so shared.
EMPTY_SECTIONS: dict[str, Any] = {
    name: section_type() for name, section_type in SECTION_TYPES.items()
}


def _profile_type() -> type:
    namespace: dict[str, Any] = {
        "__annotations__": dict(SECTION_TYPES),
        "__module__": __name__,
    }
    return strawberry.type(
        type("Profile", (), namespace),
        description="A member's profile; each value shows only under consent.",
    )


Profile = _profile_type()


# Where a profile of a selection puts its values: per section, its type and,
# for each value selected in it, the attribute, the catalogue key and how
# the stored value reads (see reader).
Placed = tuple[str, str, Reader]
Layout = tuple[tuple[str, type, tuple[Placed, ...]], ...]


@functools.lru_cache(maxsize=512)
def layout(keys: tuple[str, ...]) -> Layout:
    """The sections ``keys`` fall in, with their fields: once per selection."""
    layout = []
    for section in catalogue.SECTIONS:
        fields = tuple(
            (spec.name, spec.key, READERS[spec.key])
            for spec in section.fields
            if spec.key in keys
        )
        if fields:
            layout.append((section.name, SECTION_TYPES[section.name], fields))
    return tuple(layout)


def section_values(
    fields: tuple[Placed, ...], values: dict[str, Any]
) -> dict[str, Any]:
    """A section's GraphQL values from stored ones, by attribute."""
    found = {}
    for attr, key, read in fields:
        stored = values.get(key)
        found[attr] = stored if stored is None or read is None else read(stored)
    return found


def _built(keys: tuple[str, ...], decided: consent.Decided) -> Any:
    sections = dict(EMPTY_SECTIONS)
    denied = decided.denied
    # A refused value is not even converted: its error takes its place.
    values = decided.values
    if denied:
        values = {key: value for key, value in values.items() if key not in denied}
    for name, section_type, fields in layout(keys):
        shown = section_values(fields, values)
        for attr, key, _ in fields if denied else ():
            if key in denied:
                shown[attr] = _refused(key, denied[key])
        sections[name] = section_type(**shown)
    return Profile(**sections)


@functools.lru_cache(maxsize=512)
def _key_set(keys: tuple[str, ...]) -> frozenset[str]:
    return frozenset(keys)


def profile_of(
    info: Info, access: ProfileAccess, keys: tuple[str, ...] | None = None
) -> Any:
    """The profile with every field the query selects under it decided.

    A list passes the ``keys`` it worked out for all its members, whose
    fields it already decided (see prefetch_profiles): the profile is then
    built at once. Otherwise the fields not decided yet are read together
    with those of the other profiles of the same tick, and the result is an
    awaitable, which graphql-core waits for.
    """
    if keys is None:
        keys = requested_keys(info, ())
    decided = consent_session(info.context).decided(access)
    if decided is not None and decided.keys >= _key_set(keys):
        return _built(keys, decided)
    return _read_and_build(info, access, keys)


async def _read_and_build(
    info: Info, access: ProfileAccess, keys: tuple[str, ...]
) -> Any:
    read = ProfileRead(access, _key_set(keys))
    return _built(keys, await consent_loader(info.context).load(read))


# Writing --------------------------------------------------------------------


def _input_section(section: Section) -> type:
    annotations = {
        spec.name: strawberry.Maybe[value_type(spec) | None]  # type: ignore[misc]
        for spec in section.fields
    }
    namespace: dict[str, Any] = {"__annotations__": annotations, "__module__": __name__}
    cls = type(f"{_pascal(section.name)}ValuesInput", (), namespace)
    return strawberry.input(
        cls, description=f"{section.labels['en']} values; null clears one."
    )


INPUT_SECTIONS = {
    section.name: _input_section(section) for section in catalogue.SECTIONS
}


def _set_input_type() -> type:
    annotations = {name: section | None for name, section in INPUT_SECTIONS.items()}
    namespace: dict[str, Any] = {"__annotations__": annotations, "__module__": __name__}
    for name in INPUT_SECTIONS:
        namespace[name] = None
    return strawberry.input(
        type("SetProfileValuesInput", (), namespace),
        description="Values to set or clear; fields left out stay as they are.",
    )


SetProfileValuesInput = _set_input_type()


def changes_of(given: Any) -> dict[str, Any]:
    """Catalogue key → new value (None to clear) for each field present."""
    changes: dict[str, Any] = {}
    for section in catalogue.SECTIONS:
        values = getattr(given, section.name)
        if values is None:
            continue
        for spec in section.fields:
            maybe = getattr(values, spec.name)
            if maybe is not None:
                changes[spec.key] = from_graphql(spec, maybe.value)
    return changes


@strawberry.type
class SetProfileValuesPayload:
    user_errors: list[UserError]
    changed_fields: list[str] | None = None
    subject_id: strawberry.Private[int | None] = None

    @strawberry.field
    def profile(self, info: Info) -> Profile | None:  # type: ignore[valid-type]
        if self.subject_id is None:
            return None
        access = ProfileAccess(self.subject_id, Purpose.DISPLAY)
        return profile_of(info, access)  # type: ignore[no-any-return]


# Catalogue ------------------------------------------------------------------


@strawberry.enum(description="The type of a profile field's value.")
class ProfileFieldType(Enum):
    TEXT = "text"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    DATE = "date"
    CHOICE = "choice"
    CHOICES = "choices"


@strawberry.type
class ProfileChoice:
    value: str
    label: str


@strawberry.type(description="A catalogue field, labelled in the request's language.")
class ProfileFieldInfo:
    key: str
    label: str
    type: ProfileFieldType
    special: bool
    choices: list[ProfileChoice]


@strawberry.type
class ProfileSectionInfo:
    name: str
    label: str
    fields: list[ProfileFieldInfo]


def catalogue_in(language: str) -> list[ProfileSectionInfo]:
    return [
        ProfileSectionInfo(
            name=section.name,
            label=catalogue.label(section.labels, language),
            fields=[
                ProfileFieldInfo(
                    key=spec.key,
                    label=catalogue.label(spec.labels, language),
                    type=ProfileFieldType(spec.type.value),
                    special=spec.special,
                    choices=[
                        ProfileChoice(
                            value=_enum_member(choice.value),
                            label=catalogue.label(choice.labels, language),
                        )
                        for choice in spec.choices
                    ],
                )
                for spec in section.fields
            ],
        )
        for section in catalogue.SECTIONS
    ]


@strawberry.type
class ProfileQuery:
    @strawberry.field(description="Every profile field, by section.")
    def profile_catalogue(self, info: Info) -> list[ProfileSectionInfo]:
        return catalogue_in(info.context.language)


@strawberry.type
class ProfileMutation:
    @strawberry.mutation(description="Sets or clears the viewer's own profile values.")
    @user_errors
    async def set_profile_values(
        self,
        info: Info,
        input: SetProfileValuesInput,  # type: ignore[valid-type]
    ) -> SetProfileValuesPayload:
        member = info.context.require_kind(AccountKind.MEMBER)
        changed = await profile.set_values(member, changes_of(input))
        # A request may set values twice: the payload shows the values now.
        consent_session(info.context).forget(member.id)
        return SetProfileValuesPayload(
            user_errors=[], changed_fields=changed, subject_id=member.id
        )
