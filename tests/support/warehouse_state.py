"""What a warehouse and its lake hold, as checksums: the yardstick of the fault and bad-input tests.

Tables are discovered, not listed, so a raw table or mart added later is compared too. Times a
load stamps (`loaded_at`, `rejected_at`, a run's start and end) differ between two runs of the
same data and are left out; `raw.ingest_runs` is the log of attempts, and
`mart.mart_ingest_status` its last run as the marts show it, so both are compared apart.
"""

from __future__ import annotations

from dataclasses import dataclass

from data_generator.settings import Settings
from data_generator.storage.lake import s3_client
from tests.support.warehouse import Checksum, schema_checksums

COMPARED_SCHEMAS = ("raw", "core", "mart")
STAMP_COLUMNS = ("loaded_at", "rejected_at", "started_at", "finished_at")


@dataclass(frozen=True)
class StoredState:
    tables: dict[str, Checksum]  # "schema.table" -> checksum of its rows
    lake: dict[str, str]  # key -> ETag

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


def lake_objects(settings: Settings) -> dict[str, str]:
    """Every object of the bucket with its ETag (an MD5 of the bytes for a plain upload)."""
    client = s3_client(settings)
    objects: dict[str, str] = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=settings.s3_bucket):
        for item in page.get("Contents", []):
            objects[item["Key"]] = item["ETag"]
    return objects


def stored_state(settings: Settings, *, with_stamps: bool = True) -> StoredState:
    """Checksums of every raw, core and mart table and the lake's objects.

    `with_stamps=False` leaves load times out, to compare two databases built at different times.
    """
    tables = schema_checksums(
        settings, COMPARED_SCHEMAS, exclude=() if with_stamps else STAMP_COLUMNS
    )
    return StoredState(tables=tables, lake=lake_objects(settings))
