"""Settings for every part of FinTrade, declared once and read from the environment here only.

Each field names its environment variable, its type and its bounds; pydantic-settings reads the
process environment and a `.env` file at the project root (the process environment wins), so a
user can keep the API key out of their shell history. Nothing else in the package reads
`os.environ`: modules receive a `Settings` and stay testable, and tests pass `load_settings` a
plain mapping instead of the environment.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from enum import Enum, StrEnum
from pathlib import Path
from typing import Annotated, Any, Self
from urllib.parse import urlsplit

from pydantic import BeforeValidator, Field, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails, PydanticCustomError
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from data_generator.errors import FintradeError

PACKAGE_DIR = Path(__file__).resolve().parent
# Run from a checkout (or an editable install of one), the package sits beside sql/ and dbt/;
# an installed wheel carries both inside itself (pyproject's package-dir) and takes the folder
# it runs in as the project's, for `.env` and the state folder.
IN_CHECKOUT = (PACKAGE_DIR.parent / "sql" / "init.sql").is_file()
PROJECT_ROOT = PACKAGE_DIR.parent if IN_CHECKOUT else Path.cwd()
DOTENV_FILE = PROJECT_ROOT / ".env"
INIT_SQL = (PROJECT_ROOT / "sql" if IN_CHECKOUT else PACKAGE_DIR / "sql") / "init.sql"
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt" / "fintrade" if IN_CHECKOUT else PACKAGE_DIR / "dbt_project"
LOCAL_STATE_DIR = PROJECT_ROOT / ".local"
UNIVERSE_FILE = PACKAGE_DIR / "reference" / "stocks.csv"


class PriceSourceKind(StrEnum):
    ALPHA_VANTAGE = "alphavantage"
    SYNTHETIC = "synthetic"


class OutputSize(StrEnum):
    """Alpha Vantage's `outputsize`: the last 100 bars, or the whole history (premium); `auto`
    picks one per symbol from its stored history (data_generator/sources/history.py)."""

    AUTO = "auto"
    COMPACT = "compact"
    FULL = "full"


class PostgresServer(StrEnum):
    """Which binaries a local cluster runs on: the machine's, the wheel's, or the first found."""

    AUTO = "auto"
    SYSTEM = "system"
    EMBEDDED = "embedded"


class LakeMode(StrEnum):
    """Where the lake lives: the project's own SeaweedFS (`local`), an S3 the user names or AWS
    itself (`s3`), or `auto`: local only when no endpoint, key pair, profile or role is set."""

    AUTO = "auto"
    LOCAL = "local"
    S3 = "s3"


class Engine(StrEnum):
    """Which engine dbt builds the warehouse on: PostgreSQL (the warehouse the loaders fill), or
    DuckDB, embedded, reading raw from the lake (docs/engines.md)."""

    POSTGRES = "postgres"
    DUCKDB = "duckdb"


class ConfigError(FintradeError, ValueError):
    """A setting has a value the project cannot use; the message names the variable."""


def _whole_number_text(value: object) -> object:
    # Python's own reading of a whole number: pydantic alone would take '1.0' for 1.
    if not isinstance(value, str):
        return value
    try:
        return int(value)
    except ValueError:
        raise PydanticCustomError("int_parsing", "not a whole number") from None


def _iso_date_text(value: object) -> object:
    # A calendar day as YYYY-MM-DD only: pydantic alone would take '86400' for a Unix time.
    if not isinstance(value, str):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise PydanticCustomError("date_parsing", "not a date") from None


# A count or a port: a whole number from 1 up. A duration: a finite number from 0 up.
WholeNumber = Annotated[int, BeforeValidator(_whole_number_text), Field(ge=1)]
IsoDate = Annotated[date, BeforeValidator(_iso_date_text)]
Seconds = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Secret = Annotated[str | None, Field(repr=False)]


class Settings(BaseSettings):
    """Everything configurable, with the defaults documented in `.env.example`.

    `Settings(...)` holds exactly what it is given (field names, defaults for the rest);
    `load_settings()` is the one place that reads the environment.
    """

    model_config = SettingsConfigDict(
        frozen=True,
        case_sensitive=True,
        extra="ignore",
        validate_by_name=True,
        validate_by_alias=True,
        env_parse_enums=False,
    )

    alpha_vantage_api_key: Secret = Field(None, alias="ALPHA_VANTAGE_API_KEY")
    alpha_vantage_base_url: str = Field(
        "https://www.alphavantage.co/query", alias="ALPHA_VANTAGE_BASE_URL"
    )
    alpha_vantage_outputsize: OutputSize = Field(OutputSize.AUTO, alias="ALPHA_VANTAGE_OUTPUTSIZE")
    alpha_vantage_max_attempts: WholeNumber = Field(5, alias="ALPHA_VANTAGE_MAX_ATTEMPTS")
    alpha_vantage_backoff_seconds: Seconds = Field(2.0, alias="ALPHA_VANTAGE_BACKOFF_SECONDS")
    alpha_vantage_calls_per_minute: WholeNumber = Field(5, alias="ALPHA_VANTAGE_CALLS_PER_MINUTE")
    alpha_vantage_timeout_seconds: Seconds = Field(30.0, alias="ALPHA_VANTAGE_TIMEOUT_SECONDS")
    alpha_vantage_daily_budget: WholeNumber = Field(25, alias="ALPHA_VANTAGE_DAILY_BUDGET")
    # Without FINTRADE_PRICE_SOURCE, an API key alone selects Alpha Vantage (see load_settings).
    price_source: PriceSourceKind = Field(PriceSourceKind.SYNTHETIC, alias="FINTRADE_PRICE_SOURCE")
    symbols: Annotated[tuple[str, ...] | None, NoDecode] = Field(None, alias="FINTRADE_SYMBOLS")
    # Symbols per Airflow price task; raised for a large universe (steps/batches.py).
    symbols_per_task: WholeNumber = Field(1, alias="FINTRADE_SYMBOLS_PER_TASK")
    # At most this many price tasks, whatever the universe (capped at 256; steps/batches.py).
    max_price_tasks: WholeNumber = Field(32, alias="FINTRADE_MAX_PRICE_TASKS")
    seed: WholeNumber = Field(42, alias="FINTRADE_SEED")
    history_days: WholeNumber = Field(365, alias="FINTRADE_HISTORY_DAYS")
    # First day of the synthetic source's price paths: a scale run of more years starts earlier.
    # Paths are drawn from this day on, so a different start gives different (still seeded) bars.
    synthetic_start: IsoDate = Field(date(2012, 1, 3), alias="FINTRADE_SYNTHETIC_START")
    universe_file: Path = Field(UNIVERSE_FILE, alias="FINTRADE_UNIVERSE_FILE")

    pg_host: str = Field("127.0.0.1", alias="PGHOST")
    pg_port: WholeNumber = Field(5432, alias="PGPORT")
    pg_user: str = Field("postgres", alias="PGUSER")
    pg_password: Secret = Field(None, alias="PGPASSWORD")
    pg_database: str = Field("fintrade", alias="PGDATABASE")
    postgres_server: PostgresServer = Field(PostgresServer.AUTO, alias="FINTRADE_POSTGRES_SERVER")
    # Passwords of the warehouse roles (storage/roles.py); None: generated once into the
    # state folder. PGUSER above is the superuser that creates the database and the roles.
    loader_password: Secret = Field(None, alias="FINTRADE_LOADER_PASSWORD")
    transformer_password: Secret = Field(None, alias="FINTRADE_TRANSFORMER_PASSWORD")
    analyst_password: Secret = Field(None, alias="FINTRADE_ANALYST_PASSWORD")

    s3_bucket: str = Field("fintrade-raw", alias="S3_BUCKET")
    lake_mode: LakeMode = Field(LakeMode.AUTO, alias="FINTRADE_LAKE_MODE")
    aws_endpoint_url: str | None = Field(None, alias="AWS_ENDPOINT_URL")
    aws_access_key_id: Secret = Field(None, alias="AWS_ACCESS_KEY_ID")
    aws_secret_access_key: Secret = Field(None, alias="AWS_SECRET_ACCESS_KEY")
    # Temporary credentials (STS, SSO) come as a key pair with this token.
    aws_session_token: Secret = Field(None, alias="AWS_SESSION_TOKEN")
    # A named profile, in the shared credentials file (default ~/.aws/credentials) or ~/.aws/config.
    aws_profile: str | None = Field(None, alias="AWS_PROFILE")
    aws_shared_credentials_file: Path | None = Field(None, alias="AWS_SHARED_CREDENTIALS_FILE")
    # A role boto3 assumes itself: web identity (EKS) or a container's task role (ECS). An EC2
    # instance role leaves no trace in the environment: FINTRADE_LAKE_MODE=s3 says so.
    aws_role_arn: str | None = Field(None, alias="AWS_ROLE_ARN")
    aws_container_credentials_uri: str | None = Field(
        None, alias="AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"
    )
    aws_region: str = Field("us-east-1", alias="AWS_DEFAULT_REGION")

    local_state_dir: Path = Field(LOCAL_STATE_DIR, alias="FINTRADE_STATE_DIR")

    # The second engine (docs/engines.md): `fintrade build --engine duckdb` and the dashboard
    # default to FINTRADE_ENGINE; the DuckDB database is one file (default under the state dir).
    engine: Engine = Field(Engine.POSTGRES, alias="FINTRADE_ENGINE")
    duckdb_path: Path | None = Field(None, alias="FINTRADE_DUCKDB_PATH")
    # The key pair the DuckDB build reads the lake with (it only reads: a read-only key will
    # do). Unset: the lake's own pair above, with its session token.
    duckdb_s3_access_key_id: Secret = Field(None, alias="FINTRADE_DUCKDB_S3_ACCESS_KEY_ID")
    duckdb_s3_secret_access_key: Secret = Field(None, alias="FINTRADE_DUCKDB_S3_SECRET_ACCESS_KEY")

    # The Celery broker of `make airflow EXECUTOR=celery` (localdev/redis_server.py): used when
    # it answers, else a project-local redis-server is started.
    redis_url: str = Field("redis://127.0.0.1:6379/0", alias="FINTRADE_REDIS_URL", repr=False)

    # The dashboard reads the same warehouse, as its own (read-only) login when one is set.
    dashboard_host: str = Field("127.0.0.1", alias="DASHBOARD_HOST")
    dashboard_port: WholeNumber = Field(8050, alias="DASHBOARD_PORT")
    dashboard_pg_user: str | None = Field(None, alias="DASHBOARD_PGUSER")
    dashboard_pg_password: Secret = Field(None, alias="DASHBOARD_PGPASSWORD")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Only what the caller passes: the environment is read by `load_settings`, so
        # `Settings()` means the defaults whatever the shell or `.env` holds.
        return (init_settings,)

    @model_validator(mode="before")
    @classmethod
    def _blank_means_default(cls, values: Any) -> Any:
        # Surrounding spaces never count, and a variable set to nothing is as good as unset.
        if not isinstance(values, Mapping):
            return values
        stripped = {k: v.strip() if isinstance(v, str) else v for k, v in values.items()}
        return {k: v for k, v in stripped.items() if v != ""}

    @field_validator(
        "alpha_vantage_outputsize",
        "price_source",
        "postgres_server",
        "lake_mode",
        "engine",
        mode="before",
    )
    @classmethod
    def _choice_in_any_case(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @field_validator("symbols", mode="before")
    @classmethod
    def _symbol_list(cls, value: Any) -> Any:
        return parse_symbols(value) if isinstance(value, str) else value

    @field_validator("redis_url")
    @classmethod
    def _redis_url_with_a_database(cls, value: str) -> str:
        # The messages name the scheme and the database only, never the URL's password.
        if not value.startswith(("redis://", "rediss://")):
            scheme = value.split(":")[0]
            raise ValueError(
                f"FINTRADE_REDIS_URL must be a redis:// or rediss:// URL, got {scheme!r}"
            )
        database = urlsplit(value).path.strip("/")
        if database and not database.isdigit():
            raise ValueError(f"FINTRADE_REDIS_URL must end in a database number, got {database!r}")
        return value

    @model_validator(mode="after")
    def _alpha_vantage_has_a_key(self) -> Self:
        if self.price_source is PriceSourceKind.ALPHA_VANTAGE and not self.alpha_vantage_api_key:
            raise ValueError("FINTRADE_PRICE_SOURCE=alphavantage needs ALPHA_VANTAGE_API_KEY")
        return self

    @property
    def duckdb_file(self) -> Path:
        """The DuckDB database dbt builds with `--target duckdb` and the dashboard reads."""
        return self.duckdb_path or self.local_state_dir / "fintrade.duckdb"

    @property
    def duckdb_extension_dir(self) -> Path:
        """Where the DuckDB build keeps httpfs, installed from its wheel (never downloaded)."""
        return self.local_state_dir / "duckdb" / "extensions"

    def duckdb_lake_environ(self) -> dict[str, str]:
        """The variables dbt's `duckdb` target reads the lake with (dbt/fintrade/profiles.yml):
        the bucket, the endpoint as DuckDB's S3 secret wants it (host and port, TLS apart, path
        style for any endpoint but AWS's own) and the key pair under DBT_ENV_SECRET_ names, which
        dbt scrubs from its logs and keeps out of its target files."""
        endpoint = urlsplit(self.aws_endpoint_url) if self.aws_endpoint_url else None
        own_pair = self.duckdb_s3_access_key_id is not None
        return {
            "FINTRADE_DUCKDB_LAKE": f"s3://{self.s3_bucket}",
            "FINTRADE_DUCKDB_S3_REGION": self.aws_region,
            "FINTRADE_DUCKDB_S3_ENDPOINT": endpoint.netloc if endpoint else "s3.amazonaws.com",
            "FINTRADE_DUCKDB_S3_URL_STYLE": "path" if endpoint else "vhost",
            "FINTRADE_DUCKDB_S3_USE_SSL": "false"
            if endpoint and endpoint.scheme == "http"
            else "true",
            "DBT_ENV_SECRET_FINTRADE_LAKE_KEY_ID": (
                self.duckdb_s3_access_key_id if own_pair else self.aws_access_key_id
            )
            or "",
            "DBT_ENV_SECRET_FINTRADE_LAKE_SECRET": (
                self.duckdb_s3_secret_access_key if own_pair else self.aws_secret_access_key
            )
            or "",
            "DBT_ENV_SECRET_FINTRADE_LAKE_SESSION_TOKEN": (
                "" if own_pair else self.aws_session_token or ""
            ),
        }

    @property
    def uses_local_s3(self) -> bool:
        """True when the lake is the project's own SeaweedFS: chosen (`local`), or under `auto`
        nothing names a real S3, neither an endpoint nor credentials of any kind."""
        if self.lake_mode is not LakeMode.AUTO:
            return self.lake_mode is LakeMode.LOCAL
        configured = (
            self.aws_endpoint_url,
            self.aws_access_key_id,
            self.aws_profile,
            self.aws_shared_credentials_file,
            self.aws_role_arn,
            self.aws_container_credentials_uri,
        )
        return all(value is None for value in configured)

    def with_overrides(self, **changes: object) -> Settings:
        """A copy with `changes` by field name, taken as given (tests inject bad values)."""
        return self.model_copy(update=changes)

    def pg_environ(self) -> dict[str, str]:
        """libpq's variables for child processes (psql, dbt) that must reach the same warehouse."""
        env = {
            "PGHOST": self.pg_host,
            "PGPORT": str(self.pg_port),
            "PGUSER": self.pg_user,
            "PGDATABASE": self.pg_database,
        }
        if self.pg_password:
            env["PGPASSWORD"] = self.pg_password
        return env

    def aws_environ(self) -> dict[str, str]:
        """The S3 variables for child processes (Airflow tasks) that build their own clients."""
        env = {
            "S3_BUCKET": self.s3_bucket,
            "AWS_DEFAULT_REGION": self.aws_region,
            "FINTRADE_LAKE_MODE": self.lake_mode.value,
        }
        optional = {
            "AWS_ENDPOINT_URL": self.aws_endpoint_url,
            "AWS_ACCESS_KEY_ID": self.aws_access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.aws_secret_access_key,
            "AWS_SESSION_TOKEN": self.aws_session_token,
            "AWS_PROFILE": self.aws_profile,
            "AWS_SHARED_CREDENTIALS_FILE": self.aws_shared_credentials_file,
            "AWS_ROLE_ARN": self.aws_role_arn,
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": self.aws_container_credentials_uri,
        }
        env.update({name: str(value) for name, value in optional.items() if value})
        return env


def parse_symbols(raw: str | None) -> tuple[str, ...] | None:
    """Turn 'aapl, MSFT' into ('AAPL', 'MSFT'); empty means 'the whole universe'."""
    if raw is None or not raw.strip():
        return None
    symbols = tuple(dict.fromkeys(s.strip().upper() for s in raw.split(",") if s.strip()))
    return symbols or None


class _MappingSource(EnvSettingsSource):
    """pydantic-settings' environment reader over a given mapping instead of `os.environ`."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = dict(environ)
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return self._environ


def _environment(env: Mapping[str, str] | None) -> dict[str, Any]:
    if env is not None:
        return _MappingSource(Settings, env)()
    # The process environment laid over `.env`, so an exported variable beats the file.
    return {
        **DotEnvSettingsSource(Settings, env_file=DOTENV_FILE)(),
        **EnvSettingsSource(Settings)(),
    }


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build `Settings` from `env` (default: the process environment over `.env`)."""
    values = _environment(env)
    if _given(values, "ALPHA_VANTAGE_API_KEY") and not _given(values, "FINTRADE_PRICE_SOURCE"):
        values["FINTRADE_PRICE_SOURCE"] = PriceSourceKind.ALPHA_VANTAGE
    try:
        return Settings(**values)
    except ValidationError as error:
        raise ConfigError(_one_line(error.errors()[0])) from None


def _given(values: Mapping[str, Any], name: str) -> bool:
    value = values.get(name)
    return isinstance(value, str) and value.strip() != ""


def _one_line(error: ErrorDetails) -> str:
    """The first problem pydantic found, in the project's words, naming the variable."""
    name = str(error["loc"][0]) if error["loc"] else ""
    raw = error["input"]
    kind = error["type"]
    if kind in {"int_parsing", "int_from_float"}:
        return f"{name} must be a whole number, got {raw!r}"
    if kind == "date_parsing":
        return f"{name} must be a date (YYYY-MM-DD), got {raw!r}"
    if kind == "float_parsing":
        return f"{name} must be a number, got {raw!r}"
    if kind == "finite_number":
        return f"{name} must be a finite number, got {raw!r}"
    if kind == "greater_than_equal":
        bound = error.get("ctx", {}).get("ge")
        if bound == 0:
            return f"{name} must not be negative, got {float(raw)}"
        return f"{name} must be at least {bound}, got {int(raw)}"
    if kind == "enum":
        return f"{name} must be one of {', '.join(_choices(name))}, got {raw!r}"
    if kind == "value_error":
        return str(error.get("ctx", {}).get("error", error["msg"]))
    return f"{name}: {error['msg']}"


def _choices(name: str) -> list[str]:
    for field in Settings.model_fields.values():
        kind = field.annotation
        if field.alias == name and isinstance(kind, type) and issubclass(kind, Enum):
            return [str(member.value) for member in kind]
    return []
