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
COUNTS = {"alarms": 4, "listener_alarms": 1, "kms_keys": 1}
METRICS = {"FollowersOutOfSync": 1, "ListenerStreamsDown": 1, "CopiesPlaced": 1, "RiskLocks": 7}


def _bill(
    profile: Profile | None = None,
    prices: dict[str, Any] | None = None,
    metrics: dict[str, int] | None = None,
) -> dict[str, Any]:
    return monthly.bill(
        profile or Profile(), PER_TRADE, prices or cost.load_prices(), COUNTS, metrics or METRICS
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
    on = _bill(Profile(listener_vcpu=0.25, listener_gb=0.5, listener_hours_per_week=168), prices)
    fargate = prices["fargate_arm64"]
    per_hour = 0.25 * fargate["per_vcpu_hour"] + 0.5 * fargate["per_gb_hour"]
    assert _line(on, "listener_fargate")["usd"] == pytest.approx(730 * per_hour, abs=1e-4)
    assert _line(on, "listener_public_ipv4")["usd"] == pytest.approx(730 * 0.005)
    off = _bill(Profile(listener="off"), prices)
    assert not [line for line in off["lines"] if line["item"].startswith("listener")]
    assert on["total_usd"] - off["total_usd"] > 730 * (per_hour + 0.005)  # + its alarm and gauges


def test_by_default_the_listener_runs_the_cme_week_only_and_pays_fargate_and_ipv4_for_those_hours() -> None:
    # Down from Friday 17:00 to Sunday 16:45 CT: 47.75 of 168 hours a week (template ListenerSchedule).
    hours = (168 - 47.75) / 168 * 730
    assert Profile().listener_hours == pytest.approx(hours)
    bill = _bill()
    assert _line(bill, "listener_fargate")["quantity"] == pytest.approx(hours)
    assert _line(bill, "listener_public_ipv4")["usd"] == pytest.approx(hours * 0.005, abs=1e-4)


def test_custom_metrics_are_prorated_by_the_hours_they_are_published() -> None:
    prices = cost.load_prices()
    profile = Profile(trading_hours_per_day=7, trading_days=21)
    line = _line(_bill(profile, prices), "cloudwatch_custom_metrics")
    # out-of-sync check every hour; listener gauge its hours; copies the trading hours; RiskLocks x 7 rarely
    expected = (730 + profile.listener_hours + 7 * 21 + 7 * monthly.RARE_METRIC_HOURS) / 730
    assert line["quantity"] == pytest.approx(expected)
    assert line["usd"] == pytest.approx(expected * prices["cloudwatch"]["custom_metric_per_month"], abs=1e-4)
    webhook_only = _line(_bill(Profile(listener="off"), prices), "cloudwatch_custom_metrics")
    assert webhook_only["quantity"] == pytest.approx(expected - profile.listener_hours / 730)


def test_every_catalogued_metric_has_a_cadence_and_an_unpriced_one_is_refused() -> None:
    metrics = monthly.catalogued_metrics()
    assert set(metrics) == set(monthly.METRIC_CADENCE)
    assert metrics["RiskLocks"] == 7 and metrics["CopiesPlaced"] == 1
    with pytest.raises(KeyError):
        monthly.metric_months(Profile(), {"SomethingNew": 1})


def test_scheduler_runs_once_a_minute_with_one_lambda_run_each() -> None:
    bill = _bill(Profile(listener="off"))
    assert _line(bill, "scheduler_invocations")["quantity"] == 43_800
    with_listener = _line(_bill(), "scheduler_invocations")["quantity"]
    assert with_listener == 43_800 + monthly.LISTENER_SCHEDULES_PER_MONTH  # its start/stop schedules
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
