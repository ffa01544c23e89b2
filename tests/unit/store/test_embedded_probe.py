"""The supervisor's probes: `_ping` (ready) against `_responds` (alive at all)."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

from cpgraph.store.embedded import _ping, _responds


@contextlib.contextmanager
def _server(path: Path, reply: bytes | None) -> Iterator[str]:
    """A unix socket that answers each connection with `reply` (None: never answers)."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(4)
    held: list[socket.socket] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conn.recv(64)
            if reply is None:
                held.append(conn)  # read, never answer: a wedged server
            else:
                conn.sendall(reply)
                conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield str(path)
    finally:
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)  # wakes the accept()
        listener.close()
        thread.join(timeout=5)
        for conn in held:
            conn.close()


def test_a_loading_server_is_alive_but_not_ready(tmp_path: Path) -> None:
    with _server(tmp_path / "s.sock", b"-LOADING Redis is loading the dataset in memory\r\n") as s:
        assert _responds(s, timeout=1.0)
        assert not _ping(s, timeout=1.0)


def test_a_ready_server_is_both(tmp_path: Path) -> None:
    with _server(tmp_path / "s.sock", b"+PONG\r\n") as s:
        assert _responds(s, timeout=1.0) and _ping(s, timeout=1.0)


def test_a_silent_server_or_no_server_is_neither(tmp_path: Path) -> None:
    with _server(tmp_path / "s.sock", None) as s:
        assert not _responds(s, timeout=0.3)
        assert not _ping(s, timeout=0.3)
    assert not _responds(str(tmp_path / "none.sock"), timeout=0.3)
