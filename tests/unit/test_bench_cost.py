"""``bench.cost``: the INIT phase a cold start bills (since 2025-08-01) is in the per-trade price."""

from __future__ import annotations

from typing import Any

import pytest

from bench import cost

MEMORY = {"IngestFunction": 512, "ExecutorFunction": 1024}


def _overhead(init_ms: dict[str, float] | None) -> dict[str, Any]:
    sample = {"process_cpu_ms_mean": 2.0, "wall_ms_mean": 6.0, "log_bytes_mean": 100.0}
    overhead: dict[str, Any] = {
        "followers": 10,
        "ingest": sample,
        "executor_per_copy": sample,
        "records_per_executor_invocation": 1.0,
        "sns_message_bytes_mean": 300.0,
        "aws_calls_per_event": {"sns.Publish": 1.0},
        "dynamodb_per_event": {"wru": {"copier": 5.0}, "rru": {}},
        "dynamodb_per_copy": {"wru": {"copier": 1.0}, "rru": {"copier": 4.0}},
    }
    if init_ms is not None:
        overhead["init_ms"] = init_ms
    return overhead


def test_a_cold_starts_init_is_billed_at_its_measured_length_in_its_share_of_invocations() -> None:
    prices = cost.load_prices()
    rate = prices["lambda"]["arm64_gb_second"]
    measured = cost.compute(_overhead({"ingest": 400.0, "executor": 300.0}), prices, MEMORY)
    # per million trades: 1 % of (1 ingest at 0.5 GB × 0.4 s + 10 executors at 1 GB × 0.3 s)
    expected = 1e6 * 0.01 * (0.5 * 0.4 + 10 * 1.0 * 0.3) * rate
    assert measured["cost_breakdown_n10"]["lambda_init_gb_s"] == pytest.approx(expected, abs=1e-3)
    every = cost.compute(
        _overhead({"ingest": 400.0, "executor": 300.0}), prices, MEMORY, cold_start_share=1.0
    )
    assert every["cost_breakdown_n10"]["lambda_init_gb_s"] == pytest.approx(100 * expected, abs=0.1)
    without = cost.compute(_overhead(None), prices, MEMORY)
    assert without["cost_breakdown_n10"]["lambda_init_gb_s"] == 0.0
    assert measured["usd_per_million_trades_n10"] > without["usd_per_million_trades_n10"]


def test_memory_options_show_smaller_functions_a_little_cheaper_and_slower() -> None:
    options = cost.memory_options(_overhead(None), cost.load_prices())
    assert list(options) == ["256", "512", "1024", "1769"]
    usd = [o["lambda_gb_s_usd_per_million_trades"] for o in options.values()]
    slow = [o["executor_billed_ms"] for o in options.values()]
    assert usd == sorted(usd) and slow == sorted(slow, reverse=True)
    # 2 ms CPU + 4 ms waiting: at 512 MB the CPU takes 2 × 1769 / 512 = 6.9 ms
    assert options["512"]["executor_billed_ms"] == 11 and options["1769"]["executor_billed_ms"] == 6
