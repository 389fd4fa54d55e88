"""The local runtime's init budget is Lambda's: an init longer than the 10 s init phase is run again
inside the first invoke with the function's timeout ("suppressed init"), so only an import slower
than both fails the invoke. A loaded machine's slow cold import used to answer the first event 500."""

from __future__ import annotations

from pathlib import Path

import pytest

from devstack import runtime
from devstack.runtime import ProcessEnvironment
from devstack.template import FunctionSpec

SLOW_IMPORT = (
    "import time\ntime.sleep({seconds})\n\n\ndef handler(event, context):\n    return {{'ok': True}}\n"
)


def _environment(tmp_path: Path, import_seconds: float, timeout: int) -> ProcessEnvironment:
    (tmp_path / "slow.py").write_text(SLOW_IMPORT.format(seconds=import_seconds))
    spec = FunctionSpec(
        "SlowFunction", name="slow", handler="slow.handler", code_dir=tmp_path, timeout=timeout
    )
    return ProcessEnvironment(spec, {"PATH": "/usr/bin:/bin"}, None)


def test_an_init_past_the_init_phase_but_within_the_function_timeout_serves_the_invoke(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runtime, "INIT_PHASE_CAP_S", 0.5)  # stands for Lambda's 10 s
    environment = _environment(tmp_path, import_seconds=1.5, timeout=3)
    try:
        result = environment.invoke({}, "r-1")
        assert result.error is None and result.payload == {"ok": True}, result
    finally:
        environment.stop()


def test_an_init_past_both_budgets_fails_the_invoke_as_an_init_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runtime, "INIT_PHASE_CAP_S", 0.2)
    environment = _environment(tmp_path, import_seconds=5, timeout=1)
    try:
        result = environment.invoke({}, "r-1")
        assert result.error is not None and result.error["errorType"] == "Runtime.InitTimeout", result
    finally:
        environment.stop()
