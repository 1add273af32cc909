"""Free ports on 127.0.0.1 for the servers tests and scripts start of their own.

Never one of the ports other work on this machine uses (PostgreSQL, Redis, Airflow's and
SeaweedFS's defaults), so a test server cannot take a shared service's port.
"""

from __future__ import annotations

import secrets
import socket

from data_generator.localdev import processes
from data_generator.localdev.processes import port_open

RESERVED_PORTS = frozenset({5432, 5433, 6379, 8080, 8333})


def bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port(reserved: frozenset[int] = RESERVED_PORTS) -> int:
    """A port the kernel has just handed out on 127.0.0.1, none of `reserved`."""
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port not in reserved:
            return port


# `weed mini` also opens its S3 gateway's gRPC port at the S3 port + 10000, which no flag moves:
# bases stay low enough that it is below the kernel's ephemeral ports (32768 on), where a client
# socket of any program may hold it.
WEED_S3_GRPC_OFFSET = 10000


def free_port_base(width: int = 10) -> int:
    """A base port in 20000-22700 with `width` free ports from it (weed mini opens several) and
    its S3 gRPC port (base + 10000) free too."""
    for _ in range(50):
        base = 20000 + secrets.randbelow(2700)
        ports = [*range(base, base + width), base + WEED_S3_GRPC_OFFSET]
        if not any(processes.port_open("127.0.0.1", p) for p in ports) and all(
            bindable(p) for p in ports
        ):
            return base
    raise RuntimeError(f"no {width} free ports in a row on 127.0.0.1")


def port_listening(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:`port` (a server outlived its stop)."""
    return port_open("127.0.0.1", port)


def closed_port() -> int:
    """A port nothing listens on: a client pointed at it is refused at once (a test's proof that
    a command never reached the server it names)."""
    return free_port_base(width=1)
