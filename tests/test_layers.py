"""Imports point downwards only, as DESIGN.md's layer table says."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "src" / "myco_graph"

# Which layers each layer may import, besides itself.
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "infrastructure": {"errors"},
    "domain": {"errors", "infrastructure"},
    "federation": {"errors", "infrastructure", "domain"},
    "web": {"errors", "infrastructure", "domain"},
    "graphql": {"errors", "infrastructure", "domain", "federation"},
}
# Entry points assemble the layers and may import anything.
ENTRY_POINTS = {"__init__", "__main__", "app", "cli", "demo", "runtime", "worker"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> str:
    """The layer of a module: ``graphql`` for ``myco_graph.graphql.schema``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def imported_modules(source: str, module: str, is_package: bool) -> set[str]:
    """Every myco_graph module that ``source`` imports, relative ones resolved."""
    found: set[str] = set()
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from myco_graph import errors` imports the module myco_graph.errors.
            found |= {base} | {f"{base}.{alias.name}" for alias in node.names}
    return {name for name in found if name.startswith("myco_graph.")}


def violations(source: str, module: str, is_package: bool = False) -> list[str]:
    layer = layer_of(module)
    if layer in ENTRY_POINTS:
        return []
    allowed = ALLOWED[layer] | {layer}
    return sorted(
        f"{module} imports {target}"
        for target in imported_modules(source, module, is_package)
        if layer_of(target) not in allowed
    )


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_every_module_is_in_a_known_layer() -> None:
    layers = {layer_of(module_name(path)) for path in MODULES}

    assert layers - ALLOWED.keys() - ENTRY_POINTS == set()
    assert {"infrastructure", "domain", "graphql", "web"} <= layers


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_imports_only_the_layers_below(path: Path) -> None:
    module = module_name(path)

    found = violations(path.read_text(), module, path.name == "__init__.py")

    assert found == []


@pytest.mark.parametrize(
    ("source", "module"),
    [
        ("from myco_graph.graphql.schema import build_schema", "myco_graph.domain.x"),
        ("from myco_graph import domain", "myco_graph.infrastructure.x"),
        ("import myco_graph.web.health", "myco_graph.domain.x"),
        ("from ..domain import models", "myco_graph.infrastructure.x"),
        ("def f():\n    from myco_graph.app import create_app", "myco_graph.web.x"),
        ("from myco_graph.graphql import schema", "myco_graph.web.x"),
        ("from myco_graph.web import health", "myco_graph.graphql.x"),
    ],
)
def test_an_upward_import_is_caught(source: str, module: str) -> None:
    assert violations(source, module) != []


@pytest.mark.parametrize(
    ("source", "module"),
    [
        ("from myco_graph.errors import NotFound", "myco_graph.infrastructure.x"),
        ("from myco_graph import errors", "myco_graph.infrastructure.x"),
        ("from . import config", "myco_graph.infrastructure.x"),
        ("from myco_graph.infrastructure import db", "myco_graph.domain.x"),
        ("from myco_graph.domain.models import Account", "myco_graph.graphql.x"),
        ("from myco_graph.domain import shares", "myco_graph.web.x"),
        ("from myco_graph.graphql.schema import build_schema", "myco_graph.cli"),
    ],
)
def test_a_downward_import_is_allowed(source: str, module: str) -> None:
    assert violations(source, module) == []
