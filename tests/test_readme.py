"""The README documents every setting there is."""

from __future__ import annotations

import re
from pathlib import Path

from myco_graph.infrastructure.config import Settings

README = Path(__file__).parents[1] / "README.md"


def documented_settings() -> set[str]:
    """The variables named in the first column of the README's tables."""
    return set(re.findall(r"^\| `(MYCO_[A-Z_]+)` \|", README.read_text(), re.MULTILINE))


def test_readme_lists_every_setting() -> None:
    settings = {f"MYCO_{name.upper()}" for name in Settings.model_fields}

    assert settings - documented_settings() == set()


def test_readme_lists_no_setting_that_does_not_exist() -> None:
    settings = {f"MYCO_{name.upper()}" for name in Settings.model_fields}

    assert documented_settings() - settings == set()
