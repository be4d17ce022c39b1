"""Logging set-up: JSON lines in production, each carrying the request id."""

from __future__ import annotations

import logging
import logging.config
from contextvars import ContextVar

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

# The ORM logs every statement with its parameters at DEBUG: those parameters
# are members' personal values, so its loggers never go below WARNING.
_QUIET_LOGGERS = ("tortoise", "tortoise.db_client", "aiosqlite", "asyncio")


class RequestIdFilter(logging.Filter):
    """Adds the current request id (or ``-``) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get() or "-"
        return True


def configure_logging(level: str, fmt: str) -> None:
    """Installs one stderr handler on the root logger."""
    formatter: dict[str, object]
    if fmt == "json":
        formatter = {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level"},
        }
    else:
        formatter = {
            "format": "%(asctime)s %(levelname)-7s [%(request_id)s] %(name)s: "
            "%(message)s"
        }
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "filters": {"request_id": {"()": RequestIdFilter}},
            "formatters": {"main": formatter},
            "handlers": {
                "stderr": {
                    "class": "logging.StreamHandler",
                    "formatter": "main",
                    "filters": ["request_id"],
                }
            },
            "root": {"level": level, "handlers": ["stderr"]},
            "loggers": {name: {"level": "WARNING"} for name in _QUIET_LOGGERS},
        }
    )
