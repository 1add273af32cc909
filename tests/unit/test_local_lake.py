"""`FINTRADE_LAKE_MODE=local` points the lake at the project's SeaweedFS with its key pair only,
whatever AWS credentials the shell also holds (no server is started here: its state is written
as `fintrade services up` leaves it)."""

from __future__ import annotations

import json

from data_generator.localdev.seaweedfs import local_s3_settings
from data_generator.settings import load_settings


def test_local_mode_uses_the_local_server_and_drops_aws_profiles_and_tokens(tmp_path) -> None:
    (tmp_path / "seaweedfs").mkdir()
    (tmp_path / "seaweedfs" / "state.json").write_text(json.dumps({"pid": 1, "port": 8343}))
    settings = load_settings(
        {
            "FINTRADE_LAKE_MODE": "local",
            "FINTRADE_STATE_DIR": str(tmp_path),
            "AWS_PROFILE": "production",
            "AWS_SESSION_TOKEN": "token-for-aws",
            "AWS_SHARED_CREDENTIALS_FILE": "/etc/aws/credentials",
        }
    )

    local = local_s3_settings(settings)

    assert local.aws_endpoint_url == "http://127.0.0.1:8343"
    assert local.aws_access_key_id and local.aws_access_key_id.startswith("fintrade")
    assert local.aws_secret_access_key
    assert (local.aws_profile, local.aws_session_token, local.aws_shared_credentials_file) == (
        None,
        None,
        None,
    )
    assert local.uses_local_s3


def test_without_a_local_lake_the_settings_stay_as_given(tmp_path) -> None:
    settings = load_settings({"FINTRADE_STATE_DIR": str(tmp_path), "AWS_PROFILE": "production"})

    assert local_s3_settings(settings) is settings
