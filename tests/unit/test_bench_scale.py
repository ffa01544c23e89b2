"""bench/scale.py reports a stage that fails or is killed, and edits only its own section.

The bench itself runs for minutes to hours (its figures go to bench/RESULTS.md); these
check the parts that must hold for a run to be trusted: a failed or OOM-killed command
is reported as such with the memory it reached (not a traceback), and writing the
results replaces only the script's section, keeping earlier runs of other sizes.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "scale.py"


@pytest.fixture(scope="module")
def scale() -> Iterator[ModuleType]:
    spec = importlib.util.spec_from_file_location("bench_scale", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses resolve annotations through it
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_a_killed_stage_is_reported_with_its_peak(scale: ModuleType, tmp_path: Path) -> None:
    # 200 MB held long enough to be sampled, then killed as the OOM killer would
    code = (
        "import os, signal, time; b = bytearray(200 * 2**20); b[::4096] = b'x' * len(b[::4096]);"
        " time.sleep(1); os.kill(os.getpid(), signal.SIGKILL)"
    )
    stage = scale.run_stage("link", _python(code), {}, tmp_path / "log", None)
    assert stage.status.startswith("killed (SIGKILL")
    assert stage.peak_mb >= 150
    assert stage.cpu_s >= 0 and stage.wall_s > 0


def test_a_failed_stage_is_reported_and_later_ones_skipped(
    scale: ModuleType, tmp_path: Path
) -> None:
    stage = scale.run_stage("load", _python("raise SystemExit(3)"), {}, tmp_path / "log", None)
    assert stage.status == "failed (exit 3)"
    assert (tmp_path / "log").read_text().startswith("\n$ ")


def test_a_stage_that_succeeds_counts_its_childrens_cpu(scale: ModuleType, tmp_path: Path) -> None:
    spin = "import time; t = time.process_time(); exec('while time.process_time() - t < 0.5: pass')"
    code = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {spin!r}], check=True)"
    stage = scale.run_stage("generate", _python(code), {}, tmp_path / "log", None)
    assert stage.status == "ok"
    assert stage.cpu_s >= 0.5  # the grandchild's CPU, reaped by the child


def _run(scale: ModuleType, size: int, wall: float) -> dict[str, Any]:
    stage = scale.Stage("load", wall_s=wall, cpu_s=1.0, peak_mb=100, store_peak_mb=50)
    stage.extra.update(mentions=size, mentions_per_s=round(size / wall), data_dir_mb=10.0)
    return {
        "code": "abc1234",
        "command": f".venv/bin/python bench/scale.py --mentions {size}",
        "target_mentions": size,
        "households": size // 12,
        "seed": 7,
        "started": "2026-12-06 09:00 UTC",
        "loadavg_start": [1.0, 1.0, 1.0],
        "loadavg_end": [1.0, 1.0, 1.0],
        "loaded_mentions": size,
        "machine": scale.machine(),
        "stages": {"load": scale.asdict(stage)},
    }


def test_results_replace_only_the_scripts_section(
    scale: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    results = tmp_path / "RESULTS.md"
    results.write_text("# Benchmark results\n\n## Other bench\n\nkept\n", encoding="utf-8")
    monkeypatch.setattr(scale, "RESULTS", results)
    scale.write_results([_run(scale, 100_000, 10.0)])
    scale.write_results([_run(scale, 1_000_000, 200.0)])
    scale.write_results([_run(scale, 100_000, 20.0)])  # a size run again replaces its row
    text = results.read_text(encoding="utf-8")
    assert text.startswith("# Benchmark results\n\n## Other bench\n\nkept\n")
    assert text.count(scale.BEGIN) == text.count(scale.END) == 1
    assert "| 1,000,000 | 5,000/s |" in text
    assert "| 100,000 | 5,000/s |" in text and "10,000/s" not in text
    assert "--mentions 1000000" in text and "--mentions 100000\n" in text
