"""The project's own S3 server holds as many buckets as a test session makes.

`weed mini` gives every bucket a volume of its own and by default allows 56: the 57th bucket's
first write was an InternalError, and every new bucket's after it, so a whole test session went
red from whichever test came 57th (data_generator/localdev/seaweedfs.py raises the ceiling).
"""

from __future__ import annotations

import secrets
from pathlib import Path

import boto3

from data_generator.localdev.processes import stop_pid
from data_generator.localdev.seaweedfs import start_seaweedfs
from tests.support.ports import free_port_base

BUCKETS = 80


def test_a_write_lands_in_every_one_of_80_new_buckets(tmp_path: Path) -> None:
    base = free_port_base()
    access_key, secret_key = f"test{secrets.token_hex(4)}", secrets.token_hex(16)
    pid = start_seaweedfs(tmp_path / "s3", base, access_key, secret_key)
    try:
        client = boto3.client(
            "s3",
            endpoint_url=f"http://127.0.0.1:{base}",
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            region_name="us-east-1",
        )
        for number in range(BUCKETS):
            bucket = f"bucket-{number}"
            client.create_bucket(Bucket=bucket)
            client.put_object(Bucket=bucket, Key="raw/x.json", Body=b"{}")
        stored = client.get_object(Bucket=f"bucket-{BUCKETS - 1}", Key="raw/x.json")
        assert stored["Body"].read() == b"{}"
    finally:
        stop_pid(pid, "SeaweedFS")
