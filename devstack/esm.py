"""Lambda event source mappings for SQS, emulated: the pollers the Lambda service runs.

For every enabled mapping whose source is an SQS queue (discovered through the Lambda API --
``ListEventSourceMappings`` at once when moto reports a create, update or delete, and every
``interval`` s in case a report was missed), one poller thread:

* long-polls ``ReceiveMessage`` (MaxNumberOfMessages = the mapping's BatchSize, all system and
  message attributes; the queue's own visibility timeout, as Lambda does), honouring
  MaximumBatchingWindowInSeconds;
* builds the event Lambda builds (``Records`` with messageId, receiptHandle, body, attributes
  (ApproximateReceiveCount, SentTimestamp, SenderId, ApproximateFirstReceiveTimestamp,
  SequenceNumber, MessageGroupId, MessageDeduplicationId), messageAttributes in Lambda's
  lower-camel shape, md5OfBody, md5OfMessageAttributes, eventSource, eventSourceARN, awsRegion);
* invokes the function synchronously and deletes only what succeeded: with
  ``ReportBatchItemFailures`` every message not named in ``batchItemFailures``; a function error,
  timeout or malformed response fails the whole batch. Failed messages are left alone: they come
  back after the visibility timeout (a FIFO group stays blocked meanwhile), and the queue's redrive
  policy moves them to the DLQ after maxReceiveCount receives (moto does that on receive).

One poller per mapping is what Lambda does for a FIFO queue whose messages share one
MessageGroupId (one per follower queue here): SQS never hands out a group's next message while one
is in flight, so at most one batch per queue is ever being processed, whatever ScalingConfig says.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from devstack.runtime import InvokeResult
from devstack.samples import sqs_record


@dataclass
class Mapping:
    uuid: str
    queue_arn: str
    function_arn: str
    batch_size: int
    report_failures: bool
    window_s: float
    max_concurrency: int | None

    @property
    def queue_name(self) -> str:
        return self.queue_arn.rsplit(":", 1)[1]


@dataclass
class BatchReport:
    mapping: Mapping
    function: str
    records: list[dict[str, Any]]
    failed_ids: list[str]
    deleted: int
    result: InvokeResult
    received_at: float
    done_at: float
    notes: list[str] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)  # the queue's tags (copier:account, ...)


def failed_message_ids(result: InvokeResult, batch_ids: list[str], report_failures: bool) -> list[str]:
    """Which messages of the batch failed, by Lambda's rules for SQS event source mappings."""
    if result.error is not None:
        return list(batch_ids)
    if not report_failures:
        return []
    payload = result.payload
    if payload is None:
        return []
    if not isinstance(payload, dict):
        return list(batch_ids)
    failures = payload.get("batchItemFailures")
    if not failures:
        return []
    if not isinstance(failures, list):
        return list(batch_ids)
    wanted: list[str] = []
    for item in failures:
        ident = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(ident, str) or not ident or ident not in batch_ids:
            return list(batch_ids)  # empty, null or unknown identifier: the whole batch failed
        wanted.append(ident)
    return [i for i in batch_ids if i in set(wanted)]


class QueuePoller:
    def __init__(self, manager: EventSourceMappings, mapping: Mapping, function: str) -> None:
        self.m = manager
        self.mapping = mapping
        self.function = function
        self._stop = threading.Event()
        self._url: str | None = None
        self.tags: dict[str, str] = {}
        self.thread = threading.Thread(target=self._run, name=f"esm-{mapping.queue_name}", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _queue_url(self) -> str:
        if self._url is None:
            parts = self.mapping.queue_arn.split(":")
            self._url = self.m.sqs.get_queue_url(QueueName=parts[5], QueueOwnerAWSAccountId=parts[4])[
                "QueueUrl"
            ]
            try:
                self.tags = dict(self.m.sqs.list_queue_tags(QueueUrl=self._url).get("Tags") or {})
            except Exception:
                self.tags = {}
        return self._url

    def _receive(self, url: str, max_count: int, wait: int) -> list[dict[str, Any]]:
        resp = self.m.sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=max_count,
            WaitTimeSeconds=wait,
            AttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages: list[dict[str, Any]] = resp.get("Messages", [])
        return messages

    def _run(self) -> None:
        mp = self.mapping
        while not self._stop.is_set() and not self.m.stopped.is_set():
            try:
                url = self._queue_url()
                messages = self._receive(url, min(mp.batch_size, 10), self.m.wait_seconds)
                if not messages:
                    continue
                received_at = time.time()
                if mp.window_s > 0:
                    deadline = time.monotonic() + mp.window_s
                    while len(messages) < mp.batch_size and time.monotonic() < deadline:
                        more = self._receive(url, min(10, mp.batch_size - len(messages)), 0)
                        if not more:
                            time.sleep(0.02)
                        messages.extend(more)
                self._deliver(url, messages, received_at)
            except Exception as exc:
                if self._stop.is_set() or self.m.stopped.is_set():
                    return
                code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
                if "NonExistentQueue" in code or "QueueDoesNotExist" in code:
                    self._url = None  # queue deleted (mapping about to go too) or not created yet
                else:
                    self.m.log(f"[esm] {mp.queue_name}: poll error {type(exc).__name__}: {exc}")
                self._stop.wait(0.5)

    def _deliver(self, url: str, messages: list[dict[str, Any]], received_at: float) -> None:
        mp = self.mapping
        records = [sqs_record(msg, mp.queue_arn, self.m.region) for msg in messages]
        result = self.m.invoke(self.function, {"Records": records})
        ids = [r["messageId"] for r in records]
        failed = failed_message_ids(result, ids, mp.report_failures)
        to_delete = [r for r in records if r["messageId"] not in set(failed)]
        deleted = 0
        notes: list[str] = []
        for start in range(0, len(to_delete), 10):
            chunk = to_delete[start : start + 10]
            resp = self.m.sqs.delete_message_batch(
                QueueUrl=url,
                Entries=[{"Id": str(i), "ReceiptHandle": r["receiptHandle"]} for i, r in enumerate(chunk)],
            )
            deleted += len(resp.get("Successful", []))
            for err in resp.get("Failed", []):
                notes.append(f"delete failed: {err.get('Code')}")
        if self.m.on_batch is not None:
            self.m.on_batch(
                BatchReport(
                    mp,
                    self.function,
                    records,
                    failed,
                    deleted,
                    result,
                    received_at,
                    time.time(),
                    notes,
                    self.tags,
                )
            )


class EventSourceMappings:
    """Keeps one ``QueuePoller`` per enabled SQS event source mapping of the Lambda API."""

    def __init__(
        self,
        *,
        lambda_client: Any,
        sqs_client: Any,
        invoke: Callable[[str, dict[str, Any]], InvokeResult],
        function_for_arn: Callable[[str], str | None],
        region: str,
        on_batch: Callable[[BatchReport], None] | None = None,
        log: Callable[[str], None] = print,
        interval: float = 5.0,  # a fallback: moto reports every change (listing each 0.2 s cost CPU)
        wait_seconds: int = 2,
    ) -> None:
        self.lam = lambda_client
        self.sqs = sqs_client
        self.invoke = invoke
        self.function_for_arn = function_for_arn
        self.region = region
        self.on_batch = on_batch
        self.log = log
        self.interval = interval
        self.wait_seconds = wait_seconds
        self.pollers: dict[str, QueuePoller] = {}
        self.stopped = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._warned: set[str] = set()

    def notify(self) -> None:
        """Reconcile now (called when a mapping was created, updated or deleted)."""
        self._wake.set()

    def start(self) -> None:
        self.reconcile()
        self._thread = threading.Thread(target=self._loop, name="esm-reconcile", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.stopped.set()
        self._wake.set()
        for p in list(self.pollers.values()):
            p.stop()
        if self._thread is not None:
            self._thread.join(timeout=5)
        for p in list(self.pollers.values()):
            p.thread.join(timeout=self.wait_seconds + 3)
        self.pollers.clear()

    def _loop(self) -> None:
        while not self.stopped.is_set():
            self._wake.wait(self.interval)
            self._wake.clear()
            if self.stopped.is_set():
                return
            try:
                self.reconcile()
            except Exception as exc:
                if not self.stopped.is_set():
                    self.log(f"[esm] ListEventSourceMappings failed: {exc}")

    def _list(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {}
        while True:
            resp = self.lam.list_event_source_mappings(**kwargs)
            out.extend(resp.get("EventSourceMappings", []))
            marker = resp.get("NextMarker")
            if not marker:
                return out
            kwargs["Marker"] = marker

    def reconcile(self) -> None:
        wanted: dict[str, Mapping] = {}
        for esm in self._list():
            arn = esm.get("EventSourceArn", "")
            if not arn.startswith("arn:aws:sqs:") or esm.get("State") not in (
                "Enabled",
                "Creating",
                "Updating",
            ):
                continue
            wanted[esm["UUID"]] = Mapping(
                uuid=esm["UUID"],
                queue_arn=arn,
                function_arn=esm["FunctionArn"],
                batch_size=int(esm.get("BatchSize") or 10),
                report_failures="ReportBatchItemFailures" in (esm.get("FunctionResponseTypes") or []),
                window_s=float(esm.get("MaximumBatchingWindowInSeconds") or 0),
                max_concurrency=(esm.get("ScalingConfig") or {}).get("MaximumConcurrency"),
            )
        for uuid in [u for u in self.pollers if u not in wanted or wanted[u] != self.pollers[u].mapping]:
            poller = self.pollers.pop(uuid)
            poller.stop()
            self.log(f"[esm] stopped  {poller.mapping.queue_name} (mapping {uuid[:8]} deleted or changed)")
        for uuid, mp in wanted.items():
            if uuid in self.pollers:
                continue
            function = self.function_for_arn(mp.function_arn)
            if function is None:
                if uuid not in self._warned:
                    self._warned.add(uuid)
                    self.log(
                        f"[esm] mapping {uuid[:8]} targets {mp.function_arn}, not a function of this stack"
                    )
                continue
            poller = QueuePoller(self, mp, function)
            self.pollers[uuid] = poller
            poller.start()
            self.log(
                f"[esm] polling  {mp.queue_name} -> {function} (batch {mp.batch_size}, "
                f"{'ReportBatchItemFailures' if mp.report_failures else 'whole-batch'}, "
                f"max concurrency {mp.max_concurrency or '-'})"
            )
