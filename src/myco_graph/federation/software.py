"""How this software names itself to other instances."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

NAME = "myco-graph"

try:
    VERSION = version(NAME)
except PackageNotFoundError:  # running from a source tree that is not installed
    VERSION = "0+unknown"

USER_AGENT = f"{NAME}/{VERSION}"
