"""The package's arrows point one way (docs/architecture.md): a step never reaches for local-dev
servers, and the layers under the steps never import the steps."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "data_generator"

# layer -> packages of data_generator it must not import
FORBIDDEN = {
    "steps": {"localdev", "cli", "dashboard"},
    "sources": {"steps", "localdev", "storage", "activity", "cli", "dashboard"},
    "storage": {"steps", "localdev", "cli", "dashboard"},
    "activity": {"steps", "localdev", "storage", "sources", "cli", "dashboard"},
    "reference": {"steps", "localdev", "storage", "sources", "activity", "cli", "dashboard"},
    "dashboard": {"steps", "localdev", "cli"},
    "scheduling": {"steps", "localdev", "storage", "sources", "activity", "cli", "dashboard"},
}


def imported_packages(path: Path) -> set[str]:
    """The first component under `data_generator` of every import in the module."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            parts = node.module.split(".")
            if parts[0] == "data_generator" and len(parts) > 1:
                found.add(parts[1])
            elif node.module == "data_generator":
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "data_generator" and len(parts) > 1:
                    found.add(parts[1])
    return found


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_point_one_way(layer: str):
    offending = {
        str(module.relative_to(PACKAGE)): sorted(imported_packages(module) & FORBIDDEN[layer])
        for module in sorted((PACKAGE / layer).rglob("*.py"))
    }
    assert {module: names for module, names in offending.items() if names} == {}


def test_the_check_sees_an_import():
    """A guard against a check that cannot fail: the CLI does import localdev."""
    assert "localdev" in imported_packages(PACKAGE / "cli.py")
