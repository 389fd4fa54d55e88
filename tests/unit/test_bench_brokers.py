"""bench part ``brokers``: one overhead run per fake broker beside paper's, and its table."""

from __future__ import annotations

from typing import Any

from bench import brokers
from bench.__main__ import _parse


def _detail(broker: str, cpu: float) -> dict[str, Any]:
    figures = {"p50": cpu, "p95": cpu, "p99": cpu + 1}
    return {
        "broker": broker,
        "followers": 2,
        "copy_statuses": {"placed": 4},
        "aws_calls_per_copy": {"dynamodb.UpdateItem": 1.0, "dynamodb.PutItem": 1.0},
        "executor_per_copy": {"own_cpu_ms": figures, "wall_ms": figures},
    }


def test_paper_comes_from_the_overhead_part_and_each_real_broker_is_measured() -> None:
    asked: list[str] = []

    def measure(broker: str) -> dict[str, Any]:
        asked.append(broker)
        return _detail(broker, 9.0)

    rows = brokers.run(measure, _detail("paper", 7.0))
    assert asked == ["projectx", "tradovate"]
    assert rows["paper"]["executor_own_cpu_ms_per_copy"]["p50"] == 7.0
    table = brokers.markdown({"brokers": rows})
    assert "| projectx | 9.00 / 10.00 |" in table and "| 2 | 4/4 |" in table
    assert brokers.markdown({}) == ""
    assert brokers.run(measure, None)["paper"]["executor_own_cpu_ms_per_copy"]["p50"] == 9.0


def test_brokers_is_a_part() -> None:
    assert "overhead" in _parse(["--only", "brokers"]).skip
