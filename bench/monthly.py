"""The monthly AWS bill of a typical trader, line by line (issue 19, item 5).

A ``Profile`` says who the trader is (1 leader, 4 followers, 100 leader trades a day on 21 trading
days, the listener on its trading-week schedule, the scheduler once a minute, one dashboard);
``bill()`` prices it with ``bench/prices.json`` (each price with its source URL and the date it was
checked) and returns every line item with its quantity, so the total can be checked by hand. A
month is 730 hours (AWS's convention), i.e. 43,800 minutes. ``python -m bench.monthly`` prints the
bill of the default and of the variants (listener always on, listener only in the trading
sessions, webhook only).

What is counted, and from where:

- **Copy path, per trade**: ``bench.cost.compute`` at the profile's follower count (API Gateway,
  Lambda requests and GB-s, SNS FIFO, SQS FIFO sends/receives/deletes, DynamoDB request units) from
  the calls ``bench.overhead`` counted, × trades per month.
- **ESM polling of idle queues**: each follower queue's event source mapping long-polls (20 s
  ``ReceiveMessage``) with ``esm_idle_pollers_per_queue`` pollers all month, messages or not:
  pollers × 3 per minute × 43,800 minutes requests per queue. DLQs are not polled.
- **Listener**: ECS Fargate arm64 on demand (0.25 vCPU / 0.5 GB, the smallest size), for the hours
  it runs: ``listener_hours_per_week`` (the template's ``ListenerSchedule``: the CME trading week,
  Sunday 16:45 to Friday 17:00 CT, is 120.25 of 168 hours), plus the public IPv4 address its task
  holds while it runs (released when the task stops); ``listener="off"`` (webhook only, or a
  listener at home) drops both lines. Fargate Spot is not offered: AWS does not run ARM64 tasks on
  Fargate Spot, and the layers the task runs are built for arm64 (docs/cost.md).
- **Scheduler**: one EventBridge Scheduler invocation and one Lambda run a minute; the listener's
  five start/stop/alarm schedules add ~22 invocations a month (free tier: 14 M).
- **CloudWatch**: dashboards; alarms = the template's ``AWS::CloudWatch::Alarm`` resources (the
  listener's only with the listener) + one DLQ alarm per follower (created at runtime); custom
  metrics are billed per metric-month *prorated by the hour, for the hours a metric is published*:
  each catalogued metric (``tradecopier.observability.CATALOGUE``, one ``service`` dimension; the
  ``RiskLocks`` × 7 rules) is priced by its cadence (``METRIC_CADENCE``): every hour (the
  scheduler's once-a-minute sync check), every listener hour (its gauges), the hours with trades,
  or rarely (errors, locks: ``RARE_METRIC_HOURS``).
- **KMS**: the template's customer managed keys, and one decrypt per secret read.
- **Secrets Manager**: one secret per broker account; reads ≤ one per copy (the credentials cache
  lives 5 minutes, trades come every few minutes) plus the listener's once a trading day.
- **X-Ray**: one trace per invocation (``Tracing: Active``; at these rates sampling keeps all).
- **Logs**: the handlers' measured bytes per trade, Lambda's START/END/REPORT lines per
  invocation, the scheduler's and the listener's own lines (assumed, below); ingestion + one
  month of storage (the retention is 30 days).

``total_usd`` applies no free tier. ``total_after_free_tier_usd`` subtracts the always-free
allowances (``free_per_month`` in prices.json) from the fixed lines only, each pool once; the
per-trade lines are left at list price (cents).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from bench import cost

REPO_ROOT = Path(__file__).resolve().parent.parent
HOURS_PER_MONTH = 730
MINUTES_PER_MONTH = HOURS_PER_MONTH * 60
GB = 1024**3

# Assumptions (not measured here), kept next to the figures they feed.
LAMBDA_PLATFORM_LOG_BYTES = 350  # START + END + REPORT lines per invocation
SCHEDULER_BILLED_MS = 100  # one scheduler run: a query or two, nothing to do most minutes
SCHEDULER_LOG_BYTES = 200  # its own log line(s) per run
LISTENER_LOG_BYTES_PER_DAY = 1_000_000  # connection events and a heartbeat line a minute
TRADING_HOURS_PER_DAY = 7.0  # the hours of a trading day in which the 100 trades fall
RARE_METRIC_HOURS = 8  # hours a month an error/lock metric is published (a few incidents)
LISTENER_SCHEDULES_PER_MONTH = 22  # 5 schedules, weekly: start, stop, alarm quiet/reset/re-arm

HOURS_PER_WEEK = 168.0
TRADING_WEEK_HOURS = HOURS_PER_WEEK - 47.75  # down Friday 17:00 -> up Sunday 16:45 (CT)
# An example of ListenerStartCron/StopCron set to a group's sessions: 08:15-15:15 CT on weekdays,
# for a leader who is flat with no working order by then (a prop firm's "flat by" rule).
SESSIONS_ONLY_HOURS = 5 * 7.0

# When each catalogued metric is published (billed per metric-month, prorated by the hour).
ALWAYS, LISTENER, TRADES, LISTENER_TRADES, RARE = "always", "listener", "trades", "listener_trades", "rare"
METRIC_CADENCE: dict[str, str] = {
    "EventsAccepted": TRADES,
    "EventsDuplicate": RARE,
    "EventsRefused": RARE,
    "CopiesPlaced": TRADES,
    "CopiesSkipped": TRADES,  # a locked or sized-to-0 follower is skipped on every trade that day
    "CopiesRejected": RARE,
    "CopiesFailed": RARE,
    "CopyLatency": TRADES,
    "FollowersLocked": RARE,
    "ProvisioningFailures": RARE,
    "FollowersLiquidated": RARE,
    "RiskLocks": RARE,  # × its rule values
    "FollowersOutOfSync": ALWAYS,  # each scheduled group check emits it, 0 or not
    "ListenerStreamsConnected": LISTENER,  # gauges, once a minute while it runs
    "ListenerStreamsDown": LISTENER,
    "ListenerReconnects": RARE,
    "ListenerEventsEmitted": LISTENER_TRADES,
    "ListenerLag": LISTENER_TRADES,
    "ListenerFramesRejected": RARE,
}


@dataclass(frozen=True)
class Profile:
    """A trader's set-up and activity."""

    leaders: int = 1
    followers: int = 4
    trades_per_day: int = 100
    trading_days: int = 21
    broker_accounts_with_secrets: int = 5  # the leader and the 4 followers
    listener: Literal["fargate", "off"] = "fargate"
    listener_vcpu: float = 0.25
    listener_gb: float = 0.5
    listener_public_ipv4: bool = True
    listener_hours_per_week: float = TRADING_WEEK_HOURS  # ListenerSchedule=trading-week
    trading_hours_per_day: float = TRADING_HOURS_PER_DAY
    scheduler_runs_per_month: int = MINUTES_PER_MONTH  # once a minute
    scheduler_memory_mb: int = 256
    dashboards: int = 1
    # Lambda INIT is billed (since 2025-08-01): at ~100 trades a day an execution environment may
    # well be gone between trades, so every invocation is taken as a cold start (an upper bound).
    cold_start_share: float = 1.0

    @property
    def trades_per_month(self) -> int:
        return self.trades_per_day * self.trading_days

    @property
    def listener_hours(self) -> float:
        """Hours a month the listener task runs (0 when it is not on AWS)."""
        if self.listener == "off":
            return 0.0
        return min(self.listener_hours_per_week, HOURS_PER_WEEK) * HOURS_PER_MONTH / HOURS_PER_WEEK

    @property
    def trading_hours(self) -> float:
        return min(self.trading_hours_per_day, 24.0) * self.trading_days


@dataclass(frozen=True)
class Line:
    item: str
    quantity: float
    unit: str
    usd: float
    free_pool: str = ""  # prices.json free_per_month key this line draws from ("" = none applied)


@dataclass
class Bill:
    lines: list[Line] = field(default_factory=list)

    def add(self, item: str, quantity: float, unit: str, usd: float, free_pool: str = "") -> None:
        self.lines.append(Line(item, quantity, unit, usd, free_pool))


def template_counts(template: Path = REPO_ROOT / "template.yaml") -> dict[str, int]:
    """How many alarms (those that exist only with the listener apart) and customer managed KMS
    keys template.yaml declares."""
    from devstack.tables import load_template

    resources = load_template(template).get("Resources", {})
    alarms = [r for r in resources.values() if r.get("Type") == "AWS::CloudWatch::Alarm"]
    listener = [r for r in alarms if r.get("Condition") == "ListenerEnabled"]
    return {
        "alarms": len(alarms) - len(listener),
        "listener_alarms": len(listener),
        "kms_keys": sum(1 for r in resources.values() if r.get("Type") == "AWS::KMS::Key"),
    }


def catalogued_metrics() -> dict[str, int]:
    """Each catalogued metric name -> how many custom metrics it is (its dimension sets)."""
    import sys

    layer = str(REPO_ROOT / "layers" / "common")
    if layer not in sys.path:
        sys.path.insert(0, layer)
    from tradecopier.domain.risk.rules import RiskRule
    from tradecopier.observability import CATALOGUE, MetricName

    return {name.value: len(RiskRule) if name is MetricName.RISK_LOCKS else 1 for name in CATALOGUE}


def metric_months(profile: Profile, metrics: dict[str, int]) -> float:
    """Custom metric-months: each metric's hours published this month / 730 (AWS prorates by the
    hour and meters only hours with data). A metric without a cadence raises: price it first."""
    hours = {
        ALWAYS: float(HOURS_PER_MONTH),
        LISTENER: profile.listener_hours,
        TRADES: profile.trading_hours,
        LISTENER_TRADES: profile.trading_hours if profile.listener != "off" else 0.0,
        RARE: float(RARE_METRIC_HOURS),
    }
    return sum(count * hours[METRIC_CADENCE[name]] for name, count in metrics.items()) / HOURS_PER_MONTH


def _gb_s(runs: float, memory_mb: int, billed_ms: float) -> float:
    return runs * memory_mb / 1024 * billed_ms / 1000


def bill(
    profile: Profile,
    per_trade: dict[str, Any],
    prices: dict[str, Any],
    counts: dict[str, int],
    metrics: dict[str, int],
) -> dict[str, Any]:
    """Every line of the month's bill. ``per_trade`` is ``bench.cost.compute`` at the profile's
    follower count (its ``cost_breakdown_n10`` and ``cost_inputs_n10`` hold that count's figures);
    ``metrics`` is ``catalogued_metrics()``."""
    b = Bill()
    trades = profile.trades_per_month
    for key, usd_per_million in per_trade["cost_breakdown_n10"].items():
        b.add(f"trades: {key}", trades, "trades", trades * usd_per_million / 1e6)
    sqs = prices["sqs_fifo"]
    polls = sqs["esm_idle_pollers_per_queue"] * 60 / sqs["esm_wait_time_seconds"] * MINUTES_PER_MONTH
    receives = profile.followers * polls
    b.add("esm_idle_polling", receives, "ReceiveMessage", receives * sqs["requests_per_million"] / 1e6, "sqs")
    _listener_lines(b, profile, prices)
    _scheduler_lines(b, profile, prices)
    _cloudwatch_lines(b, profile, prices, counts, metric_months(profile, metrics))
    _secret_lines(b, profile, prices, counts)
    invocations = _invocations(profile, per_trade)
    xray = prices["xray"]["traces_recorded_per_million"]
    b.add("xray_traces", invocations, "traces", invocations * xray / 1e6, "xray")
    _log_lines(b, profile, per_trade, prices, invocations)
    return summarise(b, prices)


def _listener_lines(b: Bill, profile: Profile, prices: dict[str, Any]) -> None:
    hours = profile.listener_hours
    if not hours:
        return
    fargate = prices["fargate_arm64"]
    per_hour = profile.listener_vcpu * fargate["per_vcpu_hour"] + profile.listener_gb * fargate["per_gb_hour"]
    b.add("listener_fargate", hours, "task-hours", hours * per_hour)
    if profile.listener_public_ipv4:
        ipv4 = prices["vpc_public_ipv4"]["per_address_hour"]
        b.add("listener_public_ipv4", hours, "address-hours", hours * ipv4)


def _scheduler_lines(b: Bill, profile: Profile, prices: dict[str, Any]) -> None:
    lam = prices["lambda"]
    runs = profile.scheduler_runs_per_month
    invocations = runs + (LISTENER_SCHEDULES_PER_MONTH if profile.listener_hours else 0)
    scheduler = prices["eventbridge_scheduler"]["invocations_per_million"]
    b.add("scheduler_invocations", invocations, "invocations", invocations * scheduler / 1e6, "scheduler")
    b.add(
        "scheduler_lambda_requests",
        runs,
        "requests",
        runs * lam["requests_per_million"] / 1e6,
        "lambda_requests",
    )
    gb_s = _gb_s(runs, profile.scheduler_memory_mb, SCHEDULER_BILLED_MS)
    b.add("scheduler_lambda_gb_s", gb_s, "GB-s", gb_s * lam["arm64_gb_second"], "lambda_gb_s")


def _cloudwatch_lines(
    b: Bill, profile: Profile, prices: dict[str, Any], counts: dict[str, int], metric_months: float
) -> None:
    cw = prices["cloudwatch"]
    dashboards = profile.dashboards
    b.add(
        "cloudwatch_dashboards",
        dashboards,
        "dashboards",
        dashboards * cw["dashboard_per_month"],
        "dashboards",
    )
    # + one DLQ alarm per follower, created at runtime; the listener's only with the listener
    alarms = counts["alarms"] + profile.followers
    alarms += counts.get("listener_alarms", 0) if profile.listener != "off" else 0
    b.add("cloudwatch_alarms", alarms, "alarms", alarms * cw["standard_alarm_metric_per_month"], "alarms")
    usd = metric_months * cw["custom_metric_per_month"]
    b.add("cloudwatch_custom_metrics", metric_months, "metric-months", usd, "custom_metrics")


def _secret_lines(b: Bill, profile: Profile, prices: dict[str, Any], counts: dict[str, int]) -> None:
    listener_reads = profile.leaders * profile.trading_days if profile.listener != "off" else 0
    reads = profile.trades_per_month * profile.followers + listener_reads
    kms, secrets = prices["kms"], prices["secrets_manager"]
    keys = counts["kms_keys"]
    b.add("kms_keys", keys, "keys", keys * kms["customer_managed_key_per_month"])
    b.add("kms_requests", reads, "requests", reads * kms["requests_per_10000"] / 1e4, "kms_requests")
    accounts = profile.broker_accounts_with_secrets
    b.add("secrets_manager_secrets", accounts, "secrets", accounts * secrets["secret_per_month"])
    b.add("secrets_manager_api_calls", reads, "calls", reads * secrets["api_calls_per_10000"] / 1e4)


def _invocations(profile: Profile, per_trade: dict[str, Any]) -> float:
    trades = profile.trades_per_month
    executor_runs = trades * float(per_trade["cost_inputs_n10"]["executor_invocations_per_trade"])
    return trades + executor_runs + profile.scheduler_runs_per_month


def _log_lines(
    b: Bill, profile: Profile, per_trade: dict[str, Any], prices: dict[str, Any], invocations: float
) -> None:
    logs = prices["cloudwatch_logs"]
    log_bytes = (
        profile.trades_per_month * float(per_trade["cost_inputs_n10"]["log_bytes_per_trade"])
        + invocations * LAMBDA_PLATFORM_LOG_BYTES
        + profile.scheduler_runs_per_month * SCHEDULER_LOG_BYTES
        + LISTENER_LOG_BYTES_PER_DAY * profile.listener_hours / 24
    )
    log_gb = log_bytes / GB
    b.add("logs_ingestion", log_gb, "GB", log_gb * logs["ingestion_per_gb_standard"], "logs_ingestion")
    b.add("logs_storage", log_gb, "GB-month", log_gb * logs["storage_per_gb_month"])


_FREE_POOLS: dict[str, tuple[str, str, str]] = {  # pool -> (prices.json service, free key, unit price key)
    "sqs": ("sqs_fifo", "requests", "requests_per_million"),
    "scheduler": ("eventbridge_scheduler", "invocations", "invocations_per_million"),
    "lambda_requests": ("lambda", "requests", "requests_per_million"),
    "lambda_gb_s": ("lambda", "gb_seconds", "arm64_gb_second"),
    "dashboards": ("cloudwatch", "dashboards", "dashboard_per_month"),
    "alarms": ("cloudwatch", "alarms", "standard_alarm_metric_per_month"),
    "custom_metrics": ("cloudwatch", "custom_metrics", "custom_metric_per_month"),
    "kms_requests": ("kms", "requests", "requests_per_10000"),
    "xray": ("xray", "traces", "traces_recorded_per_million"),
    "logs_ingestion": ("cloudwatch_logs", "ingestion_gb", "ingestion_per_gb_standard"),
}
_PER_UNITS = {"requests_per_million": 1e6, "invocations_per_million": 1e6, "traces_recorded_per_million": 1e6}
_PER_UNITS["requests_per_10000"] = 1e4


def free_tier_credit(lines: list[Line], prices: dict[str, Any]) -> float:
    """USD the always-free allowances take off the fixed lines (each pool's allowance used once)."""
    credit = 0.0
    for pool, (service, free_key, price_key) in _FREE_POOLS.items():
        quantity = sum(line.quantity for line in lines if line.free_pool == pool)
        free = float(prices[service].get("free_per_month", {}).get(free_key, 0))
        unit_price = float(prices[service][price_key]) / _PER_UNITS.get(price_key, 1.0)
        credit += min(quantity, free) * unit_price
    return credit


def summarise(b: Bill, prices: dict[str, Any]) -> dict[str, Any]:
    total = sum(line.usd for line in b.lines)
    credit = free_tier_credit(b.lines, prices)
    largest = sorted(b.lines, key=lambda line: -line.usd)[:5]
    return {
        "total_usd": round(total, 2),
        "total_after_free_tier_usd": round(total - credit, 2),
        "lines": [{**asdict(line), "usd": round(line.usd, 4)} for line in b.lines],
        "largest": [line.item for line in largest],
    }


# The variants printed beside the default: (name, what changes in the profile).
VARIANTS: dict[str, dict[str, Any]] = {
    "listener_always_on": {"listener_hours_per_week": HOURS_PER_WEEK},
    "listener_sessions_only": {"listener_hours_per_week": SESSIONS_ONLY_HOURS},
    "webhook_only": {"listener": "off", "broker_accounts_with_secrets": 4},  # no leader secret
}


def typical_bill(
    overhead: dict[str, Any], prices: dict[str, Any] | None = None, profile: Profile | None = None
) -> dict[str, Any]:
    """The bill of ``profile`` (default: the typical trader), per-trade figures from ``overhead``,
    with the totals of ``VARIANTS`` beside it."""
    profile = profile or Profile()
    prices = prices or cost.load_prices()
    per_trade = cost.compute(
        overhead,
        prices,
        cost.memory_sizes(),
        followers=profile.followers,
        cold_start_share=profile.cold_start_share,
    )
    counts, metrics = template_counts(), catalogued_metrics()
    result = bill(profile, per_trade, prices, counts, metrics)
    variants = {
        name: bill(Profile(**{**asdict(profile), **change}), per_trade, prices, counts, metrics)
        for name, change in VARIANTS.items()
    }
    result["profile"] = {
        **asdict(profile),
        "trades_per_month": profile.trades_per_month,
        "listener_hours": round(profile.listener_hours, 1),
    }
    result["variants"] = {
        name: {key: variant[key] for key in ("total_usd", "total_after_free_tier_usd")}
        | {"lines": variant["lines"]}
        for name, variant in variants.items()
    }
    result["total_without_listener_usd"] = variants["webhook_only"]["total_usd"]
    result["total_without_listener_after_free_tier_usd"] = variants["webhook_only"][
        "total_after_free_tier_usd"
    ]
    result["prices_as_published_on"] = prices.get("monthly_prices_written_on", prices["as_published_on"])
    result["per_trade_measured_at_followers"] = per_trade["cost_inputs_n10"]["measured_at_followers"]
    return result


def _print(name: str, result: dict[str, Any]) -> None:
    print(f"\n{name}")
    for line in result["lines"]:
        print(f"  {line['item']:<40} {line['quantity']:>14,.2f} {line['unit']:<15} {line['usd']:>9.4f}")
    print(f"  {'total, list prices':<71} {result['total_usd']:>9.2f}")
    print(f"  {'total after the always-free tiers':<71} {result['total_after_free_tier_usd']:>9.2f}")


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.monthly [results.json]``: the bills, from that run's overhead figures."""
    import argparse
    import json

    parser = argparse.ArgumentParser(prog="python -m bench.monthly", description=main.__doc__)
    parser.add_argument("results", nargs="?", type=Path, default=REPO_ROOT / "bench" / "results.json")
    args = parser.parse_args(argv)
    overhead = json.loads(args.results.read_text())["overhead_detail"]
    result = typical_bill(overhead)
    p = result["profile"]
    print(
        f"{p['leaders']} leader, {p['followers']} followers, {p['trades_per_month']:,} trades a month; "
        f"listener {p['listener_hours']} h a month; prices of {result['prices_as_published_on']}"
    )
    _print("default (listener on the CME trading week)", result)
    for name, variant in result["variants"].items():
        _print(name, variant)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
