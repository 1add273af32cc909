"""Settings from an environment mapping: defaults, parsing, one-line errors naming the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from data_generator.settings import ConfigError, Settings, load_settings, parse_symbols


def test_an_empty_environment_gives_the_documented_defaults() -> None:
    settings = load_settings({})

    assert settings.price_source == "synthetic"
    assert settings.pg_host == "127.0.0.1"
    assert settings.pg_port == 5432
    assert settings.pg_database == "fintrade"
    assert settings.s3_bucket == "fintrade-raw"
    assert settings.uses_local_s3
    assert settings.symbols is None
    assert settings == Settings()


def test_a_key_switches_the_source_to_alpha_vantage_unless_overridden() -> None:
    assert load_settings({"ALPHA_VANTAGE_API_KEY": "k"}).price_source == "alphavantage"
    assert (
        load_settings(
            {"ALPHA_VANTAGE_API_KEY": "k", "FINTRADE_PRICE_SOURCE": "Synthetic"}
        ).price_source
        == "synthetic"
    )


def test_values_are_parsed_and_blank_means_default() -> None:
    settings = load_settings(
        {
            "PGPORT": " 6543 ",
            "ALPHA_VANTAGE_BACKOFF_SECONDS": "0.5",
            "FINTRADE_SYMBOLS": "aapl, msft,,AAPL",
            "FINTRADE_SEED": "",
            "FINTRADE_STATE_DIR": "/tmp/state",
            "AWS_ENDPOINT_URL": "http://127.0.0.1:9000",
        }
    )

    assert settings.pg_port == 6543
    assert settings.alpha_vantage_backoff_seconds == 0.5
    assert settings.symbols == ("AAPL", "MSFT")
    assert settings.seed == 42
    assert settings.local_state_dir == Path("/tmp/state")
    assert not settings.uses_local_s3


@pytest.mark.parametrize(
    ("env", "local"),
    [
        ({}, True),
        (
            {
                "FINTRADE_LAKE_MODE": "local",
                "AWS_ACCESS_KEY_ID": "AKIA",
                "AWS_SECRET_ACCESS_KEY": "s",
            },
            True,
        ),
        ({"FINTRADE_LAKE_MODE": "S3"}, False),  # an EC2 instance role: nothing in the environment
        ({"AWS_ENDPOINT_URL": "http://127.0.0.1:9000"}, False),
        ({"AWS_ACCESS_KEY_ID": "AKIA", "AWS_SECRET_ACCESS_KEY": "s"}, False),
        ({"AWS_PROFILE": "prod"}, False),
        ({"AWS_SHARED_CREDENTIALS_FILE": "/etc/fintrade/aws"}, False),
        ({"AWS_ROLE_ARN": "arn:aws:iam::1:role/lake"}, False),  # web identity (EKS)
        ({"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/x"}, False),  # ECS task role
        ({"AWS_DEFAULT_REGION": "eu-west-1", "S3_BUCKET": "lake"}, True),
    ],
)
def test_the_lake_is_local_only_when_chosen_or_nothing_names_a_real_s3(env, local) -> None:
    assert load_settings(env).uses_local_s3 is local


def test_child_processes_get_the_lake_mode_and_every_credential_setting() -> None:
    env = {
        "FINTRADE_LAKE_MODE": "s3",
        "AWS_ACCESS_KEY_ID": "ASIA1",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_SESSION_TOKEN": "token",
        "AWS_PROFILE": "prod",
    }
    assert load_settings(env).aws_environ() == {
        **env,
        "S3_BUCKET": "fintrade-raw",
        "AWS_DEFAULT_REGION": "us-east-1",
    }


def test_an_unknown_lake_mode_names_the_choices() -> None:
    with pytest.raises(ConfigError, match="FINTRADE_LAKE_MODE must be one of auto, local, s3"):
        load_settings({"FINTRADE_LAKE_MODE": "minio"})


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PGPORT": "abc"}, "PGPORT must be a whole number, got 'abc'"),
        ({"FINTRADE_SEED": "0"}, "FINTRADE_SEED must be at least 1, got 0"),
        ({"ALPHA_VANTAGE_BACKOFF_SECONDS": "-1"}, "ALPHA_VANTAGE_BACKOFF_SECONDS must not be"),
        ({"ALPHA_VANTAGE_OUTPUTSIZE": "huge"}, "ALPHA_VANTAGE_OUTPUTSIZE must be one of"),
        ({"FINTRADE_PRICE_SOURCE": "alphavantage"}, "needs ALPHA_VANTAGE_API_KEY"),
    ],
)
def test_a_bad_value_fails_with_one_line_naming_the_variable(
    env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(env)

    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_the_secrets_stay_out_of_the_settings_repr() -> None:
    settings = load_settings(
        {
            "ALPHA_VANTAGE_API_KEY": "av-secret",
            "PGPASSWORD": "pg-secret",
            "AWS_SECRET_ACCESS_KEY": "s3-secret",
        }
    )

    assert not {"av-secret", "pg-secret", "s3-secret"} & set(repr(settings).split("'"))


def test_parse_symbols_empty_means_the_whole_universe() -> None:
    assert parse_symbols(None) is None
    assert parse_symbols(" , ") is None


def test_the_celery_broker_is_a_redis_url_with_a_database_number() -> None:
    assert Settings().redis_url == "redis://127.0.0.1:6379/0"
    url = "redis://:s3cret@10.0.0.5:6380/3"
    assert load_settings({"FINTRADE_REDIS_URL": url}).redis_url == url
    assert "s3cret" not in repr(load_settings({"FINTRADE_REDIS_URL": url}))


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            "amqp://guest:pw@host//",
            "FINTRADE_REDIS_URL must be a redis:// or rediss:// URL, got 'amqp'",
        ),
        ("redis://127.0.0.1:6379/celery", "FINTRADE_REDIS_URL must end in a database number"),
    ],
)
def test_a_broker_url_the_project_cannot_use_is_refused_without_its_password(
    raw: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as refused:
        load_settings({"FINTRADE_REDIS_URL": raw})
    assert "pw" not in str(refused.value)
