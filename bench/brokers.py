"""Bench part ``brokers``: the executor's own CPU and wall time per copy with the followers on each
fake real broker (``bench.fakebroker``, a process of its own), next to paper — the in-process
overhead run (``bench.overhead --broker``) once per broker, at the overhead part's size.

Own CPU includes the adapter's HTTP client (urllib3) and JSON work; not the fake's. Wall time is
the executor invocation per copy against a local fake (no network latency: a floor, not a forecast).
Left out of ``--quick`` unless asked for by name (``--only brokers``): the smoke test stays fast.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

BROKERS = ("paper", "projectx", "tradovate")


def run(measure: Callable[[str], dict[str, Any]], paper: dict[str, Any] | None) -> dict[str, Any]:
    """``measure(broker)`` is one overhead run; ``paper`` the overhead part's own, when it ran."""
    rows: dict[str, Any] = {}
    for broker in BROKERS:
        detail = paper if broker == "paper" and paper is not None else measure(broker)
        per_copy = detail["executor_per_copy"]
        rows[broker] = {
            "executor_own_cpu_ms_per_copy": per_copy["own_cpu_ms"],
            "executor_wall_ms_per_copy": per_copy["wall_ms"],
            "aws_calls_per_copy": detail["aws_calls_per_copy"],
            "copies": sum(detail["copy_statuses"].values()),
            "placed": detail["copy_statuses"].get("placed", 0),
            "followers": detail["followers"],
        }
    return rows


def markdown(results: dict[str, Any]) -> str:
    rows = results.get("brokers")
    if not rows:
        return ""
    lines = [
        "",
        "## Executor per copy, by follower broker (fakes in their own process)",
        "",
        "| broker | own CPU p50 / p99 ms | wall p50 / p99 ms | AWS calls per copy | copies placed |",
        "|---|---|---|---|---|",
    ]
    for broker, row in rows.items():
        cpu, wall = row["executor_own_cpu_ms_per_copy"], row["executor_wall_ms_per_copy"]
        calls = sum(row["aws_calls_per_copy"].values())
        lines.append(
            f"| {broker} | {cpu['p50']:.2f} / {cpu['p99']:.2f} | {wall['p50']:.1f} / {wall['p99']:.1f} "
            f"| {calls:g} | {row['placed']}/{row['copies']} |"
        )
    return "\n".join(lines) + "\n"
