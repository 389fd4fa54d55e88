"""What the local stack prints: the banner once it is ready, a line per HTTP request and per function
error, a line per delivered batch, and one line per copy decision, read back through the API
(``GET /groups/{group_id}/events/{event_id}``) as a user would see it.

Every line goes through ``out`` (``print`` by default); nothing here starts or calls a service
itself: the copy log reads through the ``read`` callable the stack hands it.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from devstack.esm import BatchReport
    from devstack.runtime import InvokeResult
    from devstack.stack import LocalStack

Out = Callable[[str], None]
Read = Callable[[str], tuple[int, Any]]  # GET path -> (status, parsed JSON body or None)


def default_out(line: str) -> None:
    print(line, flush=True)


def record_event(record: dict[str, Any]) -> tuple[str, str]:
    """(event_id, type) of the leader event a record carries ("" when the body is not one)."""
    try:
        body = json.loads(record["body"])
    except (ValueError, TypeError):
        return "", ""
    if not isinstance(body, dict):
        return "", ""
    nested = body.get("event")
    event: dict[str, Any] = nested if isinstance(nested, dict) else body
    return str(event.get("event_id") or ""), str(event.get("type") or "")


def describe_batch(report: BatchReport) -> str:
    """One readable line per delivered batch."""
    r = report
    failed = len(r.failed_ids)
    events: list[str] = []
    for rec in r.records[:3]:
        event_id, event_type = record_event(rec)
        events.append(f"{event_id} {event_type}".strip() if event_id else rec["messageId"][:8])
    if len(r.records) > 3:
        events.append(f"+{len(r.records) - 3}")
    outcome = (
        f"ERROR {r.result.error.get('errorType')}: {str(r.result.error.get('errorMessage'))[:120]}"
        if r.result.error
        else f"ok, {failed} failed"
        if failed
        else "ok"
    )
    cold = f" cold {r.result.init_ms:.0f} ms" if r.result.init_ms else ""
    recv = max(int(rec["attributes"].get("ApproximateReceiveCount", "1")) for rec in r.records)
    retry = f" receive #{recv}" if recv > 1 else ""
    account = r.tags.get("copier:account")
    return (
        f"[esm] {r.mapping.queue_name}{f' ({account})' if account else ''}: {len(r.records)} record(s) "
        f"[{', '.join(events)}] -> {outcome}; "
        f"deleted {r.deleted}, left {failed}{retry} ({r.result.duration_ms:.1f} ms{cold})"
        + (f" {'; '.join(r.notes)}" if r.notes else "")
    )


def request_line(method: str, path: str, status: int, ms: float, route: Any) -> str:
    target = route.function_logical_id if route is not None else "no route"
    return f"[http] {method} {path} -> {status} ({ms:.1f} ms, {target})"


def function_error_line(function: str, result: InvokeResult) -> str | None:
    """The line for a function that failed behind the HTTP API (None when it did not)."""
    if result.error is None:
        return None
    return f"[http] {function} failed: {result.error.get('errorType')}: {result.error.get('errorMessage')}"


def copy_line(account: str, event_id: str, event_type: str, status: int, body: Any) -> str:
    """One copy decision, from the answer of GET /groups/{group_id}/events/{event_id}."""
    head = f"[copy] {account} <- {event_id} {event_type}".rstrip()
    copies = body.get("copies") if isinstance(body, dict) else None
    copy = next((c for c in copies or [] if c.get("account_id") == account), None)
    if copy is None:
        return f"{head}: (no copy record: GET event answered {status})"
    parts = [str(copy.get("status"))]
    if copy.get("qty") is not None:
        parts.append(f"qty {copy['qty']}")
    if copy.get("broker_order_id"):
        parts.append(f"({copy['broker_order_id']})")
    line = f"{head}: {' '.join(parts)}"
    for key in ("reason", "detail"):
        if copy.get(key):
            line += f" -- {copy[key]}"
    if copy.get("latency_ms") is not None:
        line += f" [{copy['latency_ms']} ms]"
    return line


class CopyLog:
    """One line per batch at once, then (from a background thread, so that the poller that
    delivered the batch is not held up) one line per copy decision."""

    def __init__(self, out: Out, read: Read, stopping: Callable[[], bool]) -> None:
        self.out = out
        self.read = read
        self.stopping = stopping
        self._decisions: queue.Queue[tuple[str, str, str, str, bool, str]] = queue.Queue()
        self._thread: threading.Thread | None = None

    def on_batch(self, report: BatchReport) -> None:
        self.out(describe_batch(report))
        account = report.tags.get("copier:account", "")
        failed = set(report.failed_ids)
        for rec in report.records:
            event_id, event_type = record_event(rec)
            try:
                group_id = str(json.loads(rec["body"]).get("group_id") or "")
            except (ValueError, AttributeError):
                group_id = ""
            if not (event_id and group_id and account):
                continue
            receive = rec["attributes"].get("ApproximateReceiveCount", "1")
            self._decisions.put(
                (group_id, event_id, event_type, account, rec["messageId"] in failed, receive)
            )
        if self._thread is None:
            self._thread = threading.Thread(target=self._print_decisions, name="devstack-copies", daemon=True)
            self._thread.start()

    def _print_decisions(self) -> None:
        while not self.stopping():
            try:
                group_id, event_id, event_type, account, failed, receive = self._decisions.get(timeout=0.5)
            except queue.Empty:
                continue
            if failed:
                head = f"[copy] {account} <- {event_id} {event_type}".rstrip()
                self.out(
                    f"{head}: not done by the executor (receive #{receive}); the message stays for a retry"
                )
                continue
            status, body = self.read(f"/groups/{quote(group_id, safe='')}/events/{quote(event_id, safe='')}")
            self.out(copy_line(account, event_id, event_type, status, body))


def summary(stack: LocalStack) -> str:
    """The banner ``python -m devstack`` prints once the stack is ready: where everything is."""

    def envs(lid: str) -> int:
        return stack.concurrency.get(lid, stack.default_concurrency) if stack.isolation == "process" else 1

    lines = [
        f"devstack ready in {stack.ready_seconds} s -- stack {stack.stack_name!r} from {stack.template}",
        "  start-up (s since start): " + ", ".join(f"{k} {v}" for k, v in stack.timings.items()),
        f"  HTTP API (payload v2)  {stack.api_url}",
        *(f"      {r}" for r in stack.routes),
        f"  DynamoDB Local         {stack.dynamodb_endpoint}",
        *(f"      {lid}: {name}" for lid, name in stack.tables.items()),
        f"  moto (SNS, SQS, Lambda API, CloudFormation, S3, IAM)  {stack.moto_endpoint}",
        "  resources (what moto's CloudFormation did with each):",
        *(f"      {lid}: {what}" for lid, what in sorted(stack.moto_report.items())),
        "  functions: " + ", ".join(f"{lid} ({envs(lid)} env, {stack.isolation})" for lid in stack.functions),
        f"  function logs: {stack.log_dir if stack.log_dir else 'this console'}",
        "  boto3 / CLI: " + " ".join(f"{k}={v}" for k, v in stack.client_env.items()),
    ]
    return "\n".join(lines)
