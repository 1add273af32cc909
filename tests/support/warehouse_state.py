"""What a warehouse and its lake hold, as checksums: the yardstick of the fault and bad-input tests.

Tables are discovered, not listed, so a raw table or mart added later is compared too. Times a
load stamps (`loaded_at`, `rejected_at`, a run's start and end) differ between two runs of the
same data and are left out; `raw.ingest_runs` is the log of attempts, and
`mart.mart_ingest_status` its last run as the marts show it, so both are compared apart.

The lake's OLTP extracts (data_generator/storage/oltp_extracts.py) are derived from those
tables, so they are compared as what they say: the set in force (the newest manifest), one entry
`raw/oltp/parquet/<table>` per table, whatever day wrote it (a refused ingest of a new day writes
that day's set, and only its run log differs). Without stamps an extract counts as a digest of its
rows with the stamp columns left out; the run log's extract only has to be there, as
`raw.ingest_runs` is compared apart. An extract object no manifest names (a leftover) counts by
its own key.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.parquet as pq

from data_generator.settings import Settings
from data_generator.storage import oltp_extracts
from data_generator.storage.lake import s3_client
from tests.support.warehouse import BAR_TOTALS, RUN_LOGS, Checksum, schema_checksums

COMPARED_SCHEMAS = ("raw", "core", "mart")
STAMP_COLUMNS = oltp_extracts.STAMP_COLUMNS
RUN_LOG_EXTRACT = "ingest_runs"


@dataclass(frozen=True)
class StoredState:
    tables: dict[str, Checksum]  # "schema.table" -> checksum of its rows
    lake: dict[str, str]  # key -> ETag (extracts: their manifests' names -> digest)

    def differences(self, other: StoredState) -> list[str]:
        """Human-readable names of what differs, empty when both hold the same."""
        tables = sorted(
            name
            for name in self.tables.keys() | other.tables.keys()
            if self.tables.get(name) != other.tables.get(name)
        )
        keys = sorted(
            key
            for key in self.lake.keys() | other.lake.keys()
            if self.lake.get(key) != other.lake.get(key)
        )
        return tables + keys


def lake_objects(settings: Settings, *, with_stamps: bool = True) -> dict[str, str]:
    """Every object of the bucket with its ETag (an MD5 of the bytes for a plain upload), the
    OLTP extracts as their manifests name them (module docstring)."""
    client = s3_client(settings)
    objects: dict[str, str] = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=settings.s3_bucket):
        for item in page.get("Contents", []):
            objects[item["Key"]] = item["ETag"]

    def body(key: str) -> bytes:
        return client.get_object(Bucket=settings.s3_bucket, Key=key)["Body"].read()

    manifests = {
        key: pq.read_table(pa.BufferReader(body(key)))
        for key in objects
        if key.startswith(oltp_extracts.MANIFEST_PREFIX)
    }
    referenced = {k for manifest in manifests.values() for k in manifest["lake_key"].to_pylist()}
    named: dict[str, str] = {}
    if manifests:
        in_force = max(
            manifests, key=lambda key: (manifests[key]["extracted_through"][0].as_py(), key)
        )
        manifest = manifests[in_force]
        tables = manifest["table_name"].to_pylist()
        for table, extract in zip(tables, manifest["lake_key"].to_pylist(), strict=True):
            name = f"{oltp_extracts.PARQUET_PREFIX}{table}"
            if extract not in objects:
                named[name] = f"missing {extract}"
            elif table == RUN_LOG_EXTRACT:
                named[name] = "the run log"
            elif with_stamps:
                named[name] = objects[extract]
            else:
                named[name] = _rows_digest(body(extract))
    kept = {
        key: etag
        for key, etag in objects.items()
        if not key.startswith(oltp_extracts.MANIFEST_PREFIX) and key not in referenced
    }
    return kept | named


def _rows_digest(parquet: bytes) -> str:
    """The rows of an extract without their stamps, in an order of their own."""
    rows = pq.read_table(pa.BufferReader(parquet))
    rows = rows.drop_columns([c for c in STAMP_COLUMNS if c in rows.column_names])
    lines = sorted(repr(tuple(row.values())) for row in rows.to_pylist())
    return hashlib.md5("\n".join(lines).encode(), usedforsecurity=False).hexdigest()


def stored_state(settings: Settings, *, with_stamps: bool = True) -> StoredState:
    """Checksums of every raw, core and mart table and the lake's objects.

    `with_stamps=False` leaves load times out, to compare two databases built at different times.
    """
    # The bar totals hash each bar's load time with it: compared with the stamps only.
    tables = schema_checksums(
        settings,
        COMPARED_SCHEMAS,
        skip=RUN_LOGS if with_stamps else RUN_LOGS | BAR_TOTALS | {"raw.daily_price_totals"},
        exclude=() if with_stamps else STAMP_COLUMNS,
    )
    return StoredState(tables=tables, lake=lake_objects(settings, with_stamps=with_stamps))
