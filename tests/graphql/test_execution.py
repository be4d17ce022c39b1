"""The plain-field executor answers exactly what graphql-core's own would.

Each query runs on a small schema twice, once with strawberry's executor and
once with ours, and both answers (data, errors, their paths) must be equal:
the odd values that send a field back to graphql-core's path are the cases.
"""

from __future__ import annotations

import asyncio
import gc
import weakref
from enum import Enum
from typing import Any

import pytest
import strawberry
from strawberry import relay

from myco_graph.graphql.execution import Executor, prepared


@strawberry.enum
class Colour(Enum):
    RED = "red"
    GREEN = "green"


class Broken(Exception):
    """An error held as a value, as denied profile values are."""


@strawberry.type
class Leaf:
    name: str
    count: int | None
    colour: Colour
    colours: list[Colour]
    maybe_colours: list[Colour | None] | None


@strawberry.type
class Thing(relay.Node):
    id: relay.NodeID[int]
    label: str


@strawberry.type
class Box:
    leaf: Leaf | None
    required_leaf: Leaf
    leaves: list[Leaf]
    maybe_leaves: list[Leaf | None] | None
    thing: Thing | None

    @strawberry.field
    def computed(self) -> str:
        return "computed"

    @strawberry.field
    async def later(self) -> Leaf | None:
        return self.leaf

    # Values a list may set beforehand: their resolvers answer the same.
    listed_total: strawberry.Private[int | None] = None
    listed_first: strawberry.Private[Leaf | None] = None

    @strawberry.field
    @prepared("listed_total")
    def total(self) -> int:
        return 7

    @strawberry.field
    @prepared("listed_first")
    async def first(self) -> Leaf | None:
        return self.leaf


def leaf(**changes: Any) -> Leaf:
    values: dict[str, Any] = {
        "name": "n",
        "count": 3,
        "colour": Colour.RED,
        "colours": [Colour.GREEN, Colour.RED],
        "maybe_colours": [Colour.RED, None],
    }
    values.update(changes)
    return Leaf(**values)


def box(**changes: Any) -> Box:
    values: dict[str, Any] = {
        "leaf": leaf(),
        "required_leaf": leaf(),
        "leaves": [leaf(), leaf(name="m")],
        "maybe_leaves": [leaf(), None],
        "thing": Thing(id=1, label="t"),
    }
    values.update(changes)
    return Box(**values)


BOXES: dict[str, Box] = {
    "ordinary": box(),
    "error held as a leaf": box(leaf=leaf(count=Broken("no"))),
    "error held as a non-null leaf": box(leaf=leaf(name=Broken("no"))),
    "null non-null leaf": box(leaf=leaf(name=None)),
    "null non-null leaf in a non-null object": box(required_leaf=leaf(name=None)),
    "null in a non-null list of enums": box(leaf=leaf(colours=[Colour.RED, None])),
    "not an enum": box(leaf=leaf(colour="purple")),
    "not an int": box(leaf=leaf(count="three")),
    "a list that is not one": box(leaf=leaf(colours=Colour.RED)),
    "null object": box(leaf=None, thing=None),
    "error held as an object": box(leaf=Broken("no")),
    "null item of a non-null list": box(leaves=[leaf(), None]),
    "bad item deep in a list": box(leaves=[leaf(), leaf(name=None)]),
    "error held as a list item": box(maybe_leaves=[Broken("no")]),
    "wrong type for an object": box(thing=leaf()),
    "an empty list": box(leaves=[], maybe_leaves=[]),
    "not an enum in a list": box(leaf=leaf(colours=[Colour.RED, "purple"])),
    "a tuple of enums": box(leaf=leaf(colours=(Colour.GREEN,))),
    "an unhashable item in a list of enums": box(leaf=leaf(colours=[[1]])),
    "prepared values": box(listed_total=7),
}
# The same leaf object for the prepared first and the resolver's answer.
BOXES["prepared values"].listed_first = BOXES["prepared values"].leaf

QUERY = """
fragment LeafFields on Leaf { name count colour colours maybeColours }
query ($skip: Boolean!) {
  box {
    leaf { ...LeafFields }
    requiredLeaf { ...LeafFields }
    leaves { name colours }
    maybeLeaves { name count }
    thing { id label }
    computed
    later { name colour }
    total
    first { name colours }
    again: leaf { name @skip(if: $skip) count }
  }
}
"""


def schema_for(value: Box, executor: type | None) -> strawberry.Schema:
    @strawberry.type
    class Query:
        @strawberry.field
        def box(self) -> Box:
            return value

    return strawberry.Schema(query=Query, execution_context_class=executor)


async def answers(value: Box, executor: type | None, skip: bool) -> dict[str, Any]:
    result = await schema_for(value, executor).execute(
        QUERY, variable_values={"skip": skip}
    )
    errors = sorted(
        (tuple(error.path or ()), error.message) for error in result.errors or ()
    )
    return {"data": result.data, "errors": errors}


@pytest.mark.parametrize("case", sorted(BOXES))
@pytest.mark.parametrize("skip", [False, True])
async def test_plain_executor_answers_as_graphql_core(case: str, skip: bool) -> None:
    value = BOXES[case]

    ours = await answers(value, Executor, skip)
    theirs = await answers(value, None, skip)

    assert ours == theirs


async def test_plain_executor_reports_an_error_held_as_a_value_at_its_path() -> None:
    result = await answers(BOXES["error held as a leaf"], Executor, skip=False)

    assert result["data"]["box"]["leaf"]["count"] is None
    assert (("box", "leaf", "count"), "no") in result["errors"]


async def test_a_prepared_value_is_read_instead_of_running_its_resolver() -> None:
    set_beforehand = box(listed_total=8, listed_first=leaf(name="listed"))
    data = (await answers(set_beforehand, Executor, False))["data"]["box"]
    assert data["total"] == 8 and data["first"]["name"] == "listed"


async def test_a_prepared_field_left_unset_runs_its_resolver() -> None:
    data = (await answers(box(), Executor, False))["data"]["box"]
    assert data["total"] == 7 and data["first"]["name"] == "n"


class RequestContext:
    """Stands for a request's context and all its loaders hold."""


async def test_a_request_is_freed_as_soon_as_it_is_answered() -> None:
    # Without the collector: nothing of the request may be held in a cycle.
    context = RequestContext()
    held = weakref.ref(context)
    schema = schema_for(box(), Executor)
    gc.disable()
    try:
        result = await schema.execute(
            QUERY, variable_values={"skip": False}, context_value=context
        )
        assert not result.errors
        del context, result
        assert held() is None
    finally:
        gc.enable()


async def test_resolvers_gather_and_track_work_through_their_helpers() -> None:
    tracked: list[str] = []

    async def note(word: str) -> str:
        await asyncio.sleep(0)
        tracked.append(word)
        return word

    @strawberry.type
    class Query:
        @strawberry.field
        async def words(self, info: strawberry.Info) -> list[str]:
            # strawberry's Info keeps graphql-core's, which carries the helpers.
            info._raw_info.async_helpers.track([note("tracked"), "not awaitable"])
            return await info._raw_info.async_helpers.gather([note("a"), note("b")])

    schema = strawberry.Schema(query=Query, execution_context_class=Executor)
    result = await schema.execute("{ words }")

    assert result.data == {"words": ["a", "b"]}
    await asyncio.sleep(0.01)
    assert sorted(tracked) == ["a", "b", "tracked"]
