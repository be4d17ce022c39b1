"""Cursor connections over keyset pages, as the Relay connection spec shapes them.

Connections page forward only (``first``/``after``), newest first; a cursor
is an opaque token for the id of the last row seen.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar, cast

import strawberry
from strawberry.relay import PageInfo
from tortoise.models import Model
from tortoise.queryset import QuerySet

from myco_graph.domain.pages import Page, newest_first
from myco_graph.errors import BadUserInput

T = TypeVar("T")
M = TypeVar("M", bound=Model)
R = TypeVar("R", bound="Identified")


class Identified(Protocol):
    """A row a connection pages through: it has an id."""

    @property
    def id(self) -> int: ...


DEFAULT_PAGE_SIZE = 20
_PREFIX = "k:"


def encode_cursor(row_id: int) -> str:
    return base64.urlsafe_b64encode(f"{_PREFIX}{row_id}".encode()).decode()


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        if text.startswith(_PREFIX):
            return int(text.removeprefix(_PREFIX))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise BadUserInput("The cursor is not one this server gave.", field="after")


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    """A page of a list, newest first, with the cursor to read the next one."""

    edges: list[Edge[T]]
    page_info: PageInfo


def position(first: int, after: str | None) -> int | None:
    """The row id a page starts below, from checked paging arguments."""
    if first < 0:
        raise BadUserInput("first cannot be negative.", field="first")
    return decode_cursor(after) if after else None


def wrapped(
    page: Page[R], convert: Callable[[R], T], after: str | None
) -> Connection[T]:
    """A page of rows (models, or plain rows with an ``id``) as a connection."""
    edges = [Edge(cursor=encode_cursor(row.id), node=convert(row)) for row in page.rows]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=page.has_next,
            has_previous_page=after is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )


async def connection(
    query: QuerySet[M],
    convert: Callable[[M], T],
    first: int,
    after: str | None,
) -> Connection[T]:
    """Reads one page of ``query`` and wraps its rows as a connection."""
    page = await newest_first(query, first, position(first, after))
    # Every model here has an integer id, which the ORM's base type omits.
    return wrapped(cast(Page[Any], page), convert, after)
