"""Hand-written SELECTs for the hottest reads, run without the ORM.

The ORM builds every query anew and a model per row: for the lists a page
shows (a project's members, its messages, its polls) that was most of the
page's cost, several times the database's own. The statements here are
written once, in PostgreSQL's spelling, and run as they are there; SQLite
gets a translation made once per statement:

- numbered placeholders ``$1`` become ``?1``;
- ``= ANY($n)``, a list parameter, becomes ``IN (SELECT value FROM
  json_each(?n))``, the list handed over as a JSON array;
- casts (``$3::bigint``), which PostgreSQL needs to type a parameter it
  cannot infer, are dropped.

Anything else must mean the same in both (no ``now()``: times are
parameters), or the statement gives SQLite's text itself, as it must for
JSON aggregates. Rows are the driver's own, read by position; the drivers
differ in what they give back for JSON, booleans and times, which
``json_value`` and ``moment`` even out.

Where a caller needs models (the signed-in account, which mutations save),
``columns`` lists a model's columns for a SELECT and ``model_from`` turns
them into the instance the ORM itself would have built.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

import orjson
from tortoise import connections
from tortoise.models import Model

M = TypeVar("M", bound=Model)

_ANY = re.compile(r"=\s*ANY\(\$(\d+)\)")
_PLACEHOLDER = re.compile(r"\$(\d+)")
_CAST = re.compile(r"::\w+(\[\])?")


class Statement:
    """One SELECT, with the text each dialect runs."""

    __slots__ = ("postgres", "sqlite")

    def __init__(self, postgres: str, sqlite: str | None = None) -> None:
        self.postgres = postgres
        if sqlite is None:
            sqlite = _ANY.sub(r"IN (SELECT value FROM json_each(?\1))", postgres)
            sqlite = _CAST.sub("", sqlite)
        self.sqlite = _PLACEHOLDER.sub(r"?\1", sqlite)


async def fetch(statement: Statement, *parameters: Any) -> Sequence[Any]:
    """The rows ``statement`` selects, on the default connection."""
    conn = connections.get("default")
    rows: Sequence[Any]
    if conn.capabilities.dialect == "postgres":
        _, rows = await conn.execute_query(statement.postgres, list(parameters))
    else:
        values = [_sqlite_parameter(value) for value in parameters]
        _, rows = await conn.execute_query(statement.sqlite, values)
    return rows


def _sqlite_parameter(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return orjson.dumps(value).decode()
    return value


def json_value(stored: Any) -> Any:
    """A JSON column's value: PostgreSQL's driver and SQLite hand back text."""
    return orjson.loads(stored) if isinstance(stored, str | bytes) else stored


def moment(stored: datetime | str | None) -> datetime | None:
    """A time column's value: SQLite hands back the ISO text it stored."""
    return datetime.fromisoformat(stored) if isinstance(stored, str) else stored


def columns(model: type[Model], alias: str) -> str:
    """Every column of ``model``, in ``model_from``'s order, for a SELECT."""
    return ", ".join(f'{alias}."{column}"' for column in _columns_of(model))


def model_from(model: type[M], row: Sequence[Any], start: int = 0) -> M:
    """The instance of ``model`` whose columns (see columns) begin at ``start``.

    Built as the ORM builds the rows it selects, converting each value the
    model's way, and known to be stored: saving it updates its row. This is
    tortoise's own constructor for selected rows (``_init_from_db``), stable
    across the release series pyproject allows; a test holds it.
    """
    names = _columns_of(model)
    values = dict(zip(names, row[start : start + len(names)], strict=True))
    return model._init_from_db(**values)


def width(model: type[Model]) -> int:
    """How many columns ``columns`` lists for ``model``."""
    return len(_columns_of(model))


def _columns_of(model: type[Model]) -> tuple[str, ...]:
    return tuple(model._meta.fields_db_projection.values())
