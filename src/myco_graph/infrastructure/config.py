"""Settings read from ``MYCO_*`` environment variables, validated at start."""

from __future__ import annotations

import re
import secrets
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AnyHttpUrl, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from myco_graph.errors import ConfigurationError


class LogFormat(StrEnum):
    JSON = "json"
    TEXT = "text"


class LogLevel(StrEnum):
    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"


PositiveInt = Annotated[int, Field(gt=0)]

# The types whose content the server recognises (domain.files checks each),
# hence the only ones MYCO_UPLOAD_TYPES may list.
UPLOAD_TYPES = (
    "image/jpeg",
    "image/png",
    "image/webp",
    "image/gif",
    "application/pdf",
)


class Settings(BaseSettings):
    """Every setting of an instance; each field is ``MYCO_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="MYCO_", frozen=True)

    database_url: str | None = None
    redis_url: str | None = None
    data_dir: Path = Path("data")
    base_url: AnyHttpUrl = AnyHttpUrl("http://127.0.0.1:8000")
    secret_key: str | None = Field(default=None, min_length=32)
    log_format: LogFormat = LogFormat.JSON
    log_level: LogLevel = LogLevel.INFO
    graphiql: bool = True
    cors_origins: list[str] = []
    # Federation. Remote documents are fetched over https from public addresses
    # only; allowing private addresses (and plain http on loopback) is for
    # tests. Authorized fetch refuses unsigned reads of member and project
    # actors, as Mastodon's secure mode does.
    federation_allow_private_addresses: bool = False
    authorized_fetch: bool = False
    # Delivery of outgoing activities: how many POSTs may be in flight to one
    # remote host at once, how long one may take, and after how many failures
    # in a row a host's circuit breaker opens.
    federation_host_parallelism: PositiveInt = 4
    federation_delivery_timeout_seconds: Annotated[float, Field(gt=0)] = 10.0
    federation_breaker_threshold: PositiveInt = 5
    max_body_bytes: PositiveInt = 1_000_000
    max_query_depth: PositiveInt = 12
    max_query_tokens: PositiveInt = 2_000
    max_query_aliases: PositiveInt = 30
    max_page_size: PositiveInt = 100
    session_ttl_hours: PositiveInt = 24 * 30
    login_attempts_per_minute: PositiveInt = 10
    requests_per_minute: PositiveInt = 600
    # The largest contribution to a money pool, in cents (10,000 EUR).
    max_contribution_cents: PositiveInt = 1_000_000
    # Files and photos of projects: where their bytes go (default: a "files"
    # folder in data_dir), how large and of which types uploads may be, and
    # how long a signed download URL stays valid.
    storage_dir: Path | None = None
    max_upload_bytes: PositiveInt = 10_000_000
    upload_types: list[str] = list(UPLOAD_TYPES)
    file_url_ttl_seconds: PositiveInt = 300

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str | None) -> str | None:
        if value is None:
            return None
        scheme = urlsplit(value).scheme
        if scheme not in {"postgres", "postgresql", "sqlite"}:
            raise ValueError("must start with postgresql://, postgres:// or sqlite://")
        return value

    @field_validator("upload_types")
    @classmethod
    def _checkable_upload_types(cls, value: list[str]) -> list[str]:
        if not set(value) <= set(UPLOAD_TYPES):
            raise ValueError(f"each must be one of {', '.join(UPLOAD_TYPES)}")
        return value

    @field_validator("redis_url")
    @classmethod
    def _known_redis(cls, value: str | None) -> str | None:
        if value is not None and urlsplit(value).scheme not in {"redis", "rediss"}:
            raise ValueError("must start with redis:// or rediss://")
        return value

    @cached_property
    def domain(self) -> str:
        """The instance's domain, which federation addresses use after ``@``."""
        return self.base_url.host or "localhost"

    @property
    def files_dir(self) -> Path:
        """The folder that holds the bytes of uploaded files."""
        return self.storage_dir or self.data_dir / "files"

    @property
    def embedded(self) -> bool:
        """True when running on SQLite with in-process jobs and events."""
        return self.redis_url is None

    @property
    def tortoise_db_url(self) -> str:
        if self.database_url is None:
            return f"sqlite://{self.data_dir.resolve() / 'myco.sqlite3'}"
        if self.database_url.startswith("postgresql://"):
            return "postgres://" + self.database_url.removeprefix("postgresql://")
        return self.database_url

    @property
    def uses_postgres(self) -> bool:
        return self.tortoise_db_url.startswith("postgres://")


def load_settings() -> Settings:
    """Reads the environment, raising ConfigurationError with every bad name."""
    try:
        settings = Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"MYCO_{'_'.join(str(p) for p in err['loc']).upper()}: {err['msg']}"
            for err in exc.errors(include_input=False)
        )
        # Not chained: pydantic's own message quotes every input, secrets too.
        raise ConfigurationError(f"invalid configuration: {problems}") from None
    except SettingsError as exc:
        # pydantic-settings fails this way, before validation, on a list
        # value (MYCO_CORS_ORIGINS) that is not JSON.
        field = re.search(r'field "(\w+)"', str(exc))
        name = f"MYCO_{field.group(1).upper()}" if field else "a MYCO_* variable"
        raise ConfigurationError(
            f"invalid configuration: {name}: not a JSON list"
        ) from exc
    if settings.secret_key is None and settings.uses_postgres:
        raise ConfigurationError(
            "MYCO_SECRET_KEY is required with PostgreSQL, so that every process "
            "of the instance shares it"
        )
    return settings


def secret_key(settings: Settings) -> bytes:
    """The instance secret; on the embedded default, made once in the data dir."""
    if settings.secret_key is not None:
        return settings.secret_key.encode()
    path = settings.data_dir / "secret_key"
    if not path.exists():
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(48))
    return path.read_text().strip().encode()


_installed: Settings | None = None


def install_settings(settings: Settings | None) -> None:
    """Makes ``settings`` the process's own, for code with no request to ask:
    jobs, and what runs inside the transaction of a recorded event."""
    global _installed
    _installed = settings


def installed_settings() -> Settings:
    if _installed is None:
        raise RuntimeError("no settings installed: the app or worker did not start")
    return _installed
