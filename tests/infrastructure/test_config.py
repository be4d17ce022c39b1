from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from myco_graph.errors import ConfigurationError
from myco_graph.infrastructure.config import Settings, load_settings, secret_key

SECRET = "s3cret-value-that-must-never-be-printed-anywhere"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No MYCO_* variable from the caller's shell; a fresh working directory."""
    for name in list(os.environ):
        if name.startswith("MYCO_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_nothing_configured_is_the_embedded_default() -> None:
    settings = load_settings()

    assert settings.embedded
    assert not settings.uses_postgres
    assert settings.tortoise_db_url == f"sqlite://{Path('data').resolve()}/myco.sqlite3"


def test_postgresql_url_is_given_to_the_orm_as_postgres(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MYCO_DATABASE_URL", "postgresql://coop@db/coop")
    monkeypatch.setenv("MYCO_SECRET_KEY", SECRET)

    settings = load_settings()

    assert settings.tortoise_db_url == "postgres://coop@db/coop"
    assert settings.uses_postgres


def test_bad_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MYCO_MAX_PAGE_SIZE", "0")

    with pytest.raises(ConfigurationError, match="MYCO_MAX_PAGE_SIZE"):
        load_settings()


def test_every_bad_variable_is_named_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MYCO_LOG_LEVEL", "LOUD")
    monkeypatch.setenv("MYCO_REDIS_URL", "http://cache")

    with pytest.raises(ConfigurationError) as raised:
        load_settings()

    assert "MYCO_LOG_LEVEL" in str(raised.value)
    assert "MYCO_REDIS_URL" in str(raised.value)


def test_short_secret_key_is_refused_without_quoting_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MYCO_SECRET_KEY", "tooshort-hunter2")

    with pytest.raises(ConfigurationError) as raised:
        load_settings()

    assert "MYCO_SECRET_KEY" in str(raised.value)
    assert "hunter2" not in str(raised.value)
    assert raised.value.__cause__ is None


def test_database_password_is_not_quoted_in_the_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MYCO_DATABASE_URL", "mysql://coop:hunter2@db/coop")

    with pytest.raises(ConfigurationError) as raised:
        load_settings()

    assert "MYCO_DATABASE_URL" in str(raised.value)
    assert "hunter2" not in str(raised.value)


def test_cors_origins_that_are_not_json_name_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MYCO_CORS_ORIGINS", "https://app.coop.test")

    with pytest.raises(ConfigurationError, match="MYCO_CORS_ORIGINS"):
        load_settings()


def test_cors_origins_are_a_json_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MYCO_CORS_ORIGINS", '["https://app.coop.test"]')

    assert load_settings().cors_origins == ["https://app.coop.test"]


def test_postgresql_without_a_secret_key_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MYCO_DATABASE_URL", "postgresql://coop@db/coop")

    with pytest.raises(ConfigurationError, match="MYCO_SECRET_KEY is required"):
        load_settings()


def test_embedded_secret_is_made_once_and_kept_private(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")

    first = secret_key(settings)
    second = secret_key(settings)

    assert first == second
    assert len(first) >= 32
    mode = (tmp_path / "data" / "secret_key").stat().st_mode
    assert stat.S_IMODE(mode) == 0o600


def test_configured_secret_wins_over_the_file(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, secret_key=SECRET)

    assert secret_key(settings) == SECRET.encode()
    assert not (tmp_path / "secret_key").exists()


def test_domain_comes_from_the_base_url() -> None:
    settings = Settings(base_url="https://coop.example:8443/")

    assert settings.domain == "coop.example"
