"""The S3 data lake: write-once raw replies and Parquet snapshots keyed by symbol and date.

An object's presence means "already fetched for that date", which is what makes a same-day rerun
free of API calls; so objects are never overwritten (a conditional put refuses a second writer).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, TypedDict, Unpack

import boto3
import botocore.session
import pyarrow as pa
import pyarrow.parquet as pq
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from data_generator.errors import FintradeError, first_line
from data_generator.settings import Settings
from data_generator.sources.prices import ARROW_SCHEMA
from data_generator.storage.parquet_bytes import DamagedParquet, read_parquet

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import ListObjectsV2OutputTypeDef

_SNAPSHOT_KEY = re.compile(
    r"raw/parquet/symbol=(?P<symbol>[^/]+)/date=(?P<date>\d{4}-\d{2}-\d{2})\.parquet$"
)

ACTION_SNAPSHOT_KEY = re.compile(
    r"raw/actions/parquet/(?P<dataset>[^/]+)/symbol=(?P<symbol>[^/]+)/"
    r"date=(?P<date>\d{4}-\d{2}-\d{2})\.parquet$"
)


def json_key(symbol: str, day: date) -> str:
    return f"raw/json/symbol={symbol}/date={day.isoformat()}.json"


def parquet_key(symbol: str, day: date) -> str:
    return f"raw/parquet/symbol={symbol}/date={day.isoformat()}.parquet"


def action_json_key(dataset: str, symbol: str, day: date) -> str:
    """Corporate actions sit under `raw/actions/`, beside (never inside) the price prefixes, so
    `snapshot_symbols` cannot mistake a dataset for a price symbol."""
    return f"raw/actions/json/{dataset}/symbol={symbol}/date={day.isoformat()}.json"


def action_parquet_key(dataset: str, symbol: str, day: date) -> str:
    return f"raw/actions/parquet/{dataset}/symbol={symbol}/date={day.isoformat()}.parquet"


def action_parquet_prefix(dataset: str) -> str:
    return f"raw/actions/parquet/{dataset}/"


class LakeError(FintradeError):
    """The lake could not be read or written; the message names the bucket and key."""


class _Listing(TypedDict, total=False):
    """The parts of a ListObjectsV2 request that vary between our listings."""

    Prefix: str
    Delimiter: str


@dataclass(frozen=True)
class Snapshot:
    symbol: str
    snapshot_date: date
    key: str


def s3_client(settings: Settings) -> S3Client:
    """A boto3 client for the configured endpoint (AWS itself when none is set).

    Credentials are boto3's own chain, so temporary ones, profiles and roles work as in any AWS
    tool: a named profile (with its session token, or the role it assumes), else the settings'
    key pair with its session token (they may come from `.env`, which boto3 does not read),
    else boto3's search: the environment, the shared files, a container or instance role.
    """
    try:
        return _aws_session(settings).client(
            "s3",
            endpoint_url=settings.aws_endpoint_url,
            config=Config(retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=5),
        )
    except BotoCoreError as exc:
        raise LakeError(f"cannot set up the lake's S3 client: {exc}") from None


def _aws_session(settings: Settings) -> boto3.Session:
    core = botocore.session.Session()
    if settings.aws_shared_credentials_file is not None:
        core.set_config_variable("credentials_file", str(settings.aws_shared_credentials_file))
    if settings.aws_profile:
        return boto3.Session(
            botocore_session=core,
            profile_name=settings.aws_profile,
            region_name=settings.aws_region,
        )
    return boto3.Session(
        botocore_session=core,
        aws_access_key_id=settings.aws_access_key_id,
        aws_secret_access_key=settings.aws_secret_access_key,
        aws_session_token=settings.aws_session_token,
        region_name=settings.aws_region,
    )


class Lake:
    def __init__(self, bucket: str, client: S3Client) -> None:
        self.bucket = bucket
        self._client = client

    @classmethod
    def from_settings(cls, settings: Settings) -> Lake:
        return cls(settings.s3_bucket, s3_client(settings))

    def ensure_bucket(self) -> None:
        try:
            self._client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in ("404", "NoSuchBucket", "NotFound"):
                raise LakeError(f"cannot reach bucket {self.bucket}: {exc}") from None
            self._create_bucket()
        except BotoCoreError as exc:
            raise LakeError(f"cannot reach bucket {self.bucket}: {exc}") from None

    def _create_bucket(self) -> None:
        try:
            self._client.create_bucket(Bucket=self.bucket)
        except (ClientError, BotoCoreError) as exc:
            raise LakeError(
                f"cannot create bucket {self.bucket} (is the endpoint an S3 server?): {exc}"
            ) from None

    def exists(self, key: str) -> bool:
        try:
            self._client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                return False
            raise LakeError(f"cannot read s3://{self.bucket}/{key}: {exc}") from None
        except BotoCoreError as exc:
            raise LakeError(f"cannot read s3://{self.bucket}/{key}: {exc}") from None
        return True

    def put_once(self, key: str, body: bytes, content_type: str) -> bool:
        """Store `body` unless the key exists; False when an earlier write already holds it."""
        try:
            self._client.put_object(
                Bucket=self.bucket, Key=key, Body=body, ContentType=content_type, IfNoneMatch="*"
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] in (
                "PreconditionFailed",
                "412",
                "ConditionalRequestConflict",
            ):
                return False
            raise LakeError(f"cannot write s3://{self.bucket}/{key}: {exc}") from None
        except BotoCoreError as exc:
            raise LakeError(f"cannot write s3://{self.bucket}/{key}: {exc}") from None
        return True

    def put(self, key: str, body: bytes, content_type: str) -> None:
        """Store `body`, replacing what the key held: for derived objects only (the OLTP
        extracts), never for the write-once vendor records above."""
        try:
            self._client.put_object(
                Bucket=self.bucket, Key=key, Body=body, ContentType=content_type
            )
        except (ClientError, BotoCoreError) as exc:
            raise LakeError(f"cannot write s3://{self.bucket}/{key}: {_reason(exc)}") from None

    def delete(self, key: str) -> None:
        try:
            self._client.delete_object(Bucket=self.bucket, Key=key)
        except (ClientError, BotoCoreError) as exc:
            raise LakeError(f"cannot delete s3://{self.bucket}/{key}: {_reason(exc)}") from None

    def etags(self, prefix: str) -> dict[str, str]:
        """Every key under `prefix` with the MD5 its ETag holds (unquoted)."""
        return {
            item["Key"]: item["ETag"].strip('"')
            for page in self._pages(Prefix=prefix)
            for item in page.get("Contents", [])
        }

    def get(self, key: str) -> bytes | None:
        try:
            return self._client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                return None
            raise LakeError(f"cannot read s3://{self.bucket}/{key}: {exc}") from None
        except BotoCoreError as exc:
            raise LakeError(f"cannot read s3://{self.bucket}/{key}: {exc}") from None

    def put_table_once(self, key: str, table: pa.Table) -> bool:
        buffer = io.BytesIO()
        pq.write_table(table, buffer, compression="zstd")
        return self.put_once(key, buffer.getvalue(), "application/vnd.apache.parquet")

    def get_table(self, key: str, schema: pa.Schema = ARROW_SCHEMA) -> pa.Table:
        body = self.get(key)
        if body is None:
            raise LakeError(f"missing s3://{self.bucket}/{key}")
        try:
            return read_parquet(body, schema)
        except DamagedParquet as exc:
            # A replay must stop at a damaged snapshot, never skip it: name it to the user.
            raise LakeError(
                f"s3://{self.bucket}/{key} is not a readable Parquet snapshot: {exc}"
            ) from None

    def keys(self, prefix: str) -> list[str]:
        """Every key under `prefix`, sorted."""
        keys: list[str] = []
        for page in self._pages(Prefix=prefix):
            keys.extend(item["Key"] for item in page.get("Contents", []))
        return sorted(keys)

    def _pages(self, **kwargs: Unpack[_Listing]) -> Iterator[ListObjectsV2OutputTypeDef]:
        try:
            yield from self._client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, **kwargs
            )
        except ClientError as exc:
            raise LakeError(
                f"cannot list s3://{self.bucket}/{kwargs.get('Prefix', '')}: "
                f"{exc.response['Error']['Code']}"
            ) from None
        except BotoCoreError as exc:
            raise LakeError(
                f"cannot list s3://{self.bucket}/{kwargs.get('Prefix', '')}: {exc}"
            ) from None

    def snapshots(self, symbol: str) -> Iterator[Snapshot]:
        """Every Parquet snapshot of `symbol`, oldest first (ISO dates sort as text)."""
        keys: list[str] = []
        for page in self._pages(Prefix=f"raw/parquet/symbol={symbol}/"):
            keys.extend(item["Key"] for item in page.get("Contents", []))
        for key in sorted(keys):
            match = _SNAPSHOT_KEY.match(key)
            if match and match["symbol"] == symbol:
                yield Snapshot(symbol, date.fromisoformat(match["date"]), key)

    def snapshot_symbols(self) -> list[str]:
        symbols: list[str] = []
        for page in self._pages(Prefix="raw/parquet/", Delimiter="/"):
            for prefix in page.get("CommonPrefixes", []):
                symbols.append(prefix["Prefix"].removeprefix("raw/parquet/symbol=").rstrip("/"))
        return sorted(symbols)


def _reason(exc: ClientError | BotoCoreError) -> str:
    """A failure in one line: an S3 error's code, or the client's own message."""
    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Code", "error")
    return first_line(exc)
