"""End to end on the local stack, next to the transport floor measured on the same emulator.

**e2e**: ``POST /groups/{g}/events`` on the devstack's HTTP API → ingest → SNS FIFO → one SQS FIFO
queue per follower → the devstack's event source mapping pollers → executor → paper broker → copy
record. The latency of one event is ``max over followers(copy.updated_at) − time the POST was sent``;
``updated_at`` is written by the executor when it records the placed copy, so it is the moment each
follower's copy was placed, read back from DynamoDB once per event (one GetItem, after the event
is done): polling never sets the figure. When an event is done is learnt from the devstack's
event source mapping emulation, which reports every delivered batch to an ``on_batch`` callback
(set here; the stack's own copy printing, which reads every copy back through the admin API, stays
off), confirmed by that GetItem (every copy final). Without that callback the GetItem is repeated
every 20 ms instead; the figures stay exact, only the pace slows.

**floor**: a bare SNS FIFO topic with the same number of raw-delivery SQS FIFO queue subscriptions,
on the same moto server, one poller thread per queue doing what the mapping pollers do, with their
client (``ReceiveMessage``: 10 messages, long polling, all attributes; then ``DeleteMessageBatch``) — no
handlers, no DynamoDB. Latency = the last poller's receipt − the moment ``Publish`` was called.

Events go one at a time (the next one ``gap`` after the previous one is done), floor and e2e
interleaved event by event so that both see the same machine; a few warm-up events are dropped.

**per broker** (``brokers``): after the paper rows, on the same stack, the same run with every
follower on a fake real broker (``bench.fakebroker``: fake ProjectX, fake Tradovate, each served by
a child process, NQ mapped to its front month): POST → ingest → … → executor → the adapter's HTTP
calls to the fake → the copy recorded once the fake accepted the order (``updated_at``, as for
paper). The first copies log in: they fall in the warm-up. Each broker row has its own interleaved
floor, so e2e/floor compares across rows; ``e2e_by_broker.paper`` repeats the paper rows at the
same follower counts.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.stats import summary

Log = Callable[[str], None]


@dataclass
class PerN:
    e2e_ms: list[float] = field(default_factory=list)
    floor_ms: list[float] = field(default_factory=list)
    copy_latency_ms: list[float] = field(default_factory=list)  # the executor's own figure
    statuses: dict[str, int] = field(default_factory=dict)
    timeouts: int = 0
    floor_timeouts: int = 0
    cpu_s: dict[str, float] = field(default_factory=dict)  # CPU of the whole stack, by process kind


class CopySignal:
    """Counts the batches the devstack's mapping pollers delivered, and wakes a waiter."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.batches = 0
        self.attached = False

    def attach(self, stack: Any) -> None:
        esm = getattr(stack, "_esm", None)  # devstack.esm.EventSourceMappings (on_batch: a hook)
        if esm is not None and hasattr(esm, "on_batch"):
            esm.on_batch = self.on_batch
            self.attached = True

    def on_batch(self, report: Any) -> None:
        with self._cond:
            self.batches += 1
            self._cond.notify_all()

    def wait_beyond(self, count: int, timeout: float) -> None:
        with self._cond:
            self._cond.wait_for(lambda: self.batches > count, timeout=timeout)


class Api:
    """A keep-alive HTTP/1.1 connection to the devstack's API (as a webhook sender would hold one)."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)

    def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        payload = None if body is None else json.dumps(body).encode()
        all_headers = {"content-type": "application/json", **(headers or {})}
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=payload, headers=all_headers)
                response = self.conn.getresponse()
                data = response.read()
                return response.status, json.loads(data) if data else None
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


class Floor:
    """A FIFO topic fanned out to n FIFO queues, each with a poller thread (no handlers)."""

    def __init__(self, stack: Any, n: int, wait_seconds: int) -> None:
        self.sns = stack.client("sns")
        self.sqs = stack.client("sqs")
        # The pollers' own client: the one the devstack's mapping pollers use (devstack.sqsjson).
        from devstack.sqsjson import SqsJsonClient

        self.poll_sqs: Any = SqsJsonClient(
            stack.moto_endpoint,
            stack.region,
            access_key=stack.client_env["AWS_ACCESS_KEY_ID"],
            read_timeout=wait_seconds + 20,
        )
        self.region = stack.region
        self.wait_seconds = wait_seconds
        tag = uuid.uuid4().hex[:6]
        self.topic_arn = self.sns.create_topic(
            Name=f"bench-floor-{n}-{tag}.fifo", Attributes={"FifoTopic": "true"}
        )["TopicArn"]
        self.queues: list[tuple[str, str]] = []
        for i in range(n):
            url = self.sqs.create_queue(
                QueueName=f"bench-floor-{n}-{tag}-{i}.fifo", Attributes={"FifoQueue": "true"}
            )["QueueUrl"]
            arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            self.sns.subscribe(
                TopicArn=self.topic_arn,
                Protocol="sqs",
                Endpoint=arn,
                Attributes={"RawMessageDelivery": "true"},
            )
            self.queues.append((url, arn))
        self._cond = threading.Condition()
        self._received: dict[str, list[float]] = {}
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._poll, args=q, daemon=True) for q in self.queues]
        for thread in self._threads:
            thread.start()

    def _poll(self, url: str, arn: str) -> None:
        from devstack.samples import sqs_record

        while not self._stop.is_set():
            try:
                messages = self.poll_sqs.receive_message(
                    QueueUrl=url,
                    MaxNumberOfMessages=10,
                    WaitTimeSeconds=self.wait_seconds,
                    AttributeNames=["All"],
                    MessageSystemAttributeNames=["All"],
                    MessageAttributeNames=["All"],
                ).get("Messages", [])
            except Exception:
                if self._stop.is_set():
                    return
                time.sleep(0.1)
                continue
            if not messages:
                continue
            now = time.time()
            records = [sqs_record(m, arn, self.region) for m in messages]  # what the mapping builds
            with self._cond:
                for record in records:
                    self._received.setdefault(json.loads(record["body"])["id"], []).append(now)
                self._cond.notify_all()
            self.poll_sqs.delete_message_batch(
                QueueUrl=url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
            )

    def publish(self, body: dict[str, Any], timeout: float) -> float | None:
        """Milliseconds from Publish to the last queue's receipt (None: not all received in time)."""
        message_id = body["id"]
        payload = json.dumps(body)
        t0 = time.time()
        self.sns.publish(
            TopicArn=self.topic_arn,
            Message=payload,
            MessageGroupId="bench-floor",
            MessageDeduplicationId=message_id,
            MessageAttributes={"event_id": {"DataType": "String", "StringValue": message_id}},
        )
        with self._cond:
            done = self._cond.wait_for(
                lambda: len(self._received.get(message_id, [])) >= len(self.queues), timeout=timeout
            )
            times = self._received.pop(message_id, [])
        return (max(times) - t0) * 1000 if done else None

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self.wait_seconds + 5)
        for url, _ in self.queues:
            with contextlib.suppress(Exception):
                self.sqs.delete_queue(QueueUrl=url)
        with contextlib.suppress(Exception):
            self.sns.delete_topic(TopicArn=self.topic_arn)


def _parse_time(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def run(
    followers: list[int],
    events: int,
    warmup: int = 5,
    gap_s: float = 0.02,
    timeout_s: float = 30.0,
    log: Log | None = None,
    brokers: tuple[str, ...] = (),
    broker_followers: tuple[int, ...] = (1,),
    profile_to: Path | None = None,
) -> dict[str, Any]:
    """``brokers``: the fake real brokers (``projectx``, ``tradovate``) to measure next to paper,
    at ``broker_followers`` followers each (``e2e_by_broker``). ``profile_to``: also cProfile every
    Python process of the stack (``devstack.profiling``) and write their top functions, per kind of
    process, to that file."""
    if profile_to is None:
        return _run(followers, events, warmup, gap_s, timeout_s, log, brokers, broker_followers)
    import os
    import tempfile

    from devstack import profiling

    with tempfile.TemporaryDirectory(prefix="bench-e2e-profile-") as where:
        os.environ[profiling.ENV] = where
        try:
            profiler = profiling.start()
            out = _run(followers, events, warmup, gap_s, timeout_s, log, brokers, broker_followers)
            profiling.dump(profiler, "bench-process")
        finally:
            del os.environ[profiling.ENV]
        profiling.write_summary(Path(where), profile_to)
    return out


def _run(
    followers: list[int],
    events: int,
    warmup: int,
    gap_s: float,
    timeout_s: float,
    log: Log | None,
    brokers: tuple[str, ...],
    broker_followers: tuple[int, ...],
) -> dict[str, Any]:
    from devstack.stack import LocalStack

    say: Log = log or (lambda line: print(line, file=sys.stderr, flush=True))
    signal = CopySignal()
    started = time.monotonic()

    def stack_out(line: str) -> None:
        if not line.startswith(("[http]", "[esm] polling", "[esm] stopped")):
            say(line)

    stack = LocalStack(port=0, print_requests=False, print_copies=False, out=stack_out, keep_logs=False)
    with stack:
        signal.attach(stack)
        from bench import proctree

        # The stack starts its other execution environments in the background: let that finish.
        waited = proctree.settle()
        say(
            f"[bench] local stack ready in {time.monotonic() - started:.1f} s ({stack.api_url}, "
            f"settled for {waited:.1f} s); "
            f"batch hook {'attached' if signal.attached else 'not found: polling DynamoDB every 20 ms'}"
        )
        api = Api(stack.api_url)
        ddb = stack.client("dynamodb")
        table = stack.tables["CopierTable"]
        results: dict[int, PerN] = {}
        for n in followers:
            results[n] = _run_n(stack, api, ddb, table, signal, n, events, warmup, gap_s, timeout_s, say)
        by_broker: dict[str, dict[int, PerN]] = {}
        for broker in brokers:
            from bench.fakebroker import fake_broker

            with fake_broker(broker) as fake:
                by_broker[broker] = {
                    n: _run_n(stack, api, ddb, table, signal, n, events, warmup, gap_s, timeout_s, say, fake)
                    for n in broker_followers
                }
    out = _summaries(results)
    if brokers:
        paper = {n: results[n] for n in broker_followers if n in results}
        out["e2e_by_broker"] = {
            broker: {f"n{n}": _broker_row(per) for n, per in rows.items()}
            for broker, rows in {"paper": paper, **by_broker}.items()
        }
    out["e2e_seconds"] = round(time.monotonic() - started, 1)
    return out


def _broker_row(per: PerN) -> dict[str, Any]:
    e2e, floor = summary(per.e2e_ms), summary(per.floor_ms)
    return {
        "e2e_ms": e2e,
        "floor_ms": floor,
        "e2e_over_floor": {q: round(e2e[q] / floor[q], 2) if floor[q] else None for q in e2e},
        "events": len(per.e2e_ms),
        "timeouts": per.timeouts,
        "copy_statuses": per.statuses,
        "executor_copy_latency_ms": summary(per.copy_latency_ms),
    }


def _summaries(results: dict[int, PerN]) -> dict[str, Any]:
    out: dict[str, Any] = {"e2e_ms": {}, "floor_ms": {}, "e2e_over_floor": {}, "e2e_detail": {}}
    for n, per in results.items():
        key = f"n{n}"
        e2e, floor = summary(per.e2e_ms), summary(per.floor_ms)
        out["e2e_ms"][key] = e2e
        out["floor_ms"][key] = floor
        out["e2e_over_floor"][key] = {q: round(e2e[q] / floor[q], 2) if floor[q] else None for q in e2e}
        out["e2e_detail"][key] = {
            "events": len(per.e2e_ms),
            "floor_events": len(per.floor_ms),
            "timeouts": per.timeouts,
            "floor_timeouts": per.floor_timeouts,
            "copy_statuses": per.statuses,
            "executor_copy_latency_ms": summary(per.copy_latency_ms),
            # CPU of every process of the local stack per measured event (floor events included
            # for moto and the bench process), and per copy: what 2 cores have to get through.
            "stack_cpu_ms_per_event": {
                kind: round(1000 * seconds / max(1, len(per.e2e_ms)), 1)
                for kind, seconds in sorted(per.cpu_s.items(), key=lambda item: -item[1])
            },
            "stack_cpu_ms_per_copy": round(1000 * sum(per.cpu_s.values()) / max(1, len(per.e2e_ms) * n), 1),
        }
    return out


def _run_n(
    stack: Any,
    api: Api,
    ddb: Any,
    table: str,
    signal: CopySignal,
    n: int,
    events: int,
    warmup: int,
    gap_s: float,
    timeout_s: float,
    say: Log,
    fake: dict[str, Any] | None = None,
) -> PerN:
    """``fake``: ``bench.fakebroker``'s ``{credentials, symbol}``: every follower on that broker."""
    tag = uuid.uuid4().hex[:6]
    t0 = time.monotonic()
    status, group = api.call(
        "POST", "/groups", {"name": f"bench {n}", "leader": {"account_id": f"L{n}-{tag}"}}
    )
    assert status == 201, group
    group_id, token = group["group_id"], group["webhook_token"]
    for i in range(n):
        follower: dict[str, Any] = {"account_id": f"F{n}-{tag}-{i:03d}"}
        if fake is not None:
            status, body = api.call(
                "PUT", f"/accounts/{follower['account_id']}/credentials", fake["credentials"]
            )
            assert status == 200, body
            follower.update(broker=fake["credentials"]["broker"], symbol_map={"NQ": fake["symbol"]})
        status, body = api.call("POST", f"/groups/{group_id}/followers", follower)
        assert status == 201, body
    floor = Floor(stack, n, wait_seconds=getattr(stack, "esm_wait_seconds", 2))
    on = "paper" if fake is None else fake["credentials"]["broker"]
    say(
        f"[bench] n={n} ({on}): {n} follower(s) provisioned, floor queues created: "
        f"{time.monotonic() - t0:.1f} s"
    )

    from bench import proctree

    per = PerN()
    t0 = time.monotonic()
    cpu_before: dict[str, float] = {}
    try:
        for index in range(warmup + events):
            measured = index >= warmup
            if index == warmup:
                cpu_before = proctree.snapshot()
            # floor
            floor_ms = floor.publish({"id": uuid.uuid4().hex, "pad": "x" * 200}, timeout_s)
            if floor_ms is None:
                per.floor_timeouts += 1
            elif measured:
                per.floor_ms.append(floor_ms)
            time.sleep(gap_s)
            # end to end
            event_id = f"e-{uuid.uuid4().hex[:12]}"
            result = _one_event(api, ddb, table, signal, group_id, token, event_id, index, n, timeout_s)
            if result is None:
                per.timeouts += 1
            elif measured:
                latency, copies = result
                per.e2e_ms.append(latency)
                for copy in copies:
                    status_name = copy["status"]
                    per.statuses[status_name] = per.statuses.get(status_name, 0) + 1
                    if copy.get("latency_ms") is not None:
                        per.copy_latency_ms.append(float(copy["latency_ms"]))
            time.sleep(gap_s)
        per.cpu_s = proctree.difference(proctree.snapshot(), cpu_before)
    finally:
        floor.close()
    say(
        f"[bench] n={n}: {len(per.e2e_ms)} events in {time.monotonic() - t0:.1f} s "
        f"(timeouts: e2e {per.timeouts}, floor {per.floor_timeouts})"
    )
    return per


def _one_event(
    api: Api,
    ddb: Any,
    table: str,
    signal: CopySignal,
    group_id: str,
    token: str,
    event_id: str,
    index: int,
    n: int,
    timeout_s: float,
) -> tuple[float, list[dict[str, Any]]] | None:
    from devstack.samples import alternating_market

    seen = signal.batches
    sent = time.time()
    status, body = api.call(
        "POST", f"/groups/{group_id}/events", alternating_market(event_id, index), {"X-Webhook-Token": token}
    )
    if status != 202:
        raise AssertionError(f"ingest answered {status}: {body}")
    deadline = time.monotonic() + timeout_s
    fallback = 0.5 if signal.attached else 0.02
    check_at = time.monotonic() + fallback  # re-check anyway, whatever the hook says
    while time.monotonic() < deadline:
        if signal.batches - seen >= n or time.monotonic() >= check_at:
            copies = _copies(ddb, table, group_id, event_id)
            if copies is not None and all(c["status"] != "pending" for c in copies):
                placed = [_parse_time(c["updated_at"]) for c in copies]
                return (max(placed) - sent) * 1000, copies
            check_at = time.monotonic() + fallback
        # Sleep until the n-th batch since the POST (or, that seen, the next one), or the re-check.
        target = signal.batches if signal.batches - seen >= n else seen + n - 1
        signal.wait_beyond(target, timeout=min(0.05, max(0.001, check_at - time.monotonic())))
    return None


def _copies(ddb: Any, table: str, group_id: str, event_id: str) -> list[dict[str, Any]] | None:
    """Each follower's copy of the event (``bench.copyitems``: the event item names the followers,
    a copy record each that the executor wrote; none yet is pending)."""
    from bench.copyitems import event_copy_items

    event, recorded = event_copy_items(ddb, table, group_id, event_id)
    if event is None:
        return None
    out = []
    for follower in event.get("followers", {}).get("L", []):
        fields = recorded.get(follower["S"], {"status": {"S": "pending"}})
        out.append(
            {
                "status": fields["status"]["S"],
                "updated_at": fields.get("updated_at", {}).get("S"),
                "latency_ms": fields.get("latency_ms", {}).get("N"),
            }
        )
    return out
