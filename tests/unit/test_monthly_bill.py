"""The typical trader's monthly bill (``bench/monthly.py``): the arithmetic of each line item."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from bench import cost, monthly
from bench.monthly import Profile

PER_TRADE: dict[str, Any] = {  # what bench.cost.compute returns, reduced to what the bill reads
    "cost_breakdown_n10": {"api_gateway_http_api": 1.0, "dynamodb_wru": 9.0},  # USD per million trades
    "cost_inputs_n10": {
        "executor_invocations_per_trade": 4.0,
        "log_bytes_per_trade": 1000,
        "measured_at_followers": 4,
    },
}
COUNTS = {"alarms": 4, "kms_keys": 1}


def _bill(profile: Profile | None = None, prices: dict[str, Any] | None = None) -> dict[str, Any]:
    return monthly.bill(
        profile or Profile(), PER_TRADE, prices or cost.load_prices(), COUNTS, custom_metrics=10
    )


def _line(bill: dict[str, Any], item: str) -> dict[str, Any]:
    [line] = [line for line in bill["lines"] if line["item"] == item]
    return line


def test_per_trade_lines_scale_the_per_million_price_by_the_trades_of_the_month() -> None:
    bill = _bill(Profile(trades_per_day=100, trading_days=21))
    assert _line(bill, "trades: dynamodb_wru")["quantity"] == 2100
    assert _line(bill, "trades: dynamodb_wru")["usd"] == pytest.approx(2100 * 9.0 / 1e6, abs=1e-4)


def test_idle_polling_is_five_20s_long_polls_per_follower_queue_all_month() -> None:
    prices = cost.load_prices()
    line = _line(_bill(Profile(followers=4), prices), "esm_idle_polling")
    assert line["quantity"] == 4 * 5 * 3 * 60 * 730  # 2,628,000 ReceiveMessage
    assert line["usd"] == pytest.approx(line["quantity"] * prices["sqs_fifo"]["requests_per_million"] / 1e6)


def test_listener_is_fargate_vcpu_and_memory_hours_plus_its_public_address_and_can_be_switched_off() -> None:
    prices = cost.load_prices()
    on = _bill(Profile(listener_vcpu=0.25, listener_gb=0.5), prices)
    fargate = prices["fargate_arm64"]
    per_hour = 0.25 * fargate["per_vcpu_hour"] + 0.5 * fargate["per_gb_hour"]
    assert _line(on, "listener_fargate")["usd"] == pytest.approx(730 * per_hour, abs=1e-4)
    assert _line(on, "listener_public_ipv4")["usd"] == pytest.approx(730 * 0.005)
    off = _bill(Profile(listener="off"), prices)
    assert not [line for line in off["lines"] if line["item"].startswith("listener")]
    assert on["total_usd"] - off["total_usd"] == pytest.approx(730 * (per_hour + 0.005), abs=0.02)


def test_alarms_are_the_templates_plus_one_dlq_alarm_per_follower() -> None:
    assert _line(_bill(Profile(followers=4)), "cloudwatch_alarms")["quantity"] == COUNTS["alarms"] + 4
    assert monthly.template_counts()["alarms"] >= 1  # read from template.yaml, not hard-coded


def test_scheduler_runs_once_a_minute_with_one_lambda_run_each() -> None:
    bill = _bill()
    assert _line(bill, "scheduler_invocations")["quantity"] == 43_800
    assert _line(bill, "scheduler_lambda_requests")["quantity"] == 43_800
    assert _line(bill, "scheduler_lambda_gb_s")["quantity"] == pytest.approx(43_800 * 0.25 * 0.1)


def test_total_is_the_sum_of_the_lines_and_free_tiers_only_lower_it() -> None:
    bill = _bill()
    assert bill["total_usd"] == pytest.approx(sum(line["usd"] for line in bill["lines"]), abs=0.01)
    assert 0 < bill["total_after_free_tier_usd"] < bill["total_usd"]
    assert bill["largest"][0] == "listener_fargate"


def test_free_tier_credit_uses_each_pool_once_and_never_more_than_the_usage() -> None:
    prices = copy.deepcopy(cost.load_prices())
    lines = [
        monthly.Line("a", 600_000, "requests", 0.3, "sqs"),
        monthly.Line("b", 600_000, "requests", 0.3, "sqs"),
        monthly.Line("c", 1, "dashboards", 3.0, "dashboards"),
        monthly.Line("d", 1, "keys", 1.0),
    ]
    # 1M free SQS requests of the 1.2M used; 3 free dashboards of the 1 used; the key has no pool.
    expected = 1_000_000 * prices["sqs_fifo"]["requests_per_million"] / 1e6 + 1 * 3.0
    assert monthly.free_tier_credit(lines, prices) == pytest.approx(expected)
