"""``python -m bench --only``: which parts run, and that a partial run keeps the other figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.__main__ import PARTS, _parse, _previous


def test_only_skips_every_other_part() -> None:
    args = _parse(["--only", "imports,cost"])
    assert args.skip == set(PARTS) - {"imports", "cost"}


def test_an_unknown_part_is_refused() -> None:
    with pytest.raises(SystemExit):
        _parse(["--only", "imprts"])


def test_a_partial_run_starts_from_the_last_results_without_their_errors(tmp_path: Path) -> None:
    (tmp_path / "results.json").write_text(json.dumps({"e2e_ms": {"n1": {}}, "errors": {"e2e": "x"}}))
    assert _previous(_parse(["--only", "cost", "--out-dir", str(tmp_path)])) == {"e2e_ms": {"n1": {}}}
    assert _previous(_parse(["--out-dir", str(tmp_path)])) == {}  # a full run starts afresh
