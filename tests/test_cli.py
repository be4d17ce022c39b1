"""The ``myco-graph`` command, run as a user runs it: a separate process."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from myco_graph.cli import main
from myco_graph.infrastructure.config import Settings
from tests.helpers import PASSWORD, GraphQLClient

ROOT = Path(__file__).parents[1]
COMMAND = str(Path(sys.executable).parent / "myco-graph")

DRIFT_CHECK = """
import asyncio, sys
from myco_graph.infrastructure.config import Settings
from myco_graph.infrastructure.db import model_changes

print(asyncio.run(model_changes(Settings(data_dir=sys.argv[1]))))
"""


def environment(**variables: str) -> dict[str, str]:
    """The caller's environment without MYCO_* settings, plus ``variables``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MYCO_")}
    return env | {f"MYCO_{name.upper()}": value for name, value in variables.items()}


def run(
    *args: str, data_dir: Path, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [COMMAND, *args],
        env=environment(data_dir=str(data_dir), log_format="text"),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_schema_file_matches_the_code(tmp_path: Path) -> None:
    printed = run("schema", data_dir=tmp_path)

    assert printed.returncode == 0, printed.stderr
    assert printed.stdout == (ROOT / "schema" / "schema.graphql").read_text(), (
        "schema/schema.graphql is stale: run `myco-graph schema > "
        "schema/schema.graphql` and commit it"
    )


def test_the_command_is_installed(tmp_path: Path) -> None:
    helped = run("--help", data_dir=tmp_path)

    assert helped.returncode == 0
    assert "serve" in helped.stdout


@pytest.mark.parametrize("command", sorted(main.commands))
def test_every_command_has_help(command: str) -> None:
    helped = CliRunner().invoke(main, [command, "--help"])

    assert helped.exit_code == 0, helped.output
    assert f"Usage: main {command}" in helped.output


def test_migrate_prepares_a_fresh_sqlite_data_dir(tmp_path: Path) -> None:
    first = run("migrate", data_dir=tmp_path / "data")
    second = run("migrate", data_dir=tmp_path / "data")

    assert first.returncode == 0, first.stderr
    assert "0001_initial" in first.stdout
    assert second.stdout.strip() == "applied 0 migration(s)"
    assert (tmp_path / "data" / "myco.sqlite3").exists()


def test_models_and_migrations_are_in_step(tmp_path: Path) -> None:
    checked = subprocess.run(
        [sys.executable, "-c", DRIFT_CHECK, str(tmp_path)],
        env=environment(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.strip() == "[]", (
        "models changed without a migration: run `myco-graph makemigrations`"
    )


def test_bad_setting_stops_a_command_with_its_name(tmp_path: Path) -> None:
    stopped = subprocess.run(
        [COMMAND, "migrate"],
        env=environment(data_dir=str(tmp_path), max_page_size="none"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert stopped.returncode == 1
    assert "MYCO_MAX_PAGE_SIZE" in stopped.stderr
    assert "Traceback" not in stopped.stderr


def test_serve_refuses_several_processes_without_redis(tmp_path: Path) -> None:
    refused = run("serve", "--processes", "2", data_dir=tmp_path)

    assert refused.returncode == 1
    assert "MYCO_REDIS_URL" in refused.stderr


def test_worker_refuses_to_start_without_redis(tmp_path: Path) -> None:
    refused = run("worker", data_dir=tmp_path)

    assert refused.returncode == 1
    assert "MYCO_REDIS_URL" in refused.stderr


def test_demo_loads_members_with_a_progress_bar(tmp_path: Path) -> None:
    loaded = run("demo", "--members", "3", data_dir=tmp_path)

    database = sqlite3.connect(tmp_path / "myco.sqlite3")
    accounts = database.execute("SELECT kind, COUNT(*) FROM accounts GROUP BY kind")
    entries = database.execute("SELECT COUNT(*) FROM share_entries").fetchone()
    assert loaded.returncode == 0, loaded.stderr
    assert "demo cooperative" in loaded.stdout
    assert "demo loaded" in loaded.stdout
    assert dict(accounts.fetchall()) == {"member": 3, "brand": 1}
    assert entries == (3,)
    database.close()


async def test_create_admin_makes_an_admin_who_can_log_in(
    api: GraphQLClient, settings: Settings
) -> None:
    variables = {
        "data_dir": str(settings.data_dir),
        "secret_key": settings.secret_key or "",
        "database_url": settings.database_url or "",
        "redis_url": settings.redis_url or "",
    }
    created = await asyncio.create_subprocess_exec(
        COMMAND,
        "create-admin",
        "--email",
        "staff@example.org",
        "--handle",
        "staff",
        "--display-name",
        "Staff",
        "--password-stdin",
        env=environment(**{k: v for k, v in variables.items() if v}),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(
        created.communicate(f"{PASSWORD}\n".encode()), 120
    )

    token = await api.log_in("staff@example.org")
    viewer = await api("{ viewer { handle accountType } }", token=token)

    assert created.returncode == 0, err.decode()
    assert out.decode().strip() == "admin staff created"
    assert viewer.data["viewer"] == {"handle": "staff", "accountType": "ADMIN"}
