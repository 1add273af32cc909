"""A TCP proxy on 127.0.0.1 that can freeze an upload halfway: the hook for "killed mid write".

It relays bytes both ways between a client and a real server. Once a request whose first line
contains `pause_on` has sent `body_bytes` of its body, it stops relaying that connection and sets
`paused`, so a test can kill the client at exactly that point; `release()` then ends the
connection with the rest of the body unsent, as a dead client's connection ends.
"""

from __future__ import annotations

import socket
import threading
from contextlib import suppress

CHUNK = 64 * 1024


class PausingProxy:
    def __init__(self, upstream_port: int, pause_on: bytes, body_bytes: int = 64) -> None:
        self._upstream_port = upstream_port
        self._pause_on = pause_on
        self._body_bytes = body_bytes
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._released = threading.Event()
        self._stopping = threading.Event()
        self._armed = True
        self._lock = threading.Lock()
        self.paused = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def __enter__(self) -> PausingProxy:
        threading.Thread(target=self._accept, daemon=True, name="pausing-proxy").start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stopping.set()
        self._released.set()
        self._listener.close()

    def release(self) -> None:
        self._released.set()

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self._upstream_port))
            except OSError:
                client.close()
                continue
            threading.Thread(target=self._relay_down, args=(upstream, client), daemon=True).start()
            threading.Thread(target=self._relay_up, args=(client, upstream), daemon=True).start()

    def _claim_pause(self) -> bool:
        """Only the first matching request pauses."""
        with self._lock:
            armed, self._armed = self._armed, False
            return armed

    def _relay_up(self, client: socket.socket, upstream: socket.socket) -> None:
        """Client to server; a matching request is cut `body_bytes` into its body."""
        buffer = b""
        remaining: int | None = None  # bytes of body still allowed before the pause
        try:
            while True:
                data = client.recv(CHUNK)
                if not data:
                    break
                if remaining is None:
                    buffer += data
                    header_end = buffer.find(b"\r\n\r\n")
                    first_line = buffer.split(b"\r\n", 1)[0]
                    if header_end < 0 or self._pause_on not in first_line:
                        upstream.sendall(buffer)
                        buffer = b""
                        continue
                    if not self._claim_pause():
                        upstream.sendall(buffer)
                        buffer = b""
                        continue
                    head, data = buffer[: header_end + 4], buffer[header_end + 4 :]
                    upstream.sendall(head)
                    buffer = b""
                    remaining = self._body_bytes
                upstream.sendall(data[:remaining])
                remaining -= min(remaining, len(data))
                if remaining == 0:
                    # The rest of the body never reaches the server: the connection just ends.
                    self.paused.set()
                    self._released.wait()
                    break
        except OSError:
            pass
        finally:
            for sock in (client, upstream):
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    @staticmethod
    def _relay_down(upstream: socket.socket, client: socket.socket) -> None:
        try:
            while chunk := upstream.recv(CHUNK):
                client.sendall(chunk)
        except OSError:
            pass
        finally:
            with suppress(OSError):
                client.shutdown(socket.SHUT_RDWR)
