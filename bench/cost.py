"""AWS price of copying leader trades, from the calls counted by ``bench.overhead`` × ``bench/prices.json``.

Per leader trade copied to N followers (N = 10 for the headline figure):

- API Gateway HTTP API: one request (per 512 KB);
- Lambda: one ingest invocation and N / (records per batch) executor invocations; requests plus
  GB-s at the template's ``MemorySize``. Billed duration per invocation = the measured process CPU ×
  (1769 MB / memory: Lambda gives a full vCPU only at 1,769 MB, proportionally less below) + the
  measured time spent waiting on AWS calls (wall − CPU, against the local emulators), rounded up
  to the next ms;
- Lambda INIT (billed for on-demand ZIP functions on managed runtimes since 2025-08-01, AWS compute
  blog "AWS Lambda standardizes billing for INIT phase"): a cold start bills its init phase at the
  function's memory, at a full vCPU (on-demand init is not throttled to the memory's share: AWS
  Serverless Land, "Utilize initialization phase"), so the measured handler import
  (``overhead["init_ms"]``, ``bench.imports``: the part of INIT our code controls; the runtime's
  own start, not measured here, comes on top) as is, in ``cold_start_share`` of the
  invocations: 1 % for the per-million figure (AWS: INITs "typically occur in under 1% of
  invocations"); the monthly bill of a quiet trader takes every invocation as cold (an upper bound);
- SNS FIFO: the Publish calls counted per event (per 64 KB), payload GB, and N subscription deliveries;
- SQS FIFO, per follower queue: the SendMessage SNS makes into it, and the event source mapping's
  ReceiveMessage that returns the batch and DeleteMessageBatch after it succeeded — one of each per
  batch (the mapping's documented behaviour: long polling, delete on success; batches hold one
  message when trades come one at a time, as here). Idle polling is a fixed monthly cost per
  follower, reported apart (``fixed_usd_per_follower_month``), not per trade;
- DynamoDB on demand: the copier table's read and write request units per event and per copy, as
  DynamoDB Local reported them for the actual items (index writes included), corrected where the
  emulator under-reports (transactions: 2 WRU per KB per item; a BatchGetItem key with no item: the
  minimum read). The paper broker's own table is the broker's cost, reported apart.

``usd_per_million_trades_n10`` holds exactly those items. CloudWatch Logs ingestion of what the
handlers log (measured bytes) is per trade too and is reported next to it (``..._with_logs``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
PRICES = Path(__file__).with_name("prices.json")
GB = 1024**3
COLD_START_SHARE = 0.01  # of invocations that start an execution environment (AWS: "under 1%")


def load_prices(path: Path = PRICES) -> dict[str, Any]:
    prices: dict[str, Any] = json.loads(path.read_text())
    return prices


def memory_sizes(template: Path = REPO_ROOT / "template.yaml") -> dict[str, int]:
    """MemorySize of every AWS::Serverless::Function (its own, else Globals.Function's)."""
    from devstack.tables import load_template

    data = load_template(template)
    default = int(data.get("Globals", {}).get("Function", {}).get("MemorySize", 128))
    return {
        logical_id: int(resource.get("Properties", {}).get("MemorySize", default))
        for logical_id, resource in data.get("Resources", {}).items()
        if resource.get("Type") == "AWS::Serverless::Function"
    }


def billed_ms(cpu_ms: float, wall_ms: float, memory_mb: int, full_vcpu_mb: int) -> int:
    """Billed duration of one invocation: CPU slowed to the memory's share of a vCPU, plus waiting."""
    share = min(1.0, memory_mb / full_vcpu_mb)
    return max(1, math.ceil(cpu_ms / share + max(0.0, wall_ms - cpu_ms)))


def _billed(sample: dict[str, Any], records: float, memory_mb: int, lam: dict[str, Any]) -> int:
    """``billed_ms`` of one invocation handling ``records`` records of the measured ``sample``."""
    cpu, wall = sample["process_cpu_ms_mean"] * records, sample["wall_ms_mean"] * records
    return billed_ms(cpu, wall, memory_mb, lam["full_vcpu_at_mb"])


def _sum(values: dict[str, float]) -> float:
    return float(sum(values.values()))


def init_gb_s(
    overhead: dict[str, Any], memory: dict[str, int], executor_invocations: float, share: float
) -> float:
    """GB-s of the INIT phases per trade: ``share`` of the invocations start cold, each billing its
    measured init (``overhead["init_ms"]``: none measured, none counted) at a full vCPU."""
    init = overhead.get("init_ms") or {}
    ingest = memory["IngestFunction"] / 1024 * math.ceil(float(init.get("ingest", 0.0))) / 1000
    executor = memory["ExecutorFunction"] / 1024 * math.ceil(float(init.get("executor", 0.0))) / 1000
    return share * (ingest + executor_invocations * executor)


def compute(
    overhead: dict[str, Any],
    prices: dict[str, Any],
    memory: dict[str, int],
    followers: int = 10,
    cold_start_share: float = COLD_START_SHARE,
) -> dict[str, Any]:
    n = followers
    lam, api, sns, sqs = (
        prices["lambda"],
        prices["api_gateway_http_api"],
        prices["sns_fifo"],
        prices["sqs_fifo"],
    )
    ddb, logs = prices["dynamodb_on_demand"], prices["cloudwatch_logs"]
    ingest, executor = overhead["ingest"], overhead["executor_per_copy"]
    per_batch = max(1.0, float(overhead["records_per_executor_invocation"]))
    executor_invocations = n / per_batch

    ingest_mb, executor_mb = memory["IngestFunction"], memory["ExecutorFunction"]
    ingest_ms = _billed(ingest, 1.0, ingest_mb, lam)
    executor_ms = _billed(executor, per_batch, executor_mb, lam)
    message_bytes = float(overhead["sns_message_bytes_mean"]) or 1.0
    publishes = float(overhead["aws_calls_per_event"].get("sns.Publish", 0.0))
    sns_chunks = math.ceil(message_bytes / sns["publish_chunk_bytes"])
    sqs_chunks = math.ceil(message_bytes / sqs["request_chunk_bytes"])
    event_ddb, copy_ddb = overhead["dynamodb_per_event"], overhead["dynamodb_per_copy"]
    wru = event_ddb["wru"].get("copier", 0.0) + n * copy_ddb["wru"].get("copier", 0.0)
    rru = event_ddb["rru"].get("copier", 0.0) + n * copy_ddb["rru"].get("copier", 0.0)
    m = 1e6  # per million trades; per-million prices cancel out

    breakdown = {
        "api_gateway_http_api": api["requests_per_million"],
        "lambda_ingest_requests": lam["requests_per_million"],
        "lambda_ingest_gb_s": m * ingest_mb / 1024 * ingest_ms / 1000 * lam["arm64_gb_second"],
        "lambda_executor_requests": executor_invocations * lam["requests_per_million"],
        "lambda_executor_gb_s": m
        * executor_invocations
        * executor_mb
        / 1024
        * executor_ms
        / 1000
        * lam["arm64_gb_second"],
        "lambda_init_gb_s": m
        * init_gb_s(overhead, memory, executor_invocations, cold_start_share)
        * lam["arm64_gb_second"],
        "sns_publish": publishes * sns_chunks * sns["publish_requests_per_million"],
        "sns_payload": m * publishes * message_bytes / GB * sns["publish_payload_per_gb"]
        + m * n * message_bytes / GB * sns["subscription_payload_per_gb"],
        "sns_subscription_messages": n * sns["subscription_messages_per_million"],
        "sqs_fifo_send_by_sns": n * sqs_chunks * sqs["requests_per_million"],
        "sqs_fifo_esm_receive": n / per_batch * sqs_chunks * sqs["requests_per_million"],
        "sqs_fifo_esm_delete_batch": n / per_batch * sqs["requests_per_million"],
        "dynamodb_wru": wru * ddb["write_request_unit_per_million"],
        "dynamodb_rru": rru * ddb["read_request_unit_per_million"],
    }
    log_bytes = ingest["log_bytes_mean"] + n * executor["log_bytes_mean"]
    logs_usd = m * log_bytes / GB * logs["ingestion_per_gb_standard"]
    paper_usd = n * (
        copy_ddb["wru"].get("paper", 0.0) * ddb["write_request_unit_per_million"]
        + copy_ddb["rru"].get("paper", 0.0) * ddb["read_request_unit_per_million"]
    )
    total = sum(breakdown.values())
    pollers = sqs["esm_idle_pollers_per_queue"]  # long polls of esm_wait_time_seconds, all month
    idle_requests_month = pollers * 60 / sqs["esm_wait_time_seconds"] * 60 * 730
    return {
        "usd_per_million_trades_n10": round(total, 2),
        "usd_per_million_trades_n10_with_logs": round(total + logs_usd, 2),
        "cost_breakdown_n10": {key: round(value, 3) for key, value in breakdown.items()},
        "cloudwatch_logs_usd_per_million_trades_n10": round(logs_usd, 3),
        "paper_broker_usd_per_million_trades_n10": round(paper_usd, 3),
        "fixed_usd_per_follower_month": round(idle_requests_month * sqs["requests_per_million"] / 1e6, 3),
        "cost_inputs_n10": {
            "followers": n,
            "measured_at_followers": overhead["followers"],
            "memory_mb": {"ingest": ingest_mb, "executor": executor_mb},
            "billed_ms": {"ingest": ingest_ms, "executor_per_invocation": executor_ms},
            "init_ms": {key: float(v) for key, v in (overhead.get("init_ms") or {}).items()},
            "cold_start_share": cold_start_share,
            "billed_ms_unscaled_cpu": {
                "ingest": math.ceil(ingest["wall_ms_mean"]),
                "executor_per_invocation": math.ceil(executor["wall_ms_mean"] * per_batch),
            },
            "executor_invocations_per_trade": executor_invocations,
            "sns_message_bytes": message_bytes,
            "copier_wru_per_trade": round(wru, 2),
            "copier_rru_per_trade": round(rru, 2),
            "log_bytes_per_trade": round(log_bytes),
            "idle_pollers_assumed_per_follower": pollers,
            "prices_as_published_on": prices["as_published_on"],
        },
    }


MEMORY_OPTIONS_MB = (256, 512, 1024, 1769)


def memory_options(
    overhead: dict[str, Any], prices: dict[str, Any], followers: int = 10
) -> dict[str, dict[str, float]]:
    """What each MemorySize would cost and how long each invocation would run, by this run's
    figures and the same billed-duration model: per size, the billed ms of one ingest and one
    executor invocation and the GB-s USD per million trades at ``followers`` (both functions at
    that size). Below 1,769 MB the CPU part stretches with 1769 / memory, so GB-s stay about flat
    (CPU × 1,769 MB) while waiting costs memory × time: smaller is a little cheaper and slower."""
    lam = prices["lambda"]
    per_batch = max(1.0, float(overhead["records_per_executor_invocation"]))
    ingest, executor = overhead["ingest"], overhead["executor_per_copy"]
    out: dict[str, dict[str, float]] = {}
    for mb in MEMORY_OPTIONS_MB:
        ingest_ms, executor_ms = _billed(ingest, 1.0, mb, lam), _billed(executor, per_batch, mb, lam)
        gb_s = mb / 1024 * (ingest_ms + followers / per_batch * executor_ms) / 1000
        out[str(mb)] = {
            "ingest_billed_ms": ingest_ms,
            "executor_billed_ms": executor_ms,
            "lambda_gb_s_usd_per_million_trades": round(1e6 * gb_s * lam["arm64_gb_second"], 3),
        }
    return out
