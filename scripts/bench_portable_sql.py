"""Portable SQL against PostgreSQL (issue 22): the daily dbt build of this checkout's project and
of an earlier revision's, side by side on the same scale database, in turn; prints the figures
and the slowest nodes of each, asserts nothing.

The database is the 20-year one `scripts/bench_scale_dbt.py --years 20 --keep` leaves (5,000
symbols, 25,155,000 bars: docs/scale.md). Both projects build the same rows (the PostgreSQL SQL
is unchanged in meaning), so each round's build is the daily build again: the incremental
models re-read their lookback window, the tests read theirs, nothing new arrives. The two sides
alternate which goes first, so a noisy minute lands on both.

Usage: .venv/bin/python scripts/bench_portable_sql.py --database scale_dbt_20y_… [--rev 61e9e5f]
           [--rounds 5]
Goal: this checkout's build no slower than the revision's (ratio <= 1.0, within the noise).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from data_generator.settings import DBT_PROJECT_DIR, PROJECT_ROOT, load_settings

DBT = Path(sys.executable).parent / "dbt"
PROJECT_IN_REPO = DBT_PROJECT_DIR.relative_to(PROJECT_ROOT)


@dataclass
class Side:
    label: str
    project: Path
    seconds: list[float] = field(default_factory=list)
    nodes: list[tuple[float, str]] = field(default_factory=list)


def export_project(rev: str, into: Path) -> Path:
    """The dbt project as it was at `rev`, unpacked from git (no checkout touched)."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", rev, str(PROJECT_IN_REPO)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into / PROJECT_IN_REPO


def daily_build(side: Side, database: str, target_path: Path) -> float:
    """One `dbt build` of the side's project, as the pipeline's daily build runs it."""
    env = load_settings().with_overrides(pg_database=database).pg_environ()
    started = time.perf_counter()
    subprocess.run(
        [
            str(DBT),
            "build",
            "--project-dir",
            str(side.project),
            "--profiles-dir",
            str(side.project),
            "--target",
            "dev",
            "--target-path",
            str(target_path),
            "--log-path",
            str(target_path / "logs"),
            "--no-use-colors",
            "--quiet",
        ],
        env={**_inherited(), **env, "PGCLIENTENCODING": "UTF8"},
        check=True,
    )
    seconds = time.perf_counter() - started
    results = json.loads((target_path / "run_results.json").read_text())["results"]
    side.nodes = sorted(
        ((node["execution_time"], node["unique_id"].split(".")[2]) for node in results),
        reverse=True,
    )
    return seconds


def _inherited() -> dict[str, str]:
    """The caller's environment without its own PG* settings: the bench names the database."""
    return {key: value for key, value in os.environ.items() if not key.startswith("PG")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True, help="a scale_dbt_20y_… database")
    parser.add_argument("--rev", default="61e9e5f", help="the revision to compare against")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-portable-sql-") as work:
        work_dir = Path(work)
        sides = [
            Side(f"at {args.rev}", export_project(args.rev, work_dir / "baseline")),
            Side("this checkout", DBT_PROJECT_DIR),
        ]
        for round_number in range(args.rounds):
            order = sides if round_number % 2 == 0 else sides[::-1]
            for side in order:
                target = work_dir / "target" / side.label.replace(" ", "-")
                seconds = daily_build(side, args.database, target)
                side.seconds.append(seconds)
                print(f"round {round_number + 1}: {side.label} {seconds:.1f} s", flush=True)
    baseline, current = sides
    print(f"\n{args.database}, {args.rounds} rounds, daily build again (seconds)")
    for side in sides:
        spread = (max(side.seconds) - min(side.seconds)) / statistics.median(side.seconds)
        print(
            f"  {side.label:>16}: median {statistics.median(side.seconds):.1f}, "
            f"rounds {', '.join(f'{s:.1f}' for s in side.seconds)} (spread {spread:.0%})"
        )
        print("    slowest: " + ", ".join(f"{n} {s:.1f}s" for s, n in side.nodes[:6]))
    per_round = [c / b for b, c in zip(baseline.seconds, current.seconds, strict=True)]
    ratio = statistics.median(current.seconds) / statistics.median(baseline.seconds)
    print(f"  per round (this / {args.rev}): " + ", ".join(f"{r:.2f}" for r in per_round))
    print(f"this checkout / {args.rev}: {ratio:.2f}x (goal <= 1.0x, no slower)")


if __name__ == "__main__":
    main()
