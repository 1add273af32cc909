"""docs/architecture.md's table of modules names every module of the package: a module added
without a line there fails here, so the map a newcomer reads stays whole."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "data_generator"
ARCHITECTURE = ROOT / "docs" / "architecture.md"
# Entry points of a package rather than modules with a job of their own.
NOT_LISTED = {"__init__.py", "__main__.py"}


def documented_paths(text: str) -> set[str]:
    """The paths the table's first column names, relative to data_generator/: in a cell,
    `steps/prices.py`, `actions.py` means steps/prices.py and steps/actions.py, and a name
    ending in `/` stands for the whole package."""
    section = text.split("## Modules", 1)[1].split("\n## ", 1)[0]
    paths = set()
    for line in section.splitlines():
        if not line.startswith("| `"):
            continue
        folder = ""
        for name in re.findall(r"`([^`]+)`", line.split("|")[1]):
            if "/" in name:
                folder = name.rsplit("/", 1)[0] + "/"
                name = name.rsplit("/", 1)[1]
            paths.add(folder + name)
    return paths


def modules() -> set[str]:
    return {
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if path.name not in NOT_LISTED and "node_modules" not in path.parts
    }


def is_covered(module: str, documented: set[str]) -> bool:
    return module in documented or any(
        entry.endswith("/") and module.startswith(entry) for entry in documented
    )


def test_every_module_of_the_package_is_in_the_architecture_table():
    documented = documented_paths(ARCHITECTURE.read_text())
    assert sorted(m for m in modules() if not is_covered(m, documented)) == []


def test_the_table_names_no_module_that_is_gone():
    documented = documented_paths(ARCHITECTURE.read_text())
    gone = {
        entry for entry in documented if entry.endswith(".py") and not (PACKAGE / entry).is_file()
    }
    assert gone == set()


def test_the_reading_of_a_cell_follows_its_folder():
    """A guard against a check that cannot fail: the cell forms the table uses."""
    text = (
        "## Modules\n\n| module | one job |\n|---|---|\n"
        "| `steps/prices.py`, `actions.py` | the steps |\n| `cli.py` | the CLI |\n"
        "| `dashboard/` | the app |\n\n## Tests\n| `tests/x.py` | no |\n"
    )
    documented = documented_paths(text)
    assert documented == {"steps/prices.py", "steps/actions.py", "cli.py", "dashboard/"}
    assert is_covered("dashboard/queries.py", documented)
    assert not is_covered("steps/batches.py", documented)
