"""The namespace shared by member handles and project names.

Federation addresses both as ``name@domain``, so one name can belong to one
thing only, whatever its case.
"""

from __future__ import annotations

import re

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError

from myco_graph.domain.models import Name
from myco_graph.errors import BadUserInput

NAME_PATTERN = re.compile(r"[A-Za-z0-9_]{3,30}")


def name_key(name: str) -> str:
    return name.casefold()


def check_name(name: str, *, field: str) -> str:
    """Returns ``name`` when it is a valid handle or project name."""
    if not NAME_PATTERN.fullmatch(name):
        raise BadUserInput(
            "A name has 3 to 30 characters: letters, digits and underscores.",
            field=field,
        )
    return name


async def claim(conn: BaseDBAsyncClient, name: str, *, field: str) -> Name:
    """Takes ``name`` for the caller's transaction, or refuses if it is taken."""
    check_name(name, field=field)
    try:
        return await Name.create(key=name_key(name), using_db=conn)
    except IntegrityError as exc:
        raise BadUserInput("This name is already taken.", field=field) from exc
