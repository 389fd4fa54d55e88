"""CPU time of this process and its descendants, by kind, from ``/proc`` (Linux; empty elsewhere).

On a machine with few cores the local stack's latency at many followers is bounded by how much
CPU each copy costs across *all* its processes (the executor's Lambda workers, DynamoDB Local's
JVM, moto, this process's pollers and HTTP front). ``snapshot()`` before and after a phase tells
where that CPU went.
"""

from __future__ import annotations

import os
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds) of a process, or None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()  # after "pid (comm) "
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICKS


def _kind(pid: int, root: int) -> str:
    if pid == root:
        return "bench process (HTTP front, mapping pollers, floor pollers)"
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "other"
    if "java" in command and "DynamoDBLocal" in command:
        return "DynamoDB Local (JVM)"
    if "motoserver" in command:
        return "moto (SNS, SQS)"
    if "_worker.py" in command:
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            return "Lambda workers"
        for entry in environ:
            if entry.startswith(b"AWS_LAMBDA_FUNCTION_NAME="):
                name = entry.split(b"=", 1)[1].decode()
                for function in ("Ingest", "Executor", "Admin"):
                    if function.lower() in name.lower():
                        return f"{function} function workers"
        return "Lambda workers"
    return "other"


def snapshot(root: int | None = None) -> dict[str, float]:
    """CPU seconds so far per kind of process, over ``root`` (default: this process) and descendants."""
    root = os.getpid() if root is None else root
    proc = Path("/proc")
    if not proc.is_dir():
        return {}
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        stat = _stat(int(entry.name))
        if stat is not None:
            parents[int(entry.name)], cpu[int(entry.name)] = stat
    children: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    totals: dict[str, float] = {}
    todo = [root]
    while todo:
        pid = todo.pop()
        if pid in cpu:
            kind = _kind(pid, root)
            totals[kind] = totals.get(kind, 0.0) + cpu[pid]
        todo.extend(children.get(pid, []))
    return totals


def settle(max_seconds: float = 60.0, idle_cores: float = 0.15, window: float = 1.0) -> float:
    """Waits until this process tree uses less than ``idle_cores`` of CPU over ``window`` seconds
    (e.g. the local stack has finished starting its execution environments in the background).
    Returns the seconds waited."""
    import time

    started = time.monotonic()
    before = sum(snapshot().values())
    while time.monotonic() - started < max_seconds:
        time.sleep(window)
        after = sum(snapshot().values())
        if after - before < idle_cores * window:
            break
        before = after
    return time.monotonic() - started


def difference(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    return {kind: after[kind] - before.get(kind, 0.0) for kind in after}
