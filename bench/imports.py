"""Cold start: import time of each function's handler module in a fresh interpreter.

Each figure is the median of N fresh ``python -c`` processes (runs of the four modules interleaved,
so drift affects all alike), timing only ``import <handler module>`` — the part of a Lambda init
phase our code controls — with the function's import roots first on ``sys.path`` (its code
directory, then the layer, as on Lambda), the template's environment variables set to dummies and
the variables Lambda itself sets (``LAMBDA_TASK_ROOT``, ``AWS_EXECUTION_ENV``, ...): the X-Ray SDK,
which Powertools' ``Tracer()`` imports even when tracing is disabled, builds two X-Ray API clients
at import outside Lambda (~100 ms) and none inside it. Byte-code caches are warm (one discarded
run first). ``POWERTOOLS_TRACE_DISABLED=true`` for the headline figures; ``import_ms_traced``
repeats the handlers with tracing on, as ``Tracing: Active`` runs them (Powertools then patches
botocore for X-Ray).

The baseline (``bench/baseline/baseline_handler.py``) imports Powertools' Logger and pydantic (one
``BaseModel`` subclass) and nothing else. ``profile()`` runs ``python -X importtime`` once per module
and sums the self time per top-level package: where an import's time goes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench.stats import median

REPO_ROOT = Path(__file__).resolve().parent.parent
LAYER = REPO_ROOT / "layers" / "common"
MODULES: dict[str, tuple[Path, str]] = {
    "ingest": (REPO_ROOT / "functions" / "ingest", "ingest_handler"),
    "admin": (REPO_ROOT / "functions" / "admin", "admin_handler"),
    "executor": (REPO_ROOT / "functions" / "executor", "executor_handler"),
    "baseline": (REPO_ROOT / "bench" / "baseline", "baseline_handler"),
}
DUMMY_ENV = {
    "COPIER_TABLE_NAME": "bench-copier",
    "PAPER_TABLE_NAME": "bench-paper",
    "RESOURCE_PREFIX": "bench",
    "EXECUTOR_FUNCTION_NAME": "bench-executor",
    "ALERTS_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:bench-alerts",
    "POWERTOOLS_SERVICE_NAME": "trade-copier",
    "POWERTOOLS_METRICS_NAMESPACE": "TradeCopier",
    "POWERTOOLS_LOGGER_LOG_EVENT": "false",
    "LOG_LEVEL": "INFO",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}
_PROGRAM = (
    "import sys, time\n"
    "sys.path[:0] = {paths!r}\n"
    "t0 = time.perf_counter()\n"
    "import {module}\n"
    "sys.stdout.write(repr((time.perf_counter() - t0) * 1000))\n"
)


def _env(name: str, traced: bool) -> dict[str, str]:
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "TMPDIR") if key in os.environ}
    env.update(DUMMY_ENV)
    env.update(
        {
            "AWS_LAMBDA_FUNCTION_NAME": f"bench-{name}",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
            "LAMBDA_TASK_ROOT": str(MODULES[name][0]),
            "_HANDLER": f"{MODULES[name][1]}.handler",
        }
    )
    if not traced:
        env["POWERTOOLS_TRACE_DISABLED"] = "true"
    return env


def _command(name: str, extra: tuple[str, ...] = ()) -> list[str]:
    code_dir, module = MODULES[name]
    paths = [str(code_dir)] if name == "baseline" else [str(code_dir), str(LAYER)]
    return [sys.executable, *extra, "-c", _PROGRAM.format(paths=paths, module=module)]


def import_once(name: str, traced: bool = False) -> float:
    """Milliseconds to import the module in a fresh interpreter."""
    done = subprocess.run(
        _command(name),
        env=_env(name, traced),
        cwd=str(REPO_ROOT),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"importing {name} failed: {done.stderr.strip()[-500:]}")
    return float(done.stdout)


def measure(repeats: int = 10, traced_repeats: int = 5) -> dict[str, Any]:
    names = list(MODULES)
    for name in names:  # warm the byte-code caches
        import_once(name)
    runs: dict[str, list[float]] = {name: [] for name in names}
    traced: dict[str, list[float]] = {name: [] for name in names if name != "baseline"}
    for index in range(repeats):
        for name in names:  # interleaved, so that drift and other load affect every module alike
            runs[name].append(import_once(name))
            if name in traced and index < traced_repeats:
                traced[name].append(import_once(name, traced=True))
    result: dict[str, Any] = {
        "import_ms": {name: round(median(values), 1) for name, values in runs.items()},
        "import_runs": {name: [round(v, 1) for v in values] for name, values in runs.items()},
        "repeats": repeats,
        "tracing": "POWERTOOLS_TRACE_DISABLED=true",
    }
    if traced_repeats:
        result["import_ms_traced"] = {name: round(median(values), 1) for name, values in traced.items()}
    return result


def profile(name: str, top: int = 8) -> dict[str, float]:
    """``python -X importtime``: self time (ms) summed per top-level package, largest first."""
    done = subprocess.run(
        _command(name, ("-X", "importtime")),
        env=_env(name, traced=False),
        cwd=str(REPO_ROOT),
        capture_output=True,
        text=True,
        check=False,
    )
    per_package: defaultdict[str, float] = defaultdict(float)
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        try:
            self_us, _cumulative, module = (part.strip() for part in line[len("import time:") :].split("|"))
            per_package[module.split(".")[0]] += int(self_us) / 1000
        except ValueError:
            continue
    largest = sorted(per_package.items(), key=lambda item: -item[1])[:top]
    return {package: round(ms, 1) for package, ms in largest}


if __name__ == "__main__":
    print(json.dumps(measure(repeats=3, traced_repeats=1), indent=2))
    for module in MODULES:
        print(module, profile(module))
