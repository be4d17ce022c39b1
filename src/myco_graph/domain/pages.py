"""Keyset paging: every list reads one page by id, whatever its length."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from tortoise.models import Model
from tortoise.queryset import QuerySet

M = TypeVar("M", bound=Model)
T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """Rows of one page, newest first, and whether more rows follow."""

    rows: list[T]
    has_next: bool


async def newest_first(query: QuerySet[M], first: int, after: int | None) -> Page[M]:
    """Reads ``first`` rows with ids below ``after``, by descending id."""
    if after is not None:
        query = query.filter(id__lt=after)
    rows = await query.order_by("-id").limit(first + 1)
    return Page(rows=rows[:first], has_next=len(rows) > first)
