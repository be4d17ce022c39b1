"""Database set-up: one Tortoise configuration for SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from typing import Any

from tortoise import Tortoise, connections
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.context import TortoiseContext
from tortoise.exceptions import DBConnectionError, OperationalError
from tortoise.migrations.autodetector import MigrationAutodetector
from tortoise.migrations.executor import MigrationExecutor

from myco_graph.errors import BackendUnavailable
from myco_graph.infrastructure.config import Settings

log = logging.getLogger(__name__)

MODEL_MODULES = ["myco_graph.domain.models"]
MIGRATIONS_MODULE = "myco_graph.migrations"


async def _keep_session(connection: object) -> None:
    """Returns a connection to the pool as it is, once asyncpg rolled back.

    asyncpg's default reset sends one more statement after every query the
    ORM makes (each takes the pool's connection for one statement):
    ``pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL``. Nothing
    here leaves such state on a connection: no advisory locks, no cursors
    outside a transaction, no LISTEN (events go through Redis), no SET. An
    open transaction is still rolled back by the pool before this runs.
    """


def _connection(settings: Settings) -> str | dict[str, Any]:
    url = settings.tortoise_db_url
    if not settings.uses_postgres:
        return url
    connection = expand_db_url(url)
    connection["credentials"]["reset"] = _keep_session
    return connection


def tortoise_config(settings: Settings) -> dict[str, Any]:
    """The Tortoise configuration: one ``models`` app, migrations on disk."""
    return {
        "connections": {"default": _connection(settings)},
        "apps": {
            "models": {
                "models": MODEL_MODULES,
                "default_connection": "default",
                "migrations": MIGRATIONS_MODULE,
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


async def open_database(settings: Settings) -> None:
    """Connects the ORM for the whole process; SQLite's folder is made if missing.

    The ORM context is also installed as the process-wide fallback, because
    ASGI servers run requests in tasks that do not inherit the start-up
    task's context variables.
    """
    if not settings.uses_postgres:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        await Tortoise.init(
            config=tortoise_config(settings), _enable_global_fallback=True
        )
    except (DBConnectionError, OSError) as exc:
        raise BackendUnavailable("the database cannot be reached") from exc


async def close_database() -> None:
    await Tortoise.close_connections()


def _executor(settings: Settings) -> MigrationExecutor:
    apps = tortoise_config(settings)["apps"]
    return MigrationExecutor(connections.get("default"), apps)


async def migrate(settings: Settings) -> None:
    """Applies every migration in ``migrations/`` that the open database lacks."""
    await _executor(settings).migrate()


async def pending_migrations(settings: Settings) -> list[str]:
    """Names of the migrations the open database has not applied yet."""
    steps = await _executor(settings).plan()
    return [step.migration.name for step in steps if not step.backward]


async def database_ready() -> bool:
    """True when a trivial statement succeeds on the default connection."""
    try:
        await connections.get("default").execute_query("SELECT 1")
    except (DBConnectionError, OperationalError, OSError):
        log.warning("database readiness check failed", exc_info=True)
        return False
    return True


async def make_migrations(settings: Settings) -> list[str]:
    """Writes a migration for every model change not yet in ``migrations/``."""
    config = tortoise_config(settings)
    async with TortoiseContext() as context:
        await context.init(config=config)
        assert context.apps is not None
        detector = MigrationAutodetector(context.apps, config["apps"])
        return [str(writer.write()) for writer in await detector.changes()]


async def model_changes(settings: Settings) -> list[str]:
    """Names of migrations that model changes would need; empty when in step."""
    config = tortoise_config(settings)
    async with TortoiseContext() as context:
        await context.init(config=config)
        assert context.apps is not None
        detector = MigrationAutodetector(context.apps, config["apps"])
        return [writer.name for writer in await detector.changes()]
