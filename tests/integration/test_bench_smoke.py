"""`python -m bench` runs at a tiny size and writes every figure the issue asks for.

A benchmark is not a timed test: nothing here compares a duration with a limit, so a slow machine
cannot fail it. It checks that each part ran and produced numbers under the documented keys.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
QUANTILES = ("p50", "p95", "p99")


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@pytest.mark.slow
@pytest.mark.e2e
def test_bench_runs_at_a_tiny_size(tmp_path: Path) -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), *filter(None, [env.get("PYTHONPATH")])])
    command = [sys.executable, "-m", "bench", "--quick", "--events", "5", "--followers", "1,2"]
    done = subprocess.run(
        [*command, "--out-dir", str(tmp_path)],
        cwd=str(REPO_ROOT),
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,  # a hang detector only, not a performance limit
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]

    results = json.loads((tmp_path / "results.json").read_text())
    assert "errors" not in results, results["errors"]
    for family in ("e2e_ms", "floor_ms"):
        for n in ("n1", "n2"):
            for q in QUANTILES:
                assert _number(results[family][n][q]), (family, n, q, results[family][n])
    for key in (
        "ingest_cpu_ms",
        "executor_cpu_ms_per_copy",
        "dynamodb_writes_per_copy",
        "paper_broker_dynamodb_writes_per_copy",
        "usd_per_million_trades_n10",
    ):
        assert _number(results[key]), (key, results.get(key))
    home = results["home_start_s"]  # --quick: 2 groups x 2 followers restored, one start
    assert home["restored"] == {"groups": 2, "followers": 4, "redriven": 0}, home
    assert all(_number(home[key]["p50"]) for key in ("ready_s", "restore_step_s", "empty_folder_ready_s"))
    for key in ("aws_calls_per_event", "aws_calls_per_copy"):
        calls = results[key]
        assert calls and all("." in name and _number(count) for name, count in calls.items()), calls
    path = results["critical_path"]  # leader POST -> broker call: ingest's calls + the executor's
    assert _number(path["sequential_calls"]) and _number(path["copier_writes_after_broker_per_copy"]), path
    assert len(results["goals"]) == 13, results["goals"]  # issue 19's table, every row
    for name in ("ingest", "admin", "executor", "baseline"):
        assert _number(results["import_ms"][name]), results["import_ms"]
    for label in ("no_rules", "every_rule"):  # a copy's cost with and without risk rules
        risk = results["risk_overhead"][label]
        assert _number(risk["executor_cpu_ms_per_copy"]) and _number(risk["dynamodb_writes_per_copy"]), risk

    assert "| followers |" in (tmp_path / "results.md").read_text()
    assert (tmp_path / "latency.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
