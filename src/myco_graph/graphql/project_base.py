"""What every part of a project's GraphQL shares: the base type and access checks.

The Project type is assembled in ``graphql.projects`` from this base and one
mixin per area (discussion, polls, pools, files), each in its own module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from enum import Enum
from typing import TypeVar

import strawberry
from strawberry import relay

from myco_graph.domain import models, projects
from myco_graph.domain.projects import Actor, Operation
from myco_graph.errors import Forbidden, NotFound
from myco_graph.graphql.accounts import row_id
from myco_graph.graphql.context import Info

# A row that belongs to a project.
ContentRow = TypeVar(
    "ContentRow", models.Message, models.Poll, models.Pool, models.StoredFile
)
T = TypeVar("T")


@strawberry.enum
class ProjectVisibility(Enum):
    PUBLIC = "public"
    PRIVATE = "private"


@strawberry.enum
class ProjectRole(Enum):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"


async def access(info: Info, project_id: int) -> tuple[models.Project, Actor]:
    """The project and the viewer's standing in it, read once per request.

    A private project is NotFound for anyone outside it.
    """
    cache: dict[int, tuple[models.Project, Actor]] = info.context.loaders.setdefault(
        "project_access", {}
    )
    if project_id not in cache:
        found = await projects.standing(project_id, info.context.viewer)
        if found is None:
            raise NotFound("No such project.")
        cache[project_id] = found
    project, actor = cache[project_id]
    projects.check(project, actor, Operation.VIEW)
    return project, actor


async def authorize(
    info: Info, project_id: int, operation: Operation
) -> tuple[models.Project, Actor]:
    """The project and the viewer's standing, if the viewer may do ``operation``."""
    project, actor = await access(info, project_id)
    projects.check(project, actor, operation)
    return project, actor


async def may(info: Info, project_id: int, operation: Operation) -> bool:
    """Whether the viewer may do ``operation``, for filtering rather than refusing."""
    try:
        await authorize(info, project_id, operation)
    except (Forbidden, NotFound):
        return False
    return True


async def readable(
    info: Info,
    model: type[ContentRow],
    node_ids: Iterable[str],
    convert: Callable[[ContentRow], T],
) -> list[T | None]:
    """Rows of project content by global id, None where the viewer may not read."""
    ids = [row_id(node_id) for node_id in node_ids]
    found = {
        row.pk: convert(row)
        for row in await model.filter(id__in=ids)
        if await may(info, row.project_id, Operation.READ_CONTENT)
    }
    return [found.get(i) for i in ids]


def forget_access(info: Info, project_id: int) -> None:
    """Drops the cached standing after a change of membership in this request."""
    info.context.loaders.get("project_access", {}).pop(project_id, None)


@strawberry.type(description="A project: public (listed, federated) or private.")
class ProjectBase(relay.Node):
    id: relay.NodeID[int]
    name: str
    summary: str
    visibility: ProjectVisibility
    created_at: datetime
    row: strawberry.Private[models.Project]
