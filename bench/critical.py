"""Sequential AWS calls on the copy's critical path, from the order of the calls ``bench.awscalls``
logged per handler invocation (issue 19's first goal: leader POST → broker call, warm).

Each invocation's calls are labels ``service.Operation`` (DynamoDB ones followed by the table kind,
``dynamodb.BatchGetItem copier``). The handlers make their calls one after the other (no threads),
so every call before a point in the sequence is a round trip the copy waits for:

- ingest: the calls up to and including ``sns.Publish`` (what follows the publish — the leader
  position write — runs while SNS delivers, off the copy's path);
- executor: the calls before the broker's first (the paper broker's first call to its own table;
  a copy that never reaches a broker has none, and all its calls count);
- after the broker call: the copier-table writes that follow it (the issue's "DynamoDB writes per
  copy after the broker call", goal 1: the copy record carrying its link).

The figures are means over the counted (warm: after the warm-up) invocations.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

PUBLISH = "sns.Publish"
BROKER_SUFFIX = " paper"
COPIER_WRITES = tuple(
    f"dynamodb.{op} copier"
    for op in ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")
)


def _first(sequence: Sequence[str], found: Any) -> int | None:
    return next((i for i, label in enumerate(sequence) if found(label)), None)


def ingest_calls_to_publish(sequence: Sequence[str]) -> int:
    at = _first(sequence, lambda label: label == PUBLISH)
    return len(sequence) if at is None else at + 1


def executor_calls_before_broker(sequence: Sequence[str]) -> int:
    at = _first(sequence, lambda label: label.endswith(BROKER_SUFFIX))
    return len(sequence) if at is None else at


def copier_writes_after_broker(sequence: Sequence[str]) -> int:
    at = _first(sequence, lambda label: label.endswith(BROKER_SUFFIX))
    return 0 if at is None else sum(label in COPIER_WRITES for label in sequence[at:])


def _mean(values: list[int]) -> float | None:
    return round(sum(values) / len(values), 3) if values else None


def critical_path(
    ingest: Sequence[Sequence[str]], executor: Sequence[Sequence[str]], copies: int
) -> dict[str, Any]:
    """``ingest`` / ``executor``: each counted invocation's call labels; ``copies``: the copies
    those executor invocations handled (the writes after the broker are per copy)."""
    before_publish = _mean([ingest_calls_to_publish(s) for s in ingest])
    before_broker = _mean([executor_calls_before_broker(s) for s in executor])
    writes_after = sum(copier_writes_after_broker(s) for s in executor)
    return {
        "ingest_calls_to_publish": before_publish,
        "executor_calls_before_broker": before_broker,
        "sequential_calls": None
        if before_publish is None or before_broker is None
        else round(before_publish + before_broker, 3),
        "copier_writes_after_broker_per_copy": round(writes_after / copies, 3) if copies else None,
        "example": {
            "ingest": list(ingest[0] if ingest else []),
            "executor": list(executor[0] if executor else []),
        },
    }
