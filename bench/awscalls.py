"""Every AWS API call the handlers make, counted with botocore's own event hooks (not estimated).

``CallLog.install(session)`` registers, on a botocore session's event system *before* any client is
created from it (clients copy the emitter when they are built):

- ``before-parameter-build``: counts ``service.Operation`` under the current *scope* (``ingest``,
  ``executor``; calls outside a scope, e.g. the harness's own, are not counted), attributes
  DynamoDB requests to a table (copier / paper) and counts the items written, and asks DynamoDB for
  ``ReturnConsumedCapacity=INDEXES`` so the capacity units come from the engine, item sizes included;
- ``after-call``: adds up the ``ConsumedCapacity`` DynamoDB returned, per table, read vs write.

``install_timers()`` wraps botocore's ``Endpoint._send`` (the HTTP round trip: urllib3 and the
socket) and ``BaseClient._make_api_call`` (the whole client call: validation, serialisation,
signing, the round trip, parsing) with ``time.process_time`` counters, so that CPU spent in the
transport can be subtracted from a handler's CPU time: what is left is our code (plus botocore's
client-side work, reported separately).
"""

from __future__ import annotations

import math
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import botocore.client
import botocore.endpoint

_DDB_WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
INDEX_KEY = "gsi1pk"  # the copier table's one GSI (template.yaml, INCLUDE projection)
_DDB_READS = {"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"}


@dataclass
class Timers:
    """Process CPU seconds spent inside botocore (whole client calls / the HTTP send alone), and
    inside the paper broker's store minus its HTTP sends (``install_paper_store_timer``)."""

    client_cpu: float = 0.0
    send_cpu: float = 0.0
    send_wall: float = 0.0
    depth: int = 0
    paper_store_cpu: float = 0.0
    paper_depth: int = 0


TIMERS = Timers()
_installed_timers = False


def install_timers() -> Timers:
    """Wraps botocore's client call and HTTP send with CPU-time counters (idempotent)."""
    global _installed_timers
    if _installed_timers:
        return TIMERS
    original_send: Callable[..., Any] = getattr(botocore.endpoint.Endpoint, "_send")  # noqa: B009
    original_call: Callable[..., Any] = getattr(botocore.client.BaseClient, "_make_api_call")  # noqa: B009

    def timed_send(self: Any, request: Any) -> Any:
        cpu, wall = time.process_time(), time.perf_counter()
        try:
            return original_send(self, request)
        finally:
            TIMERS.send_cpu += time.process_time() - cpu
            TIMERS.send_wall += time.perf_counter() - wall

    def timed_call(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        TIMERS.depth += 1
        cpu = time.process_time()
        try:
            return original_call(self, operation_name, api_params)
        finally:
            TIMERS.depth -= 1
            if TIMERS.depth == 0:
                TIMERS.client_cpu += time.process_time() - cpu

    setattr(botocore.endpoint.Endpoint, "_send", timed_send)  # noqa: B010 - a measurement patch
    setattr(botocore.client.BaseClient, "_make_api_call", timed_call)  # noqa: B010
    _installed_timers = True
    return TIMERS


def install_paper_store_timer(target: type | None = None) -> Timers:
    """Wraps every method of the paper broker's ``PaperStore`` (its DynamoDB calls: building the
    request, botocore, parsing the items) with a CPU counter that leaves out the HTTP send, which
    ``own_cpu`` already leaves out: what a copy costs without the paper broker's own table is then
    ``own_cpu - paper_store_cpu``. Generator methods are left alone: they run inside the methods
    that consume them. ``target``: the class to wrap them on (``PaperStore`` itself unless a test
    gives a subclass); idempotent per class."""
    import inspect

    from tradecopier.brokers.paper.store import PaperStore

    cls = target or PaperStore
    if vars(cls).get("_bench_timed"):
        return TIMERS

    def timed(method: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            TIMERS.paper_depth += 1
            cpu, send = time.process_time(), TIMERS.send_cpu
            try:
                return method(*args, **kwargs)
            finally:
                TIMERS.paper_depth -= 1
                if TIMERS.paper_depth == 0:
                    TIMERS.paper_store_cpu += (time.process_time() - cpu) - (TIMERS.send_cpu - send)

        return wrapper

    for name, value in list(vars(PaperStore).items()):
        if inspect.isfunction(value) and not name.startswith("__") and not inspect.isgeneratorfunction(value):
            setattr(cls, name, timed(value))
    setattr(cls, "_bench_timed", True)  # noqa: B010 - a measurement patch
    return TIMERS


@dataclass
class ScopeCounts:
    calls: Counter[str] = field(default_factory=Counter)
    # DynamoDB, per table kind ("copier", "paper", "other")
    write_items: Counter[str] = field(default_factory=Counter)
    read_requests: Counter[str] = field(default_factory=Counter)
    wru: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    rru: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    condition_checks: Counter[str] = field(default_factory=Counter)
    sns_message_bytes: list[int] = field(default_factory=list)
    # capacity units per "Operation table-kind" (what each call cost, as the engine reported it)
    units_by_call: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    # per scoped block (one handler invocation): its calls in order, "service.Operation[ kind]"
    sequences: list[list[str]] = field(default_factory=list)


class CallLog:
    """Counts AWS calls per scope. One instance per process; install it once."""

    def __init__(self, copier_table: str, paper_table: str) -> None:
        self.tables = {copier_table: "copier", paper_table: "paper"}
        self.scope: str | None = None
        self.scopes: dict[str, ScopeCounts] = {}

    def install(self, events: Any) -> None:
        """``events``: a botocore session (``tradecopier.aws.session()``) or its event emitter."""
        events.register("before-parameter-build", self._before_params)
        events.register("after-call", self._after_call)

    @contextmanager
    def scoped(self, name: str | None) -> Iterator[None]:
        """Counts the calls made inside under ``name``; ``None``: counts nothing (hooks idle)."""
        previous, self.scope = self.scope, name
        if name is not None:
            self.counts(name).sequences.append([])
        try:
            yield
        finally:
            self.scope = previous

    def counts(self, name: str) -> ScopeCounts:
        return self.scopes.setdefault(name, ScopeCounts())

    def _kind(self, table: str) -> str:
        return self.tables.get(table, "other")

    def _before_params(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        if self.scope is None:
            return
        counts = self.counts(self.scope)
        service = model.service_model.service_name
        operation = model.name
        counts.calls[f"{service}.{operation}"] += 1
        label = f"{service}.{operation}"
        if service == "dynamodb":
            label += f" {self._kind(_table_of(params))}"
        if counts.sequences:
            counts.sequences[-1].append(label)
        if service == "sns" and operation == "Publish":
            counts.sns_message_bytes.append(len(str(params.get("Message", "")).encode()))
        if service != "dynamodb":
            return
        if "ReturnConsumedCapacity" in model.input_shape.members:
            params.setdefault("ReturnConsumedCapacity", "INDEXES")
        if operation in _DDB_WRITES:
            self._count_writes(counts, operation, params, context)
        elif operation in _DDB_READS:
            self._count_reads(counts, operation, params, context)

    def _count_writes(
        self, counts: ScopeCounts, operation: str, params: dict[str, Any], context: dict[str, Any]
    ) -> None:
        if operation in ("PutItem", "UpdateItem", "DeleteItem"):
            counts.write_items[self._kind(params["TableName"])] += 1
        elif operation == "BatchWriteItem":
            for table, requests in params["RequestItems"].items():
                counts.write_items[self._kind(table)] += len(requests)
        elif operation == "TransactWriteItems":
            context["bench_units"] = self._count_transact_writes(counts, params["TransactItems"])

    def _count_transact_writes(
        self, counts: ScopeCounts, actions: list[dict[str, Any]]
    ) -> defaultdict[str, float]:
        """DynamoDB Local under-reports transactions; AWS bills 2 WRU per KB per item, so the units
        are computed here (an Update/Delete/ConditionCheck target counted as <= 1 KB), plus the
        copier index's entry of a Put that has one (``gsi1``: keys and two ids, < 1 KB), at the
        standard rate (the index is updated outside the transaction): 1 WRU."""
        units: defaultdict[str, float] = defaultdict(float)
        for action in actions:
            for verb, body in action.items():
                kind = self._kind(body["TableName"])
                if verb == "ConditionCheck":
                    counts.condition_checks[kind] += 1
                else:
                    counts.write_items[kind] += 1
                size = dynamodb_item_bytes(body["Item"]) if verb == "Put" else 1
                units[kind] += 2 * max(1, math.ceil(size / 1024))
                if verb == "Put" and INDEX_KEY in body["Item"]:
                    units[kind] += 1
        return units

    def _count_reads(
        self, counts: ScopeCounts, operation: str, params: dict[str, Any], context: dict[str, Any]
    ) -> None:
        if operation in ("GetItem", "Query", "Scan"):
            counts.read_requests[self._kind(params["TableName"])] += 1
        elif operation == "BatchGetItem":
            # A key that finds no item still costs the minimum read (DynamoDB Local charges nothing).
            wanted: dict[str, tuple[int, float]] = {}
            for table, request in params["RequestItems"].items():
                counts.read_requests[self._kind(table)] += len(request["Keys"])
                wanted[table] = (len(request["Keys"]), 1.0 if request.get("ConsistentRead") else 0.5)
            context["bench_batch_get"] = wanted
        elif operation == "TransactGetItems":
            for action in params["TransactItems"]:
                counts.read_requests[self._kind(action["Get"]["TableName"])] += 1

    def _after_call(self, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        if self.scope is None or model.service_model.service_name != "dynamodb":
            return
        counts = self.counts(self.scope)
        target = counts.wru if model.name in _DDB_WRITES else counts.rru
        units: defaultdict[str, float] = context.get("bench_units") or defaultdict(float)
        if not units:
            consumed = parsed.get("ConsumedCapacity")
            entries = consumed if isinstance(consumed, list) else [consumed] if consumed else []
            for entry in entries:
                units[self._kind(entry.get("TableName", ""))] += float(entry.get("CapacityUnits", 0.0))
        for table, (requested, minimum) in (context.get("bench_batch_get") or {}).items():
            found = len(parsed.get("Responses", {}).get(table, []))
            units[self._kind(table)] += max(0, requested - found) * minimum
        for kind, value in units.items():
            target[kind] += value
            counts.units_by_call[f"{model.name} {kind}"] += value


def _table_of(params: dict[str, Any]) -> str:
    """The (first) table a DynamoDB request names: ``TableName``, ``RequestItems`` or ``TransactItems``."""
    if "TableName" in params:
        return str(params["TableName"])
    for table in params.get("RequestItems", {}):
        return str(table)
    for action in params.get("TransactItems", []):
        for body in action.values():
            return str(body.get("TableName", ""))
    return ""


def dynamodb_item_bytes(item: dict[str, Any]) -> int:
    """Size of a DynamoDB item (low-level attribute values) by DynamoDB's published sizing rules:
    names + values; strings/binary by length, numbers ~ 1 byte per 2 digits + 1, maps/lists 3 bytes
    + 1 per element, booleans and nulls 1 byte."""
    return sum(len(name.encode()) + _value_bytes(value) for name, value in item.items())


def _value_bytes(value: dict[str, Any]) -> int:
    kind, inner = next(iter(value.items()))
    if kind == "S":
        return len(str(inner).encode())
    if kind == "B":
        return len(inner)
    if kind == "N":
        digits = len(str(inner).lstrip("-").replace(".", "").lstrip("0")) or 1
        return (digits + 1) // 2 + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + _value_bytes(v) + 1 for k, v in inner.items())
    if kind == "L":
        return 3 + sum(_value_bytes(v) + 1 for v in inner)
    if kind in ("SS", "NS", "BS"):
        return sum(_value_bytes({kind[0]: v}) for v in inner)
    return 0
