"""The fault matrix: every fault the pipeline is tested to survive, and the page it publishes.

`tests/integration/test_faults.py` has one test per row, named `test_fault_<id>`, and checks
that this list and its tests match one to one and that `docs/reliability.md` holds the table
rendered from it, so the published page cannot drift from what is tested. Regenerate the page with

    .venv/bin/python -m tests.support.fault_matrix
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "reliability.md"

COMMON_CHECKS = (
    "the failed run reports it in one line (or, when killed, its exit status is SIGKILL's); "
    "a rerun of the same date exits 0; afterwards every raw, core and mart table equals a clean "
    "run of that date by checksum (load times left out), and the lake holds exactly the clean "
    "run's objects (by ETag), so nothing is lost, duplicated or half-written"
)


@dataclass(frozen=True)
class Fault:
    id: str
    fault: str
    behaviour: str
    checks: str


FAULTS: tuple[Fault, ...] = (
    Fault(
        "ingest_killed_after_copy",
        "the ingest process SIGKILLed after a symbol's COPY, before its commit",
        "the server rolls the open transaction back when the client's socket closes: the symbol "
        "has no rows, the others are untouched",
        "the killed run is held inside the COPY by a trigger waiting on an advisory lock the "
        "test holds; no AAPL row exists after the kill",
    ),
    Fault(
        "ingest_killed_mid_lake_write",
        "the ingest process SIGKILLed halfway through uploading a Parquet snapshot",
        "S3 stores an object only once its whole body arrived; the reply JSON written before it "
        "is reused by the rerun, with no new API call",
        "a TCP proxy freezes the PUT 64 bytes into its body; after the kill the Parquet key "
        "does not exist",
    ),
    Fault(
        "postgres_restarted_during_ingest",
        "PostgreSQL restarted while a symbol's load is open",
        "the load's transaction is lost whole; the command stops with 'PostgreSQL failed: …'",
        "a project-local cluster of the test's own is restarted with pg_ctl while the load "
        "waits on the test's lock",
    ),
    Fault(
        "postgres_restarted_during_dbt",
        "PostgreSQL restarted while dbt rebuilds a model",
        "each model is built in a transaction and swapped in at its end, so the models keep "
        "their previous contents; dbt names the failed models in one line",
        "the rebuild is held on a lock the test holds on core.fct_daily_prices, then the "
        "test's own cluster is restarted",
    ),
    Fault(
        "dbt_killed_mid_model",
        "`fintrade run` and its dbt child SIGKILLed while a model is being built",
        "the model's transaction dies with its connection; the build lock is a session lock, so "
        "it is released too",
        "dbt is held on the test's lock on core.fct_daily_prices, its process group killed; "
        "no __dbt_tmp or __dbt_backup relation is left",
    ),
    Fault(
        "s3_stopped_during_ingest",
        "the S3 server stopped during an ingest",
        "symbols already in the lake load; the next symbol fails after the client's retries, "
        "naming the object it could not read; the day's OLTP activity waits for the rerun; "
        "the marts still build from what loaded, then the run exits naming the symbol",
        "a SeaweedFS of the test's own is stopped while the first symbol's load waits on the "
        "test's lock, then started again for the rerun",
    ),
    Fault(
        "lake_object_truncated",
        "a Parquet snapshot in the lake truncated",
        "replay stops at it, naming s3://bucket/key and what is wrong (its frame, PAR1 at both "
        "ends and a footer length that fits, is checked before a reader sees it, and the reader "
        "runs on the calling thread, so the process exits 1, never aborts), and loads nothing; "
        "an ingest of that date refuses to keep it (the write-once object no longer matches its "
        "reply) until it is deleted, then rebuilds it from the reply JSON",
        "raw tables unchanged by the failed replay; replay succeeds after the rerun",
    ),
    Fault(
        "lake_object_not_parquet",
        "a Parquet key in the lake holding something else (JSON)",
        "as for a truncated snapshot",
        "as for a truncated snapshot",
    ),
    Fault(
        "vendor_slower_than_timeout",
        "Alpha Vantage answering slower than ALPHA_VANTAGE_TIMEOUT_SECONDS",
        "each attempt times out and is retried; after the last the symbol fails alone with "
        "'gave up after N attempts: ReadTimeout'; the day's OLTP activity waits for the rerun "
        "(it is drawn over the priced symbols and never redrawn); the marts still build from "
        "what loaded, then the run exits naming the symbol",
        "the local stand-in delays its reply past the timeout on every attempt",
    ),
    Fault(
        "vendor_closes_mid_body",
        "Alpha Vantage closing the connection halfway through the body",
        "the short read is retried; after the last attempt the symbol fails alone and the "
        "day's OLTP activity waits for the rerun; the marts still build, then the run exits "
        "naming the symbol",
        "the stand-in announces the full length, sends half and hangs up",
    ),
    Fault(
        "vendor_answers_for_other_symbol",
        "Alpha Vantage answering with another symbol's series",
        "the reply is refused before it reaches the lake ('reply is for another symbol'), so "
        "it never becomes the day's write-once record",
        "no lake object for the symbol after the failed run",
    ),
    Fault(
        "two_ingests_at_once",
        "two ingests of the same date at once (an Airflow retry overlapping a manual run)",
        "per-symbol advisory locks serialise the loads; write-once lake puts let the first "
        "writer win and the second reuse its object; keyed inserts add nothing twice",
        "the first run is held inside its COPY until the second is waiting too; both exit 0",
    ),
    Fault(
        "two_dbt_builds_at_once",
        "two dbt builds of the same database at once (a manual run during the scheduler's)",
        "the second waits for the database's build lock, then rebuilds on complete models",
        "the first build is held mid-model until the second waits on the build lock; both "
        "exit 0 and no __dbt_tmp or __dbt_backup relation is left",
    ),
    Fault(
        "state_folder_full",
        "the state folder on a full disk",
        "the command stops with 'cannot write the role passwords to …: No space left on "
        "device' before anything is stored; no partial file is left",
        "the state folder is a full 16 kB tmpfs",
    ),
    Fault(
        "state_folder_read_only",
        "the state folder not writable",
        "the command stops with 'cannot write the role passwords to …: Read-only file system' "
        "before anything is stored",
        "the state folder is a read-only tmpfs (root ignores permission bits, a read-only "
        "mount does not)",
    ),
)


def render() -> str:
    lines = [
        "# Reliability: the faults FinTrade survives",
        "",
        "Generated from `tests/support/fault_matrix.py`; `tests/integration/test_faults.py` runs "
        "one test per row "
        "against the real components (PostgreSQL, SeaweedFS over HTTP, the Alpha Vantage "
        "stand-in over HTTP, dbt) and fails if this page and the list differ.",
        "",
        f"Every row ends with the same checks: {COMMON_CHECKS}.",
        "",
        "| fault | what the system does | how the test provokes and checks it |",
        "|---|---|---|",
    ]
    lines += [f"| {f.fault} | {f.behaviour} | {f.checks} |" for f in FAULTS]
    lines += [
        "",
        "Bad input (malformed arguments, environment values and vendor replies) has its own "
        "table in `tests/integration/test_bad_input.py`: each row gets one line naming what was "
        "wrong, a "
        "non-zero exit and no change to anything stored.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    DOC.write_text(render())
    print(f"wrote {DOC}")
