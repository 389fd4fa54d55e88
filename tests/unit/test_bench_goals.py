"""The bench's goals table is issue 19's, row for row, from the figures results.json holds; the
critical path is counted from the order of the calls."""

from __future__ import annotations

from typing import Any

from bench import report
from bench.critical import (
    copier_writes_after_broker,
    critical_path,
    executor_calls_before_broker,
    ingest_calls_to_publish,
)

INGEST = ["dynamodb.TransactWriteItems copier", "sns.Publish", "dynamodb.UpdateItem copier"]
EXECUTOR = [
    "dynamodb.BatchGetItem copier",
    "dynamodb.PutItem paper",
    "dynamodb.TransactWriteItems paper",
    "dynamodb.PutItem copier",
]


def test_ingest_counts_its_calls_up_to_the_publish_only() -> None:
    assert ingest_calls_to_publish(INGEST) == 2  # the position write after the publish is off the path
    assert ingest_calls_to_publish(["dynamodb.Query copier", *INGEST]) == 3  # a cold group read counts
    assert ingest_calls_to_publish(["dynamodb.Query copier"]) == 1  # no publish: every call


def test_the_executor_counts_calls_before_the_broker_and_copier_writes_after_it() -> None:
    assert executor_calls_before_broker(EXECUTOR) == 1
    assert copier_writes_after_broker(EXECUTOR) == 1
    skipped = ["dynamodb.BatchGetItem copier", "dynamodb.PutItem copier"]  # no broker call
    assert executor_calls_before_broker(skipped) == 2
    assert copier_writes_after_broker(skipped) == 0
    two = [*EXECUTOR, "dynamodb.UpdateItem copier"]
    assert copier_writes_after_broker(two) == 2


def test_critical_path_sums_ingest_and_executor_and_divides_writes_by_copies() -> None:
    path = critical_path([INGEST, INGEST], [EXECUTOR, [*EXECUTOR, "dynamodb.UpdateItem copier"]], copies=2)
    assert path["sequential_calls"] == 3
    assert path["copier_writes_after_broker_per_copy"] == 1.5
    assert critical_path([], [], copies=0)["sequential_calls"] is None


def _results() -> dict[str, Any]:
    return {
        "critical_path": {"sequential_calls": 3.0, "copier_writes_after_broker_per_copy": 1.0},
        "dynamodb_wru_per_copy": 1.0,
        "overhead_n50": {"dynamodb_wru_per_copy": {"copier": 2.4}},
        "executor_cpu_ms_per_copy": 3.1,
        "ingest_cpu_ms": 2.2,
        "import_ms": {"ingest": 150.0, "executor": 170.0, "baseline": 100.0},
        "e2e_detail": {"n10": {"stack_cpu_ms_per_copy": 14.0}},
        "e2e_over_floor": {"n1": {"p50": 2.5}, "n10": {"p50": 4.0}},
        "usd_per_million_trades_n10": 35.7,
        "monthly_bill": {"total_usd": 9.5},
    }


def test_goals_are_issue_19s_table_with_each_figure_and_verdict() -> None:
    rows = {row["name"]: row for row in report.goals(_results())}
    assert list(rows) == [name for name, *_ in report.GOALS]
    assert len(rows) == 13
    verdicts = {name: row["met"] for name, row in rows.items()}
    assert verdicts == {
        "sequential_calls": True,
        "writes_after_broker": True,
        "wru_n10": True,
        "wru_n50": False,
        "executor_cpu": False,
        "ingest_cpu": True,
        "import_ingest": True,
        "import_executor": False,
        "stack_cpu": True,
        "e2e_n1": True,
        "e2e_n10": False,
        "cost": False,
        "monthly": True,
    }
    assert rows["import_executor"]["measured"] == 1.7
    assert rows["cost"]["limit"] == 25


def test_a_figure_the_run_did_not_produce_is_shown_not_met_nor_missed() -> None:
    rows = report.goals({"ingest_cpu_ms": 2.0})
    assert len(rows) == 13
    assert [row["name"] for row in rows if row["met"] is not None] == ["ingest_cpu"]
    table = report.markdown({"goals": rows})
    assert "| ingest own CPU per event (median) | 2.00 ms | ≤ 2.50 ms | yes |" in table
    assert "| USD per million leader trades, 10 followers | – | ≤ 25 USD | n/a |" in table
    assert "1.3 × floor" not in table  # round 1's goals are gone


def test_the_overhead_table_shows_the_critical_path_and_the_memory_options() -> None:
    results = {k: v for k, v in _results().items() if k != "monthly_bill"} | {
        "critical_path": {"ingest_calls_to_publish": 2.0, "executor_calls_before_broker": 1.0},
        "memory_options_n10": {
            "256": {"executor_billed_ms": 80, "lambda_gb_s_usd_per_million_trades": 2.8},
            "512": {"executor_billed_ms": 47, "lambda_gb_s_usd_per_million_trades": 3.3},
        },
    }
    table = report.markdown(results)
    assert "| sequential AWS calls: executor, before the broker call | 1.00 |" in table
    assert "| MemorySize 256 MB: executor billed ms / GB-s USD per million trades | 80 / 2.80 |" in table
