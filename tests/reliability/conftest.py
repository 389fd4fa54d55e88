"""Fixtures for the reliability suite (RELIABILITY.md): the integration ``pipeline`` harness, and
``figures``, the counters each test reports (inputs tried, faults injected, orders checked,
duplicates and lost copies found).

The figures are printed at the end of the run and, when ``RELIABILITY_FIGURES`` names a file
(``make reliability`` sets it), written there as JSON: RELIABILITY.md quotes them.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# The integration harness, re-exported (a non-root conftest cannot use ``pytest_plugins``).
from tests.integration.conftest import moto_endpoint as moto_endpoint
from tests.integration.conftest import pipeline as pipeline
from tests.integration.conftest import pipeline_env as pipeline_env

_FIGURES: dict[str, Counter[str]] = {}


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Iterator[Counter[str]]:
    """Counters of this test, keyed ``path::name`` in the report."""
    counters: Counter[str] = Counter()
    yield counters
    _FIGURES.setdefault(request.node.nodeid, Counter()).update(counters)  # update keeps zeros


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _FIGURES:
        return
    terminalreporter.section("reliability figures")
    for name, counters in sorted(_FIGURES.items()):
        shown = ", ".join(f"{key}={value}" for key, value in sorted(counters.items()))
        terminalreporter.write_line(f"{name}: {shown}")
    target = os.environ.get("RELIABILITY_FIGURES")
    if target:
        path = Path(target)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({k: dict(v) for k, v in sorted(_FIGURES.items())}, indent=2) + "\n")
        terminalreporter.write_line(f"figures written to {path}")
