"""bench part ``listener``: a part of its own, out of ``--quick`` unless named, and its table."""

from __future__ import annotations

from typing import Any

import pytest

from bench import listener
from bench.__main__ import _parse, _run_listener


def _row(listener_p50: float, webhook_p50: float) -> dict[str, Any]:
    return {
        "listener": {"p50": listener_p50, "p95": listener_p50 + 10, "p99": listener_p50 + 20},
        "webhook": {"p50": webhook_p50, "p95": webhook_p50 + 5, "p99": webhook_p50 + 6},
        "events": {"listener": 100, "webhook": 99},
        "missed": {"listener": 0, "webhook": 1},
    }


def test_the_table_puts_the_listener_path_beside_the_webhook_path_per_follower_count() -> None:
    table = listener.markdown({"listener_ms": {"n1": _row(150.0, 80.5), "n10": _row(400.0, 300.0)}})
    assert "| 1 | 100 | 150.0 | 160.0 | 170.0 | 80.5 | 85.5 | 86.5 | 69.5 | 0 / 1 |" in table
    assert "| 10 | 100 | 400.0 | 410.0 | 420.0 | 300.0 | 305.0 | 306.0 | 100.0 | 0 / 1 |" in table
    assert listener.markdown({}) == ""


@pytest.mark.parametrize(
    ("argv", "runs"),
    [
        (["--quick"], False),  # the smoke test stays fast: this part starts a stack of its own
        (["--quick", "--only", "listener"], True),
        (["--skip", "listener"], False),
        ([], True),
    ],
)
def test_the_part_runs_unless_quick_or_skipped(
    argv: list[str], runs: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[Any, ...]] = []

    def run(followers: list[int], events: int, **kwargs: Any) -> dict[str, Any]:
        calls.append((followers, events, kwargs["warmup"]))
        return {"listener_ms": {"n1": _row(1.0, 1.0)}}

    monkeypatch.setattr(listener, "run", run)
    results: dict[str, Any] = {}
    errors: dict[str, str] = {}
    _run_listener(_parse([*argv, "--listener-followers", "1,10"]), results, errors)
    assert errors == {}
    assert bool(calls) is runs
    if runs:
        assert calls[0][0] == [1, 10] and "listener_ms" in results


def test_sizes_default_to_one_and_ten_followers_and_100_events() -> None:
    args = _parse([])
    assert (args.listener_followers, args.listener_events) == ([1, 10], 100)
    assert "e2e" in _parse(["--only", "listener"]).skip
