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


def test_the_e2e_part_measures_each_fake_broker_next_to_paper_unless_quick() -> None:
    from bench.__main__ import _e2e_brokers

    full = _parse([])
    assert _e2e_brokers(full) == ("projectx", "tradovate") and full.broker_followers == (1, 10)
    quick = _parse(["--quick"])
    assert _e2e_brokers(quick) == () and quick.broker_followers == (1,)  # the smoke test stays fast
    assert _e2e_brokers(_parse(["--quick", "--only", "e2e,brokers"])) == ("projectx", "tradovate")
    assert _e2e_brokers(_parse(["--skip", "brokers"])) == ()
    assert _parse(["--broker-followers", "1,10,50"]).broker_followers == (1, 10, 50)


def test_a_broker_row_summarises_its_run() -> None:
    from bench.e2e import PerN, _broker_row

    per = PerN(e2e_ms=[40.0, 60.0, 50.0], floor_ms=[10.0, 10.0, 10.0], statuses={"placed": 3}, timeouts=1)
    row = _broker_row(per)
    assert row["e2e_ms"]["p50"] == 50.0 and row["floor_ms"]["p99"] == 10.0
    assert row["e2e_over_floor"]["p50"] == 5.0 and row["events"] == 3 and row["timeouts"] == 1
    assert row["copy_statuses"] == {"placed": 3}


def test_the_report_has_a_table_per_broker_with_the_executor_cpu_beside_e2e() -> None:
    from bench import report

    def row(p50: float, p99: float) -> dict[str, Any]:
        figures = {"p50": p50, "p95": p99, "p99": p99}
        floor = {"p50": 8.0, "p95": 9.0, "p99": 10.0}
        ratio = {"p50": round(p50 / 8.0, 2), "p95": None, "p99": None}
        return {"e2e_ms": figures, "floor_ms": floor, "e2e_over_floor": ratio, "events": 20,
                "timeouts": 0, "copy_statuses": {"placed": 20}}  # fmt: skip

    results = {
        "e2e_by_broker": {
            "paper": {"n1": row(40.0, 80.0)},
            "tradovate": {"n10": row(300.0, 500.0), "n1": row(64.0, 120.0)},
        },
        "brokers": brokers.run(lambda broker: _detail(broker, 12.0), _detail("paper", 7.0)),
    }
    text = report.markdown(results)
    assert "## Per broker" in text
    lines = [line for line in text.splitlines() if line.startswith(("| paper |", "| tradovate |"))]
    assert lines == [
        "| paper | 1 | 20 | 40.00 | 80.00 | 8.00 | 10.00 | 5.00 | 7.00 | 20/20 |",
        "| tradovate | 1 | 20 | 64.00 | 120.00 | 8.00 | 10.00 | 8.00 | 12.00 | 20/20 |",
        "| tradovate | 10 | 20 | 300.00 | 500.00 | 8.00 | 10.00 | 37.50 | 12.00 | 20/20 |",
    ]
    assert "## Per broker" not in report.markdown({})
