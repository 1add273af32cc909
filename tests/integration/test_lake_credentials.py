"""Temporary credentials reach the lake: a session token as an IAM role hands it out.

The test's SeaweedFS runs with an STS signing key and one role (`-s3.iam.config`), so it
issues temporary credentials through AssumeRole and, like AWS, accepts their key pair only with
its session token. The pipeline is then given that credential the ways a host with a role gives
it: in the environment, or as a profile in a shared credentials file with no key pair at all.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import boto3
import pytest

from data_generator.localdev import processes, seaweedfs
from data_generator.settings import load_settings
from data_generator.storage.lake import Lake, LakeError
from tests.support.harness import S3Server, run_fintrade, scratch_warehouse
from tests.support.ports import free_port_base
from tests.support.warehouse import query

ROLE_ARN = "arn:aws:iam::000000000000:role/FintradeLake"
PROFILE = "fintrade-lake"
DAY = date(2026, 11, 24)


def iam_config(signing_key: str) -> dict:
    """One role anyone with the server's static key may assume, allowed everything in S3."""
    return {
        "sts": {"tokenDuration": "1h", "issuer": "fintrade-test-sts", "signingKey": signing_key},
        "policy": {"defaultEffect": "Deny", "storeType": "memory"},
        "roles": [
            {
                "roleName": "FintradeLake",
                "roleArn": ROLE_ARN,
                "trustPolicy": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": ["sts:AssumeRole"]}
                    ],
                },
                "attachedPolicies": ["LakeReadWrite"],
            }
        ],
        "policies": [
            {
                "name": "LakeReadWrite",
                "document": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Action": ["s3:*"], "Resource": ["*"]},
                        {"Effect": "Allow", "Action": ["sts:ValidateSession"], "Resource": ["*"]},
                    ],
                },
            }
        ],
    }


@pytest.fixture(scope="module")
def sts_server(tmp_path_factory) -> Iterator[S3Server]:
    """A SeaweedFS of this module's own that issues and verifies temporary credentials."""
    data_dir = tmp_path_factory.mktemp("sts-s3")
    config = data_dir / "iam.json"
    signing_key = base64.b64encode(secrets.token_bytes(32)).decode()
    config.write_text(json.dumps(iam_config(signing_key)))
    base = free_port_base()
    access_key, secret_key = f"test{secrets.token_hex(4)}", secrets.token_hex(16)
    pid = seaweedfs.start_seaweedfs(data_dir, base, access_key, secret_key, iam_config=config)
    try:
        yield S3Server(f"http://127.0.0.1:{base}", access_key, secret_key)
    finally:
        processes.stop_pid(pid, "SeaweedFS")


def assume_role(server: S3Server) -> dict[str, str]:
    """Temporary credentials for the role, as a host's IAM role receives them."""
    sts = boto3.client(
        "sts",
        endpoint_url=server.endpoint_url,
        aws_access_key_id=server.access_key,
        aws_secret_access_key=server.secret_key,
        region_name="us-east-1",
    )
    credentials = sts.assume_role(RoleArn=ROLE_ARN, RoleSessionName="fintrade-test")["Credentials"]
    return {
        "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
        "AWS_SESSION_TOKEN": credentials["SessionToken"],
    }


def test_a_session_token_in_the_environment_reaches_the_lake(sts_server):
    temporary = assume_role(sts_server)
    env = {
        "AWS_ENDPOINT_URL": sts_server.endpoint_url,
        "S3_BUCKET": f"test-{secrets.token_hex(6)}",
        **temporary,
    }
    settings = load_settings(env)
    assert not settings.uses_local_s3
    lake = Lake.from_settings(settings)
    lake.ensure_bucket()
    assert lake.put_once("raw/json/symbol=AAPL/date=2026-11-24.json", b"{}", "application/json")
    assert lake.exists("raw/json/symbol=AAPL/date=2026-11-24.json")

    # The server verified the token: the same key pair without it is refused.
    without_token = {k: v for k, v in env.items() if k != "AWS_SESSION_TOKEN"}
    with pytest.raises(LakeError, match="Forbidden"):
        Lake.from_settings(load_settings(without_token)).exists("raw/json/x.json")


def test_fintrade_run_on_a_profile_of_temporary_credentials(
    sts_server, base_settings, tmp_path: Path
):
    """No key pair in the environment, only AWS_PROFILE and its file: the run uses the lake it
    names and starts no local S3 server."""
    temporary = assume_role(sts_server)
    credentials_file = tmp_path / "aws-credentials"
    credentials_file.write_text(
        f"[{PROFILE}]\n"
        f"aws_access_key_id = {temporary['AWS_ACCESS_KEY_ID']}\n"
        f"aws_secret_access_key = {temporary['AWS_SECRET_ACCESS_KEY']}\n"
        f"aws_session_token = {temporary['AWS_SESSION_TOKEN']}\n"
    )
    endpoint_only = S3Server(sts_server.endpoint_url, "", "")
    with scratch_warehouse(base_settings, endpoint_only, tmp_path / "state") as scratch:
        settings = scratch.with_overrides(
            aws_access_key_id=None,
            aws_secret_access_key=None,
            aws_profile=PROFILE,
            aws_shared_credentials_file=credentials_file,
        )
        result = run_fintrade(settings, "run", "--date", DAY.isoformat(), "--symbols", "AAPL,KO")

        assert result.returncode == 0, result.stderr[-2000:]
        assert query(
            settings, "select symbol, count(*) > 0 from raw.daily_prices group by 1 order by 1"
        ) == [("AAPL", True), ("KO", True)]
        lake = boto3.client(
            "s3",
            endpoint_url=sts_server.endpoint_url,
            aws_access_key_id=sts_server.access_key,
            aws_secret_access_key=sts_server.secret_key,
            region_name="us-east-1",
        )
        keys = {
            item["Key"]
            for item in lake.list_objects_v2(Bucket=settings.s3_bucket).get("Contents", [])
        }
        assert f"raw/parquet/symbol=AAPL/date={DAY.isoformat()}.parquet" in keys
        assert not (settings.local_state_dir / "seaweedfs").exists()  # no local server started
        output = result.stdout + result.stderr
        assert temporary["AWS_SESSION_TOKEN"] not in output
        assert temporary["AWS_SECRET_ACCESS_KEY"] not in output
