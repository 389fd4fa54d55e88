"""Own overhead, in-process: CPU of the ingest handler per accepted event and of the executor per copied
order, and every AWS call they make, counted by botocore hooks (``bench.awscalls``).

Run as a child process by ``python -m bench`` (``python -m bench.overhead --out FILE``) so that
nothing else runs in the measuring process: its ``time.process_time`` is then the handlers' CPU plus
botocore's client side; DynamoDB Local (a JVM) and moto (``devstack.motoserver``) are processes of
their own. The CPU spent in botocore's HTTP send (urllib3, sockets) is measured and subtracted:
``own_cpu = process CPU during the handler call − CPU inside Endpoint._send``; next to it, for
the executor, ``own_cpu_excl_paper_store`` also leaves out the CPU inside the paper broker's store
calls (``bench.awscalls.install_paper_store_timer``): what a copy costs a follower on a real broker,
less that adapter's own HTTP client. The AWS calls are
real (local emulators), so every code path is the production one; nothing is mocked.

Flow per event, like production: the ingest handler gets an API Gateway HTTP API v2 event; then,
for every follower queue, the SQS batch the event source mapping would build is received from moto
and handed to the executor handler (one record per batch: events are sent one after the other), and
deleted afterwards (the ESM's job, not counted). Handler logs (stdout) go to a file whose growth is
the CloudWatch Logs volume per invocation.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
IMPORT_ROOTS = ["layers/common", "functions/ingest", "functions/admin", "functions/executor"]
EXECUTOR_NAME = "bench-executor"


@dataclass
class Sample:
    cpu_ms: float
    own_cpu_ms: float  # cpu_ms minus CPU inside botocore's HTTP send
    own_cpu_excl_botocore_ms: float  # cpu_ms minus CPU inside botocore client calls altogether
    own_cpu_excl_paper_store_ms: float  # own_cpu_ms minus CPU inside the paper broker's store calls
    wall_ms: float
    log_bytes: int
    records: int = 1


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.overhead")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--events", type=int, default=50)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--followers", type=int, default=10)
    p.add_argument("--dynamodb-endpoint", default="")
    p.add_argument("--moto-endpoint", default="")
    p.add_argument(
        "--broker",
        choices=("paper", "projectx", "tradovate"),
        default="paper",
        help="the followers' broker: paper, or a fake real broker served by a child process "
        "(bench.fakebroker; its CPU is not the executor's, the adapter's HTTP client CPU is)",
    )
    p.add_argument("--profile", type=Path, default=None, help="write cProfile stats of the executor here")
    p.add_argument(
        "--every-risk-rule",
        action="store_true",
        help="followers with every risk rule on (none of which the bench's flat prices breach)",
    )
    return p.parse_args(argv)


def _environment(tables: dict[str, str], ddb: str, moto: str) -> dict[str, str]:
    from bench.backends import FAKE_AWS

    return {
        **FAKE_AWS,
        "COPIER_TABLE_NAME": tables["CopierTable"],
        "PAPER_TABLE_NAME": tables["PaperBrokerTable"],
        "RESOURCE_PREFIX": f"b{uuid.uuid4().hex[:8]}",
        "EXECUTOR_FUNCTION_NAME": EXECUTOR_NAME,
        "AWS_ENDPOINT_URL": moto,
        "AWS_ENDPOINT_URL_DYNAMODB": ddb,
        "POWERTOOLS_SERVICE_NAME": "trade-copier",
        "POWERTOOLS_METRICS_NAMESPACE": "TradeCopier",
        "POWERTOOLS_LOGGER_LOG_EVENT": "false",
        "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon here; see the report
        "LOG_LEVEL": "INFO",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    args.events = max(2, args.events)  # half of them counted, half timed
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    from bench.backends import Backends

    if args.dynamodb_endpoint and args.moto_endpoint:
        result = run(args, args.dynamodb_endpoint, args.moto_endpoint)
    else:
        with Backends() as backends:
            result = run(args, backends.dynamodb_endpoint, backends.moto_endpoint)
    args.out.write_text(json.dumps(result, indent=2))
    return 0


@dataclass
class _Tally:
    """What the measured events leave: timed samples, the events sent and the calls counted."""

    ingest: list[Sample] = field(default_factory=list)
    executor: list[Sample] = field(default_factory=list)
    event_ids: list[str] = field(default_factory=list)
    counted_events: int = 0
    counted_copies: int = 0


@dataclass(frozen=True)
class _Phase:
    """One event's part: warm-up, measured (counted or timed, alternately) or profiled."""

    measured: bool
    counted: bool
    timed: bool
    profiling: bool


def _phase(args: argparse.Namespace, index: int, profiling: bool) -> _Phase:
    measured = args.warmup <= index < args.warmup + args.events
    # Measured events alternate: one counted (hooks count calls, DynamoDB returns consumed
    # capacity), one timed (hooks idle), so that counting never inflates the CPU figures.
    counted = measured and (index - args.warmup) % 2 == 0
    return _Phase(
        measured=measured,
        counted=counted,
        timed=measured and not counted,
        profiling=profiling and index >= args.warmup + args.events,
    )


@dataclass(frozen=True)
class _Handlers:
    admin: Any
    ingest: Any
    executor: Any


def _prepare(ddb_endpoint: str, moto_endpoint: str) -> tuple[Any, dict[str, str], Any]:
    """Tables, the environment the handlers read, and the counting hooks (DynamoDB client, tables, log)."""
    from bench.awscalls import CallLog, install_timers
    from bench.backends import ensure_function, plain_client
    from devstack.tables import create_tables_from_template

    for key in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        os.environ.pop(key, None)
    ddb = plain_client("dynamodb", ddb_endpoint)
    tables = create_tables_from_template(ddb, REPO_ROOT / "template.yaml", f"bench{uuid.uuid4().hex[:8]}")
    os.environ.update(_environment(tables, ddb_endpoint, moto_endpoint))
    ensure_function(moto_endpoint, EXECUTOR_NAME)

    # Hooks first: clients copy the session's event emitter when they are created. The handlers'
    # clients are built from tradecopier.aws's botocore session (not boto3's default session).
    if str(REPO_ROOT / "layers/common") not in sys.path:
        sys.path.insert(0, str(REPO_ROOT / "layers/common"))
    from tradecopier import aws

    aws.clear_clients()
    calls = CallLog(tables["CopierTable"], tables["PaperBrokerTable"])
    calls.install(aws.session())
    install_timers()
    return ddb, tables, calls


def _import_handlers() -> _Handlers:
    for root in reversed(IMPORT_ROOTS):
        sys.path.insert(0, str(REPO_ROOT / root))
    import admin_handler
    import executor_handler
    import ingest_handler

    return _Handlers(
        admin=admin_handler.handler, ingest=ingest_handler.handler, executor=executor_handler.handler
    )


@contextmanager
def _stdout_to_temp_file() -> Iterator[None]:
    """Handler logs (fd 1) go to a temporary file, whose growth ``_measure`` reads."""
    log_file = tempfile.TemporaryFile()  # noqa: SIM115 - closed in the finally below
    saved_stdout = os.dup(1)
    sys.stdout.flush()
    os.dup2(log_file.fileno(), 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved_stdout, 1)
        os.close(saved_stdout)
        log_file.close()


def _measure(handler: Any, event: dict[str, Any], context: Any) -> tuple[Any, Sample]:
    from bench.awscalls import TIMERS

    sys.stdout.flush()
    size = os.fstat(1).st_size
    send0, client0, paper0 = TIMERS.send_cpu, TIMERS.client_cpu, TIMERS.paper_store_cpu
    cpu0, wall0 = time.process_time(), time.perf_counter()
    answer = handler(event, context)
    cpu = time.process_time() - cpu0
    wall = time.perf_counter() - wall0
    sys.stdout.flush()
    own = cpu - (TIMERS.send_cpu - send0)
    return answer, Sample(
        cpu_ms=cpu * 1000,
        own_cpu_ms=own * 1000,
        own_cpu_excl_botocore_ms=(cpu - (TIMERS.client_cpu - client0)) * 1000,
        own_cpu_excl_paper_store_ms=(own - (TIMERS.paper_store_cpu - paper0)) * 1000,
        wall_ms=wall * 1000,
        log_bytes=os.fstat(1).st_size - size,
    )


# Every rule of API.md "Risk" on, none breached by the bench's alternating 1-lot NQ at one price:
# each copy reads all positions (max_position) and the account snapshot (loss rules), and writes
# the risk state (trades counted) with its copy record.
_OPENING_RULES: dict[str, Any] = {"max_position": 5, "micro_weight": 0.1, "max_trades_per_day": 100000}
_OPENING_RULES |= {"allowed_symbols": ["NQ", "MNQ"], "trading_hours": {"start": "17:00", "end": "16:59"}}
_LOSS_RULES: dict[str, Any] = {"starting_balance": 50000, "daily_loss_limit": 1000}
_LOSS_RULES |= {"trailing_drawdown": 2000, "drawdown_mode": "intraday", "trailing_stop_at": 50100}
EVERY_RULE = _OPENING_RULES | _LOSS_RULES


def _create_group(
    admin_handler: Any,
    followers: int,
    risk: dict[str, Any] | None = None,
    fake: dict[str, Any] | None = None,
) -> tuple[str, str]:
    """A group with ``followers`` followers (with ``risk`` rules, if given; on the ``fake`` broker
    of ``bench.fakebroker``, if given: its credentials stored, NQ mapped to its front month),
    through the admin handler: (group id, webhook token)."""
    from devstack.samples import Context, http_api_event

    def admin(method: str, path: str, body: Any = None) -> dict[str, Any]:
        text = None if body is None else json.dumps(body)
        reply = admin_handler(http_api_event(method, path, text), Context("admin", 256))
        return {"status": reply["statusCode"], "body": json.loads(reply.get("body") or "null")}

    created = admin("POST", "/groups", {"name": "bench", "leader": {"account_id": "LEAD-1"}})
    assert created["status"] == 201, created
    group_id, token = created["body"]["group_id"], created["body"]["webhook_token"]
    for i in range(followers):
        body: dict[str, Any] = {"account_id": f"F-{i:03d}"}
        if risk is not None:
            body["risk"] = risk
        if fake is not None:
            stored = admin("PUT", f"/accounts/F-{i:03d}/credentials", fake["credentials"])
            assert stored["status"] == 200, stored
            body.update(broker=fake["credentials"]["broker"], symbol_map={"NQ": fake["symbol"]})
        added = admin("POST", f"/groups/{group_id}/followers", body)
        assert added["status"] == 201, added
    return group_id, token


def _follower_queues(sqs: Any, moto_endpoint: str, followers: int) -> list[tuple[str, str]]:
    """(URL, ARN) of every follower queue of this run (those with an event source mapping)."""
    from bench.backends import plain_client

    lam = plain_client("lambda", moto_endpoint)
    prefix = os.environ["RESOURCE_PREFIX"]
    queues: list[tuple[str, str]] = []
    for mapping in lam.list_event_source_mappings()["EventSourceMappings"]:
        name = mapping["EventSourceArn"].rsplit(":", 1)[-1]
        if name.startswith(prefix):
            queues.append((sqs.get_queue_url(QueueName=name)["QueueUrl"], mapping["EventSourceArn"]))
    assert len(queues) == followers, f"{len(queues)} follower queues, expected {followers}"
    return queues


def _write_profile(profiler: Any, path: Path) -> None:
    import pstats

    with open(path, "w", encoding="utf-8") as fh:
        stats = pstats.Stats(profiler, stream=fh)
        stats.sort_stats("cumulative").print_stats(45)
        stats.sort_stats("tottime").print_stats(30)
        stats.sort_stats("cumulative").print_stats("tradecopier|powertools", 40)


class _EventRun:
    """Sends one leader event through ingest, then hands each follower queue's batch to the executor."""

    def __init__(
        self,
        handlers: _Handlers,
        calls: Any,
        sqs: Any,
        queues: list[tuple[str, str]],
        profiler: Any,
        tally: _Tally,
    ) -> None:
        self.handlers = handlers
        self.calls = calls
        self.sqs = sqs
        self.queues = queues
        self.profiler = profiler
        self.tally = tally

    def ingest(self, group_id: str, token: str, index: int, phase: _Phase) -> None:
        from devstack.samples import Context, alternating_market, http_api_event

        event_id = f"bench-{uuid.uuid4().hex[:12]}"
        body = alternating_market(event_id, index)
        event = http_api_event(
            "POST", f"/groups/{group_id}/events", json.dumps(body), {"X-Webhook-Token": token}
        )
        with self.calls.scoped("ingest" if phase.counted else None):
            reply, sample = _measure(self.handlers.ingest, event, Context("ingest", 512))
        assert reply["statusCode"] == 202, reply
        if phase.measured:
            self.tally.event_ids.append(event_id)
            self.tally.counted_events += phase.counted
        if phase.timed:
            self.tally.ingest.append(sample)

    def copy(self, url: str, arn: str, phase: _Phase) -> None:
        from devstack.samples import Context, sqs_record

        messages = self.sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=2,
            AttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        assert messages, f"nothing delivered to {url}"
        records = [sqs_record(m, arn, "us-east-1") for m in messages]
        if phase.profiling:
            self.profiler.enable()
        with self.calls.scoped("executor" if phase.counted else None):
            result, sample = _measure(self.handlers.executor, {"Records": records}, Context("executor", 512))
        if phase.profiling:
            self.profiler.disable()
        assert not result.get("batchItemFailures"), result
        sample.records = len(records)
        if phase.counted:
            self.tally.counted_copies += len(records)
        if phase.timed:
            self.tally.executor.append(sample)
        self.sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
        )

    def send(self, group_id: str, token: str, index: int, phase: _Phase) -> None:
        self.ingest(group_id, token, index, phase)
        for url, arn in self.queues:
            self.copy(url, arn, phase)


def run(args: argparse.Namespace, ddb_endpoint: str, moto_endpoint: str) -> dict[str, Any]:
    if args.broker == "paper":
        return _run(args, ddb_endpoint, moto_endpoint, None)
    from bench.fakebroker import fake_broker

    with fake_broker(args.broker) as fake:
        return _run(args, ddb_endpoint, moto_endpoint, fake)


def _run(
    args: argparse.Namespace, ddb_endpoint: str, moto_endpoint: str, fake: dict[str, Any] | None
) -> dict[str, Any]:
    from bench.awscalls import install_paper_store_timer
    from bench.backends import plain_client

    ddb, tables, calls = _prepare(ddb_endpoint, moto_endpoint)
    handlers = _import_handlers()
    install_paper_store_timer()  # after the import roots are on sys.path
    profiler: Any = None
    if args.profile is not None:
        import cProfile

        profiler = cProfile.Profile(time.process_time)  # CPU time, not waiting
    tally = _Tally()
    with _stdout_to_temp_file():
        group_id, token = _create_group(
            handlers.admin, args.followers, EVERY_RULE if args.every_risk_rule else None, fake
        )
        sqs = plain_client("sqs", moto_endpoint)
        events = _EventRun(
            handlers, calls, sqs, _follower_queues(sqs, moto_endpoint, args.followers), profiler, tally
        )
        # With --profile, extra events after the measured ones run under cProfile (never timed).
        total = args.warmup + args.events + (20 if profiler is not None else 0)
        for index in range(total):
            events.send(group_id, token, index, _phase(args, index, profiler is not None))
    if profiler is not None:
        _write_profile(profiler, args.profile)

    return _result(
        args,
        calls,
        ddb,
        tables,
        group_id,
        tally.event_ids,
        tally.ingest,
        tally.executor,
        tally.counted_events,
        tally.counted_copies,
    )


def _result(
    args: argparse.Namespace,
    calls: Any,
    ddb: Any,
    tables: dict[str, str],
    group_id: str,
    event_ids: list[str],
    ingest: list[Sample],
    executor: list[Sample],
    events: int,
    copies: int,
) -> dict[str, Any]:
    from bench.awscalls import dynamodb_item_bytes
    from bench.copyitems import event_copy_items
    from bench.critical import critical_path
    from bench.stats import mean, median, summary

    # Every copy must be placed, or the per-copy figures would describe something else.
    statuses: dict[str, int] = {}
    event_bytes: list[int] = []
    copy_bytes: list[int] = []
    link: dict[str, Any] = {}
    for event_id in event_ids:
        event, recorded = event_copy_items(ddb, tables["CopierTable"], group_id, event_id)
        if event is not None:
            event_bytes.append(dynamodb_item_bytes(event))
        for item in recorded.values():
            copy_bytes.append(dynamodb_item_bytes(item))
            status = item["status"]["S"]
            statuses[status] = statuses.get(status, 0) + 1
            if "link_broker_order_id" in item:
                link = item  # a placed copy is its order link item (data layer v2)
    group_items = ddb.query(
        TableName=tables["CopierTable"],
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"GROUP#{group_id}"}},
    )["Items"]

    ingest_counts = calls.counts("ingest")
    executor_counts = calls.counts("executor")

    def per(counter: Any, n: int) -> dict[str, float]:
        return {key: round(value / n, 4) for key, value in sorted(counter.items())} if n else {}

    def samples(values: list[Sample], divide_by_records: bool) -> dict[str, Any]:
        def field(name: str) -> list[float]:
            return [float(getattr(s, name)) / (s.records if divide_by_records else 1) for s in values]

        return {
            "own_cpu_ms": summary(field("own_cpu_ms"), 3),
            "own_cpu_ms_median": round(median(field("own_cpu_ms")), 3),
            "own_cpu_ms_mean": round(mean(field("own_cpu_ms")), 3),
            "own_cpu_excl_botocore_ms_median": round(median(field("own_cpu_excl_botocore_ms")), 3),
            # What a copy costs without the paper broker's table (0 for ingest and real brokers):
            # the executor of a follower on a real broker, whose adapter's HTTP client is its own.
            "own_cpu_excl_paper_store_ms_median": round(median(field("own_cpu_excl_paper_store_ms")), 3),
            "botocore_client_cpu_ms_median": round(
                median(field("own_cpu_ms")) - median(field("own_cpu_excl_botocore_ms")), 3
            ),
            "process_cpu_ms_mean": round(mean(field("cpu_ms")), 3),
            "wall_ms": summary(field("wall_ms"), 3),
            "wall_ms_mean": round(mean(field("wall_ms")), 3),
            "log_bytes_mean": round(mean(field("log_bytes")), 1),
            "invocations": len(values),
        }

    return {
        "broker": args.broker,
        "followers": args.followers,
        "events": len(event_ids),
        "events_counted": events,
        "events_timed": len(ingest),
        "copies_counted": copies,
        "copy_statuses": statuses,
        "tracing": "POWERTOOLS_TRACE_DISABLED=true",
        "ingest": samples(ingest, divide_by_records=False),
        "executor_per_copy": samples(executor, divide_by_records=True),
        "records_per_executor_invocation": round(sum(s.records for s in executor) / len(executor), 3)
        if executor
        else 0,
        "aws_calls_per_event": per(ingest_counts.calls, events),
        "aws_calls_per_copy": per(executor_counts.calls, copies),
        "critical_path": critical_path(ingest_counts.sequences, executor_counts.sequences, copies),
        "dynamodb_per_event": {
            "write_items": per(ingest_counts.write_items, events),
            "read_requests": per(ingest_counts.read_requests, events),
            "wru": per(ingest_counts.wru, events),
            "rru": per(ingest_counts.rru, events),
            "units_by_call": per(ingest_counts.units_by_call, events),
        },
        "dynamodb_per_copy": {
            "write_items": per(executor_counts.write_items, copies),
            "read_requests": per(executor_counts.read_requests, copies),
            "condition_checks": per(executor_counts.condition_checks, copies),
            "wru": per(executor_counts.wru, copies),
            "rru": per(executor_counts.rru, copies),
            "units_by_call": per(executor_counts.units_by_call, copies),
        },
        "sns_message_bytes_mean": round(mean([float(b) for b in ingest_counts.sns_message_bytes]), 1),
        "item_bytes": {
            "event_mean": round(mean([float(b) for b in event_bytes]), 1),
            "copy_mean": round(mean([float(b) for b in copy_bytes]), 1) if copy_bytes else None,
            "order_link": dynamodb_item_bytes(link) if link else None,
            "group_and_followers_total": sum(dynamodb_item_bytes(i) for i in group_items),
        },
    }


if __name__ == "__main__":
    sys.exit(main())
