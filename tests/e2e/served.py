"""A real uvicorn process serving the API on a data dir, for end-to-end tests."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

SERVER = (
    "import uvicorn; from cpgraph.api import create_app; "
    "uvicorn.run(create_app(), host='127.0.0.1', port={port}, log_level='warning')"
)


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def served_api(
    data_dir: Path, *, timeout: float = 10, ready_within: float = 60
) -> AsyncIterator[tuple[httpx.AsyncClient, subprocess.Popen[bytes]]]:
    """Serve the API on `data_dir` in a child process until the block ends.

    Yields an HTTP client bound to the server and the process; on exit the
    server gets SIGTERM (a graceful shutdown closes its store) and is waited for,
    so `proc.returncode` is set when the block has ended.
    """
    port = free_port()
    env = {**os.environ, "CPGRAPH_DATA_DIR": str(data_dir), "CPGRAPH_ENV": "prod"}
    env.pop("CPGRAPH_FALKORDB_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER.format(port=port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=timeout) as http:
            deadline = time.monotonic() + ready_within
            while True:
                try:
                    if (await http.get("/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert proc.poll() is None, (
                    proc.stderr.read().decode()[-2000:] if proc.stderr else ""
                )
                assert time.monotonic() < deadline, "server did not become ready"
                await asyncio.sleep(0.2)
            yield http, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
