"""The original entry point, kept working through the same code as `fintrade`.

python data_generator/generate_data.py --init [--date D]   # == fintrade init
python data_generator/generate_data.py [--date D]          # == fintrade ingest (default: yesterday)
"""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # run as a file path, e.g. inside the Airflow container
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from data_generator.cli import default_date, main


def to_fintrade_args(argv: list[str]) -> list[str]:
    """Map the original flags onto the CLI: --init means `init`, anything else one day's ingest."""
    rest = [arg for arg in argv if arg != "--init"]
    if "--init" in argv:
        return ["init", *rest]
    if "--date" not in rest:
        rest = ["--date", default_date().isoformat(), *rest]
    return ["ingest", *rest]


if __name__ == "__main__":
    sys.exit(main(to_fintrade_args(sys.argv[1:])))
