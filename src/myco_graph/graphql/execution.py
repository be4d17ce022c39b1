"""A faster way through plain data, for graphql-core's executor.

Most fields of a page are plain attributes: a member's handle, a profile's
sections and values, a connection's edges. graphql-core executes each of
them like a resolver: a response path, a resolve-info tuple, strawberry's
wrapper around ``getattr``, then value completion, which walks the field's
type for every value. A page of fifty members shows about a thousand such
fields, and that machinery was most of its cost.

:class:`Executor` plans each selection once per request: for every field
that strawberry resolves with its default resolver (no resolver of ours, no
arguments, no directives, no field extension), it reads the attribute and
completes the value with a function made once for that field of the schema.
Anything out of the ordinary (a missing attribute, an error held as a value,
a null where the type forbids one, a value the type cannot serialize) goes
back to graphql-core's own path for that field, which reads it again and
reports it exactly as it always does. Fields with resolvers take that path,
so what resolvers see is unchanged, with one exception: a resolver marked
:func:`prepared` names an attribute where a list may have put the field's
value for each of its items, decided for all of them at once; when it is
there it is read like a plain attribute, and otherwise the resolver runs.
"""

from __future__ import annotations

import dataclasses
import functools
import weakref
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeVar

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfoHelpers,
    Undefined,
)
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.pyutils import Path, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter

# A completer's answer when the value needs graphql-core's own path.
_SLOW: Any = object()
_MISSING: Any = object()

Completer = Callable[[Any], Any]
Resolver = TypeVar("Resolver", bound=Callable[..., Any])
# Where prepared() leaves the attribute's name on a resolver.
_PREPARED = "__prepared_attribute__"


def prepared(attribute: str) -> Callable[[Resolver], Resolver]:
    """Marks a resolver whose value a list may set beforehand as ``attribute``.

    A list that decides its items' values together (a page of profiles, the
    counts of a page of polls) sets them on each item; the item's resolver
    then never runs. An item left without the attribute (None) resolves as
    usual.
    """

    def mark(resolver: Resolver) -> Resolver:
        setattr(resolver, _PREPARED, attribute)
        return resolver

    return mark


@dataclass(frozen=True, slots=True)
class _Plain:
    """A default-resolved field: the attribute to read, how to complete it.

    ``complete`` turns a scalar, an enum or a list of them into its output;
    an object, or a list of objects, has ``object_type`` instead.
    """

    attribute: str
    parent_type: GraphQLObjectType
    field_def: GraphQLField
    complete: Completer | None = None
    object_type: GraphQLObjectType | None = None
    listed: bool = False
    # A resolver's field whose value may be set beforehand (see prepared).
    preset: bool = False
    # Whether None completes to null here: a nullable field never set
    # beforehand (a prepared one left None resolves instead).
    null_allowed: bool = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        nullable = not isinstance(self.field_def.type, GraphQLNonNull)
        object.__setattr__(self, "null_allowed", nullable and not self.preset)

    @property
    def field_type(self) -> GraphQLOutputType:
        return self.field_def.type

    @property
    def item_type(self) -> GraphQLOutputType:
        listed = _nullable(self.field_type)
        assert isinstance(listed, GraphQLList)
        return listed.of_type  # type: ignore[no-any-return]


Step = tuple[str, FieldDetailsList, _Plain | None]


def _gather(values: Sequence[Awaitable[Any]]) -> Awaitable[list[Any]]:
    return gather_with_cancel(*values)


def _helpers(executor: Executor) -> GraphQLResolveInfoHelpers:
    """The helpers resolvers get, reaching their executor only weakly.

    graphql-core's own are methods of the executor, which holds them: a
    reference cycle, so every request's executor, context and all that its
    loaders had read (a page's values, grants and consent decisions) stayed
    in memory after the response until the garbage collector came by, and
    made it come several times as often. Without the cycle they go as soon
    as the response is done. The executor lives as long as any of its work:
    that work runs in its own coroutines.
    """
    track = weakref.WeakMethod(executor.track_async_work)

    def track_async_work(values: Sequence[Any]) -> None:
        method = track()
        if method is None:
            raise RuntimeError("asynchronous work tracked after its operation ended")
        method(values)

    return GraphQLResolveInfoHelpers(gather=_gather, track=track_async_work)


class Executor(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's executor, with plain attributes read without ceremony."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.async_helpers = _helpers(self)
        self._plans: dict[int, tuple[GroupedFieldSet, list[Step]]] = {}
        # Strawberry always passes a manager; it wraps resolvers only when an
        # extension hooks into them.
        manager = self.middleware_manager
        self._wrapped = manager is not None and bool(manager.middlewares)

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> Any:
        if position_context is not None or self._wrapped:
            # Deferred fragments and resolver middleware: graphql-core's way.
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        results: dict[str, Any] = {}
        pending: list[str] = []
        is_awaitable = self.is_awaitable
        try:
            for name, details, plain in self._plan(parent_type, grouped_field_set):
                if plain is not None:
                    result = self._plain(plain, source_value, details, path, name)
                    if result is not _SLOW:
                        results[name] = result
                        # A scalar or an enum completes to a value at once.
                        if plain.complete is None and is_awaitable(result):
                            pending.append(name)
                        continue
                field_path = Path(path, name, parent_type.name)
                result = self.execute_field(
                    parent_type, source_value, details, field_path, None
                )
                if result is Undefined:
                    continue
                results[name] = result
                if is_awaitable(result):
                    pending.append(name)
        except Exception:
            if pending:
                self.settle_in_background([results[name] for name in pending])
            raise
        if not pending:
            return results
        return _settled_fields(results, pending)

    def _plan(
        self, parent_type: GraphQLObjectType, grouped_field_set: GroupedFieldSet
    ) -> list[Step]:
        cached = self._plans.get(id(grouped_field_set))
        if cached is not None and cached[0] is grouped_field_set:
            return cached[1]
        steps = [
            (name, details, self._plain_field(parent_type, details))
            for name, details in grouped_field_set.items()
        ]
        # The field set is kept with its plan, so that its id stays its own.
        self._plans[id(grouped_field_set)] = (grouped_field_set, steps)
        return steps

    def _plain_field(
        self, parent_type: GraphQLObjectType, details: FieldDetailsList
    ) -> _Plain | None:
        node = details[0].node
        field_def = self.schema.get_field(parent_type, node.name.value)
        if field_def is None or any(
            d.node.arguments or d.node.directives for d in details
        ):
            return None
        return _plain_of(parent_type, field_def)

    def _plain(
        self,
        plain: _Plain,
        source: Any,
        details: FieldDetailsList,
        parent_path: Path | None,
        name: str,
    ) -> Any:
        """The field's completed value, or _SLOW for graphql-core's own path."""
        value = getattr(source, plain.attribute, _MISSING)
        if value is None:
            return None if plain.null_allowed else _SLOW
        if value is _MISSING or isinstance(value, Exception):
            return _SLOW
        if plain.complete is not None:
            return plain.complete(value)
        object_type = plain.object_type
        assert object_type is not None
        if plain.listed and not (
            isinstance(value, list | tuple)
            and not any(v is None or isinstance(v, Exception) for v in value)
        ):
            return _SLOW
        path = Path(parent_path, name, plain.parent_type.name)
        if object_type.is_type_of is not None and not self._own_type(
            plain, value, details, path
        ):
            return _SLOW
        # Errors below are this field's, as graphql-core handles them.
        try:
            if plain.listed:
                completed = self._objects(object_type, value, details, path, plain)
            else:
                completed = self._fields_of(object_type, value, details, path)
        except Exception as raw_error:
            self.handle_field_error(raw_error, plain.field_type, details, path)
            return None
        if not self.is_awaitable(completed):
            return completed
        return self._awaited(completed, plain.field_type, details, path)

    def _own_type(
        self, plain: _Plain, value: Any, details: FieldDetailsList, path: Path
    ) -> bool:
        """Whether the value (or each item) passes its type's ``is_type_of``.

        A Node type has one. Anything but a plain yes (a no, an awaitable) is
        left to graphql-core, which reports it.
        """
        check = plain.object_type.is_type_of if plain.object_type else None
        if check is None:
            return True
        nodes = [d.node for d in details]
        info = self.build_resolve_info(plain.field_def, nodes, plain.parent_type, path)
        values = value if plain.listed else (value,)
        return all(check(item, info) is True for item in values)

    def _fields_of(
        self,
        object_type: GraphQLObjectType,
        value: Any,
        details: FieldDetailsList,
        path: Path,
    ) -> Any:
        collected = self.collect_subfields(object_type, details)
        if collected.new_defer_usages:
            return self.execute_collected_subfields(
                object_type,
                value,
                path,
                collected.grouped_field_set,
                collected.new_defer_usages,
                None,
            )
        return self.execute_fields(
            object_type, value, path, collected.grouped_field_set, None
        )

    def _objects(
        self,
        object_type: GraphQLObjectType,
        values: Sequence[Any],
        details: FieldDetailsList,
        path: Path,
        plain: _Plain,
    ) -> Any:
        """A list of plain objects; an error in an item nulls that item."""
        item_type = plain.item_type
        items: list[Any] = []
        pending: list[int] = []
        for index, value in enumerate(values):
            item_path = Path(path, index, None)
            try:
                completed = self._fields_of(object_type, value, details, item_path)
            except Exception as raw_error:
                self.handle_field_error(raw_error, item_type, details, item_path)
                completed = None
            if self.is_awaitable(completed):
                completed = self._awaited(completed, item_type, details, item_path)
                pending.append(index)
            items.append(completed)
        if not pending:
            return items
        return _settled_items(items, pending)

    async def _awaited(
        self,
        completed: Any,
        field_type: GraphQLOutputType,
        details: FieldDetailsList,
        path: Path,
    ) -> Any:
        try:
            return await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, field_type, details, path)
            return None


async def _settled_fields(results: dict[str, Any], pending: list[str]) -> Any:
    """Awaits the pending fields together, as graphql-core does."""
    if len(pending) == 1:
        results[pending[0]] = await results[pending[0]]
        return results
    settled = await gather_with_cancel(*(results[name] for name in pending))
    results.update(zip(pending, settled, strict=True))
    return results


async def _settled_items(items: list[Any], pending: list[int]) -> list[Any]:
    settled = await gather_with_cancel(*(items[index] for index in pending))
    for index, item in zip(pending, settled, strict=True):
        items[index] = item
    return items


def _nullable(field_type: GraphQLOutputType) -> GraphQLOutputType:
    if isinstance(field_type, GraphQLNonNull):
        return field_type.of_type
    return field_type


def _attribute_of(field_def: GraphQLField) -> tuple[str, bool] | None:
    """The Python attribute a field reads plainly, and whether it is prepared.

    That is the attribute strawberry's default resolver reads, or the one a
    resolver marked prepared() names.
    """
    definition = (field_def.extensions or {}).get(
        GraphQLCoreConverter.DEFINITION_BACKREF
    )
    if definition is None or definition.extensions:
        return None
    if definition.base_resolver is not None:
        attribute = getattr(definition.base_resolver.wrapped_func, _PREPARED, None)
        return (attribute, True) if isinstance(attribute, str) else None
    name = getattr(definition, "python_name", None)
    if not getattr(field_def.resolve, "_is_default", False):
        return None
    return (name, False) if isinstance(name, str) else None


# Plans of schema fields, by identity (graphql-core's types are not
# hashable); each entry keeps its field, so that its id stays its own.
_PLAINS: dict[tuple[int, int], tuple[GraphQLField, _Plain | None]] = {}


def _plain_of(parent_type: GraphQLObjectType, field_def: GraphQLField) -> _Plain | None:
    """How to complete a plain field, or None to leave it be.

    Made once per field of the schema, whatever the requests that select it.
    """
    key = (id(parent_type), id(field_def))
    known = _PLAINS.get(key)
    if known is None or known[0] is not field_def:
        known = _PLAINS[key] = (field_def, _new_plain(parent_type, field_def))
    return known[1]


def _new_plain(
    parent_type: GraphQLObjectType, field_def: GraphQLField
) -> _Plain | None:
    read = _attribute_of(field_def)
    if read is None or field_def.args:
        return None
    attribute, preset = read
    plain = functools.partial(_Plain, attribute, parent_type, field_def, preset=preset)
    inner = _nullable(field_def.type)
    if isinstance(inner, GraphQLLeafType):
        return plain(complete=_leaf(inner))
    if isinstance(inner, GraphQLObjectType):
        return plain(object_type=inner)
    if not isinstance(inner, GraphQLList):
        return None  # an interface or a union: its runtime type is resolved
    item = _nullable(inner.of_type)
    items_nullable = not isinstance(inner.of_type, GraphQLNonNull)
    if isinstance(item, GraphQLLeafType):
        leaves = _leaves(_leaf(item), items_nullable)
        names = _enum_names(item)
        return plain(complete=_enum_leaves(names, leaves) if names else leaves)
    if isinstance(item, GraphQLObjectType):
        return plain(object_type=item, listed=True)
    return None


def _leaf(leaf_type: GraphQLLeafType) -> Completer:
    """Serializes one scalar or enum value, or answers _SLOW for an odd one."""
    coerce = leaf_type.coerce_output_value

    def coerced(value: Any) -> Any:
        if isinstance(value, Exception):
            return _SLOW
        try:
            output = coerce(value)
        except Exception:
            return _SLOW
        return _SLOW if output is None or output is Undefined else output

    names = _enum_names(leaf_type)
    if names is None:
        return coerced

    def enum_name(value: Any) -> Any:
        found = names.get(value) if isinstance(value, Enum) else None
        return found if found is not None else coerced(value)

    return enum_name


def _enum_names(leaf_type: GraphQLLeafType) -> dict[Enum, str] | None:
    """The name of each member of a strawberry enum, or None for other leaves.

    Strawberry's enum types compare a member with each of their values in
    turn; a table made once finds its name in one look-up.
    """
    wrapped = getattr(leaf_type, "wrapped_cls", None)
    if not isinstance(leaf_type, GraphQLEnumType) or wrapped is None:
        return None
    by_value: dict[Any, str] = {}
    for name, value in leaf_type.values.items():
        by_value.setdefault(value.value, name)
    return {m: by_value[m.value] for m in wrapped if m.value in by_value}


def _enum_leaves(names: dict[Enum, str], general: Completer) -> Completer:
    """Completes a list of enum members by look-up; anything else the long way."""

    def complete(values: Any) -> Any:
        if type(values) is list:
            try:
                return [names[value] for value in values]
            except (KeyError, TypeError):
                pass  # a null, a stranger or an unhashable item
        return general(values)

    return complete


def _leaves(complete_item: Completer, items_nullable: bool) -> Completer:
    """Completes a list of scalars or enums, or answers _SLOW for an odd item."""

    def complete(values: Any) -> Any:
        if not isinstance(values, list | tuple):
            return _SLOW
        completed: list[Any] = []
        for value in values:
            if value is None:
                if not items_nullable:
                    return _SLOW
                completed.append(None)
                continue
            item = complete_item(value)
            if item is _SLOW:
                return _SLOW
            completed.append(item)
        return completed

    return complete
