"""The monthly AWS bill of a typical trader, line by line (issue 19, item 5).

A ``Profile`` says who the trader is (1 leader, 4 followers, 100 leader trades a day on 21 trading
days, the listener on, the scheduler once a minute, one dashboard); ``bill()`` prices it with
``bench/prices.json`` (each price with its source URL and the date it was read) and returns every
line item with its quantity, so the total can be checked by hand. A month is 730 hours (AWS's
convention), i.e. 43,800 minutes.

What is counted, and from where:

- **Copy path, per trade**: ``bench.cost.compute`` at the profile's follower count (API Gateway,
  Lambda requests and GB-s, SNS FIFO, SQS FIFO sends/receives/deletes, DynamoDB request units) from
  the calls ``bench.overhead`` counted, × trades per month.
- **ESM polling of idle queues**: each follower queue's event source mapping long-polls (20 s
  ``ReceiveMessage``) with ``esm_idle_pollers_per_queue`` pollers all month, messages or not:
  pollers × 3 per minute × 43,800 minutes requests per queue. DLQs are not polled.
- **Listener**: ECS Fargate arm64 on demand, ``listener_vcpu`` / ``listener_gb`` running all
  month, plus the public IPv4 address its task needs for egress; ``listener="off"`` (home mode, or
  a listener not on AWS) drops both lines.
- **Scheduler**: one EventBridge Scheduler invocation and one Lambda run a minute.
- **CloudWatch**: dashboards; alarms = the template's ``AWS::CloudWatch::Alarm`` resources + one
  DLQ alarm per follower (created at runtime); custom metrics = the metric catalogue
  (``tradecopier.observability.CATALOGUE``: one ``service`` dimension each).
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
    scheduler_runs_per_month: int = MINUTES_PER_MONTH  # once a minute
    scheduler_memory_mb: int = 256
    dashboards: int = 1

    @property
    def trades_per_month(self) -> int:
        return self.trades_per_day * self.trading_days


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
    """How many alarms and customer managed KMS keys template.yaml declares."""
    from devstack.tables import load_template

    resources = load_template(template).get("Resources", {})
    types = [resource.get("Type") for resource in resources.values()]
    return {"alarms": types.count("AWS::CloudWatch::Alarm"), "kms_keys": types.count("AWS::KMS::Key")}


def custom_metric_count() -> int:
    """Metric names in the catalogue × the one ``service`` dimension each carries."""
    import sys

    layer = str(REPO_ROOT / "layers" / "common")
    if layer not in sys.path:
        sys.path.insert(0, layer)
    from tradecopier.observability import CATALOGUE

    return len(CATALOGUE)


def _gb_s(runs: float, memory_mb: int, billed_ms: float) -> float:
    return runs * memory_mb / 1024 * billed_ms / 1000


def bill(
    profile: Profile,
    per_trade: dict[str, Any],
    prices: dict[str, Any],
    counts: dict[str, int],
    custom_metrics: int,
) -> dict[str, Any]:
    """Every line of the month's bill. ``per_trade`` is ``bench.cost.compute`` at the profile's
    follower count (its ``cost_breakdown_n10`` and ``cost_inputs_n10`` hold that count's figures)."""
    b = Bill()
    trades = profile.trades_per_month
    lam, sqs, cw, logs = prices["lambda"], prices["sqs_fifo"], prices["cloudwatch"], prices["cloudwatch_logs"]

    for key, usd_per_million in per_trade["cost_breakdown_n10"].items():
        b.add(f"trades: {key}", trades, "trades", trades * usd_per_million / 1e6)

    polls = sqs["esm_idle_pollers_per_queue"] * 60 / sqs["esm_wait_time_seconds"] * MINUTES_PER_MONTH
    receives = profile.followers * polls
    b.add("esm_idle_polling", receives, "ReceiveMessage", receives * sqs["requests_per_million"] / 1e6, "sqs")

    if profile.listener == "fargate":
        fargate = prices["fargate_arm64"]
        per_hour = (
            profile.listener_vcpu * fargate["per_vcpu_hour"] + profile.listener_gb * fargate["per_gb_hour"]
        )
        b.add("listener_fargate", HOURS_PER_MONTH, "task-hours", HOURS_PER_MONTH * per_hour)
        if profile.listener_public_ipv4:
            ipv4 = prices["vpc_public_ipv4"]["per_address_hour"]
            b.add("listener_public_ipv4", HOURS_PER_MONTH, "address-hours", HOURS_PER_MONTH * ipv4)

    runs = profile.scheduler_runs_per_month
    scheduler = prices["eventbridge_scheduler"]["invocations_per_million"]
    b.add("scheduler_invocations", runs, "invocations", runs * scheduler / 1e6, "scheduler")
    b.add(
        "scheduler_lambda_requests",
        runs,
        "requests",
        runs * lam["requests_per_million"] / 1e6,
        "lambda_requests",
    )
    gb_s = _gb_s(runs, profile.scheduler_memory_mb, SCHEDULER_BILLED_MS)
    b.add("scheduler_lambda_gb_s", gb_s, "GB-s", gb_s * lam["arm64_gb_second"], "lambda_gb_s")

    b.add(
        "cloudwatch_dashboards",
        profile.dashboards,
        "dashboards",
        profile.dashboards * cw["dashboard_per_month"],
        "dashboards",
    )
    alarms = counts["alarms"] + profile.followers  # + one DLQ alarm per follower, created at runtime
    b.add("cloudwatch_alarms", alarms, "alarms", alarms * cw["standard_alarm_metric_per_month"], "alarms")
    b.add(
        "cloudwatch_custom_metrics",
        custom_metrics,
        "metrics",
        custom_metrics * cw["custom_metric_per_month"],
        "custom_metrics",
    )

    secret_reads = trades * profile.followers + profile.leaders * profile.trading_days
    kms, secrets = prices["kms"], prices["secrets_manager"]
    b.add("kms_keys", counts["kms_keys"], "keys", counts["kms_keys"] * kms["customer_managed_key_per_month"])
    b.add(
        "kms_requests",
        secret_reads,
        "requests",
        secret_reads * kms["requests_per_10000"] / 1e4,
        "kms_requests",
    )
    accounts = profile.broker_accounts_with_secrets
    b.add("secrets_manager_secrets", accounts, "secrets", accounts * secrets["secret_per_month"])
    b.add(
        "secrets_manager_api_calls",
        secret_reads,
        "calls",
        secret_reads * secrets["api_calls_per_10000"] / 1e4,
    )

    executor_runs = trades * float(per_trade["cost_inputs_n10"]["executor_invocations_per_trade"])
    invocations = trades + executor_runs + runs
    xray = prices["xray"]["traces_recorded_per_million"]
    b.add("xray_traces", invocations, "traces", invocations * xray / 1e6, "xray")

    log_bytes = (
        trades * float(per_trade["cost_inputs_n10"]["log_bytes_per_trade"])
        + invocations * LAMBDA_PLATFORM_LOG_BYTES
        + runs * SCHEDULER_LOG_BYTES
        + (LISTENER_LOG_BYTES_PER_DAY * HOURS_PER_MONTH / 24 if profile.listener == "fargate" else 0)
    )
    log_gb = log_bytes / GB
    b.add("logs_ingestion", log_gb, "GB", log_gb * logs["ingestion_per_gb_standard"], "logs_ingestion")
    b.add("logs_storage", log_gb, "GB-month", log_gb * logs["storage_per_gb_month"])

    return summarise(b, prices)


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


def typical_bill(
    overhead: dict[str, Any], prices: dict[str, Any] | None = None, profile: Profile | None = None
) -> dict[str, Any]:
    """The bill of ``profile`` (default: the typical trader), per-trade figures from ``overhead``."""
    profile = profile or Profile()
    prices = prices or cost.load_prices()
    per_trade = cost.compute(overhead, prices, cost.memory_sizes(), followers=profile.followers)
    result = bill(profile, per_trade, prices, template_counts(), custom_metric_count())
    without_listener = bill(
        Profile(**{**asdict(profile), "listener": "off"}),
        per_trade,
        prices,
        template_counts(),
        custom_metric_count(),
    )
    result["profile"] = {**asdict(profile), "trades_per_month": profile.trades_per_month}
    result["total_without_listener_usd"] = without_listener["total_usd"]
    result["total_without_listener_after_free_tier_usd"] = without_listener["total_after_free_tier_usd"]
    result["prices_as_published_on"] = prices.get("monthly_prices_written_on", prices["as_published_on"])
    result["per_trade_measured_at_followers"] = per_trade["cost_inputs_n10"]["measured_at_followers"]
    return result
