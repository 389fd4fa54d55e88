"""cProfile of the local stack's own Python processes, for finding where its CPU goes.

Set ``DEVSTACK_PROFILE_DIR`` (``python -m bench --only e2e --profile`` does) before the stack
starts: the moto server and every Lambda execution environment then run under ``cProfile`` (in
Python 3.12+ one profiler sees every thread) and write ``<kind>-<pid>.prof`` there when they stop;
``write_summary`` merges them per kind into a text report (top functions by own time). DynamoDB
Local is a JVM: its CPU is only attributed as a whole (``bench.proctree``).

Off (the variable unset) nothing is imported and nothing changes.
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import time
from pathlib import Path

ENV = "DEVSTACK_PROFILE_DIR"


def directory() -> Path | None:
    value = os.environ.get(ENV)
    return Path(value) if value else None


def start() -> cProfile.Profile | None:
    """A running profiler if profiling is on (else None)."""
    if directory() is None:
        return None
    profiler = cProfile.Profile(time.process_time)  # CPU time: the waits of idle threads cost nothing
    profiler.enable()
    return profiler


def dump(profiler: cProfile.Profile | None, kind: str) -> None:
    where = directory()
    if profiler is None or where is None:
        return
    profiler.disable()
    where.mkdir(parents=True, exist_ok=True)
    profiler.dump_stats(str(where / f"{kind}-{os.getpid()}.prof"))


def write_summary(where: Path, out: Path, top: int = 40) -> None:
    """One section per kind of process: the ``top`` functions by own time, all its processes merged."""
    kinds: dict[str, list[str]] = {}
    for path in sorted(where.glob("*.prof")):
        kinds.setdefault(path.name.rsplit("-", 1)[0], []).append(str(path))
    text = io.StringIO()
    for kind, paths in sorted(kinds.items()):
        stats: pstats.Stats | None = None
        for name in paths:
            try:  # an environment that was never invoked wrote an empty profile
                stats = pstats.Stats(name, stream=text) if stats is None else stats.add(name)
            except TypeError:
                continue
        if stats is None:
            continue
        text.write(f"==== {kind} ({len(paths)} process(es)) ====\n")
        stats.strip_dirs().sort_stats("tottime").print_stats(top)
    out.write_text(text.getvalue())
