"""The package's arrows point one way (docs/architecture.md): a step never reaches for local-dev
servers, and the layers under the steps never import the steps."""

from __future__ import annotations

import ast
import tomllib
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


def test_the_wheel_lists_every_subpackage_and_carries_the_project_files():
    """pyproject lists the packages by hand (two of them are sql/ and dbt/fintrade, mapped in as
    package data), so a new subpackage must be added there or the wheel goes without it."""
    setuptools = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())["tool"][
        "setuptools"
    ]
    subpackages = {
        "data_generator." + ".".join(init.parent.relative_to(PACKAGE).parts)
        for init in PACKAGE.rglob("__init__.py")
        if init.parent != PACKAGE and "node_modules" not in init.parts
    }
    assert subpackages | {"data_generator"} <= set(setuptools["packages"])
    mapped = {name: PACKAGE.parent / folder for name, folder in setuptools["package-dir"].items()}
    assert (mapped["data_generator.sql"] / "init.sql").is_file()
    assert (mapped["data_generator.dbt_project"] / "dbt_project.yml").is_file()
