"""The ``myco-graph`` command."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from myco_graph.errors import MycoError
from myco_graph.infrastructure import db
from myco_graph.infrastructure.config import Settings, load_settings
from myco_graph.infrastructure.logs import configure_logging
from myco_graph.runtime import running

T = TypeVar("T")


def settings_or_exit() -> Settings:
    try:
        settings = load_settings()
    except MycoError as exc:
        raise click.ClickException(str(exc)) from exc
    configure_logging(settings.log_level.value, settings.log_format.value)
    return settings


def run(work: Callable[[], Awaitable[T]]) -> T:
    """Runs a coroutine, turning our errors into a clean exit."""
    try:
        return asyncio.run(work())  # type: ignore[arg-type]
    except MycoError as exc:
        raise click.ClickException(str(exc)) from exc


@click.group()
@click.version_option(package_name="myco-graph")
def main() -> None:
    """myco-graph: the server of a data cooperative.

    Settings come from MYCO_* environment variables (see the README).
    """


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--processes",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="App processes; more than one needs MYCO_REDIS_URL.",
)
def serve(host: str, port: int, processes: int) -> None:
    """Serves GraphQL (and GraphiQL) at /graphql."""
    import uvicorn

    settings = settings_or_exit()
    if processes > 1 and settings.redis_url is None:
        raise click.ClickException(
            "several processes share jobs and events through Redis: set MYCO_REDIS_URL"
        )
    uvicorn.run(
        "myco_graph.app:app_factory",
        factory=True,
        host=host,
        port=port,
        workers=processes,
        log_config=None,
        access_log=False,
        server_header=False,
    )


@main.command()
def worker() -> None:
    """Runs the arq worker that executes queued and periodic jobs."""
    from myco_graph.worker import run_worker

    settings = settings_or_exit()
    if settings.redis_url is None:
        raise click.ClickException(
            "the worker reads jobs from Redis: set MYCO_REDIS_URL "
            "(on the embedded default, serve runs jobs itself)"
        )
    run_worker(settings)


@main.command()
def migrate() -> None:
    """Applies the database migrations that are missing."""
    settings = settings_or_exit()

    async def work() -> list[str]:
        await db.open_database(settings)
        try:
            pending = await db.pending_migrations(settings)
            await db.migrate(settings)
            return pending
        finally:
            await db.close_database()

    applied = run(work)
    click.echo(
        f"applied {len(applied)} migration(s)" + "".join(f"\n  {n}" for n in applied)
    )


@main.command()
def schema() -> None:
    """Prints the GraphQL schema (SDL)."""
    from myco_graph.graphql.schema import build_schema

    click.echo(build_schema().as_str())


@main.command("create-admin")
@click.option("--email", required=True)
@click.option("--handle", required=True)
@click.option("--display-name", required=True)
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from standard input."
)
def create_admin(
    email: str, handle: str, display_name: str, password_stdin: bool
) -> None:
    """Creates an admin account."""
    from myco_graph.domain import accounts
    from myco_graph.domain.models import AccountKind

    settings = settings_or_exit()
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    form = accounts.SignUp(email, password, handle, display_name, AccountKind.ADMIN)

    async def work() -> None:
        async with running(settings):
            await accounts.sign_up(form)

    run(work)
    click.echo(f"admin {handle} created")


@main.command()
@click.option(
    "--members", default=50, show_default=True, type=click.IntRange(1, 10_000)
)
def demo(members: int) -> None:
    """Loads a small demo cooperative (members with shares, a brand)."""
    from myco_graph.demo import DEMO_PASSWORD, load_demo

    settings = settings_or_exit()

    async def work() -> None:
        async with running(settings):
            with click.progressbar(length=members + 1, label="demo cooperative") as bar:
                await load_demo(members, advance=bar.update)

    run(work)
    click.echo(f"demo loaded: log in as demo_member_1@example.org / {DEMO_PASSWORD}")


@main.command()
def makemigrations() -> None:
    """For developers: writes a migration for model changes into migrations/."""
    settings = settings_or_exit()

    async def work() -> list[Any]:
        return await db.make_migrations(settings)

    written = run(work)
    click.echo("\n".join(str(path) for path in written) or "no changes")
