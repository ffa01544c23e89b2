"""`./run` keeps the project environment: calling it again never rebuilds `.venv`.

uv rebuilds `.venv` when it is asked for a different interpreter than the one the
environment was made from. A pyenv shim is such a "different" interpreter every
time (it is a script, not Python), so `./run` must hand uv the real interpreter.
These tests run inside `./run test`, while this very test process runs from
`.venv`: a rebuild would pull the environment away under the suite, so they also
show that a second `./run` during a test run is harmless.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv"


def _identity() -> tuple[int, int]:
    """Inodes of `.venv` and of its interpreter link: both change on a rebuild."""
    return os.stat(VENV).st_ino, os.lstat(VENV / "bin" / "python").st_ino


def _run(*args: str, path: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "CPGRAPH_SYNC_GROUPS"}
    env["PATH"] = path
    return subprocess.run(
        [str(ROOT / "run"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _launcher_dir(tmp_path: Path) -> Path:
    """A folder of pyenv-like launchers: scripts that exec the real interpreter."""
    real = os.path.realpath(getattr(sys, "_base_executable", "") or sys.executable)
    shims = tmp_path / "shims"
    shims.mkdir()
    for name in ("python3.12", "python3.13", "python3.14", "python3", "python"):
        shim = shims / name
        shim.write_text(f'#!/bin/sh\nexec "{real}" "$@"\n', encoding="utf-8")
        shim.chmod(0o755)
    return shims


@pytest.fixture
def project_env() -> None:
    """Skip unless this suite runs from the `.venv` that `./run` manages."""
    if not (VENV / "bin" / "python").exists() or not (ROOT / ".tools" / "bin" / "uv").exists():
        pytest.skip("needs the .venv and .tools/bin/uv that ./run sets up")
    if Path(sys.prefix).resolve() != VENV.resolve():
        pytest.skip("the suite is not running from the project's .venv")


@pytest.mark.parametrize("launcher", [False, True], ids=["path-as-is", "pyenv-like-launcher"])
def test_repeated_run_keeps_the_environment(
    project_env: None, tmp_path: Path, launcher: bool
) -> None:
    path = os.environ.get("PATH", "")
    if launcher:
        path = f"{_launcher_dir(tmp_path)}{os.pathsep}{path}"
    before = _identity()
    for _ in range(2):
        # `db --help` goes through the set-up (`./run --help` does not).
        done = _run("db", "--help", path=path)
        assert done.returncode == 0, done.stderr
        assert "Usage" in done.stdout
        assert _identity() == before, "./run rebuilt .venv"
    # The interpreter running this suite is still there and still works.
    check = subprocess.run(
        [sys.executable, "-c", "import cpgraph"], capture_output=True, timeout=60, check=False
    )
    assert check.returncode == 0, check.stderr
