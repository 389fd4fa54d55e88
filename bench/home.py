"""Home mode's start time: the local stack started on a data folder that holds ``groups`` x
``followers`` to restore (every topic, queue, subscription and mapping re-created from the table).

A data folder is seeded once through the HTTP API (a stack in home mode, paper followers), stopped,
then the stack is started ``repeats`` times on it as ``make dev`` does (``python -m devstack`` as a
child process, in-process timings reported back): ``ready_s`` is from launch to GET /health = 200,
``restore_s`` the re-provisioning step alone. The same start on an empty folder is the baseline.
"""

from __future__ import annotations

import json
import os
import tempfile
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.stats import median, summary

Log = Callable[[str], None]


def _post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"content-type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=120) as resp:
        result: dict[str, Any] = json.loads(resp.read())
        return result


def _start(data_dir: Path) -> Any:
    from devstack.stack import LocalStack

    stack = LocalStack(
        port=0,
        mode="subprocess",
        data_dir=data_dir,
        subprocess_output=open(os.devnull, "wb"),  # noqa: SIM115 - the child's output, discarded
        ready_timeout=300,
    )
    return stack.start()


def _seed(data_dir: Path, groups: int, followers: int, log: Log) -> None:
    stack = _start(data_dir)
    try:
        for g in range(groups):
            leader = {"account_id": f"BENCH-L{g}", "broker": "paper"}
            group_id = _post(stack.api_url + "/groups", {"name": f"bench {g}", "leader": leader})["group_id"]
            for f in range(followers):
                body = {"account_id": f"BENCH-F{g}-{f}", "broker": "paper"}
                _post(f"{stack.api_url}/groups/{group_id}/followers", body)
            log(f"[bench] home: seeded group {g + 1}/{groups}")
    finally:
        stack.stop()


def _starts(data_dir: Path, repeats: int) -> tuple[list[float], list[float], dict[str, int] | None]:
    ready: list[float] = []
    restore: list[float] = []
    restored = None
    for _ in range(repeats):
        stack = _start(data_dir)
        try:
            ready.append(float(stack.ready_seconds))
            restore.append(
                float(stack.timings.get("restore", 0.0)) - float(stack.timings.get("pollers", 0.0))
            )
            restored = stack.restored
        finally:
            stack.stop()
    return ready, restore, restored


def run(groups: int, followers: int, repeats: int, log: Log) -> dict[str, Any]:
    os.environ.setdefault("TRADECOPIER_KEY_FILE", str(Path(tempfile.gettempdir()) / "bench-home.key"))
    with tempfile.TemporaryDirectory(prefix="bench-home-") as tmp:
        empty_ready, _, _ = _starts(Path(tmp) / "empty", repeats)
        log(f"[bench] home: seeding {groups} groups x {followers} followers")
        seeded = Path(tmp) / "seeded"
        _seed(seeded, groups, followers, log)
        ready, restore, restored = _starts(seeded, repeats)
    return {
        "home_start_s": {
            "groups": groups,
            "followers_per_group": followers,
            "restored": restored,
            "repeats": repeats,
            "ready_s": summary(ready),
            "restore_step_s": summary(restore),
            # the restore step over the followers it re-created (p50): what one more follower costs
            "restore_per_follower_ms": round(1000 * median(restore) / max(1, groups * followers), 1),
            "empty_folder_ready_s": summary(empty_ready),
        }
    }


def markdown(results: dict[str, Any]) -> str:
    home = results.get("home_start_s")
    if not home:
        return ""
    return (
        "\n## Home mode: start time with state to restore\n\n"
        f"{home['groups']} groups x {home['followers_per_group']} followers (restored: {home['restored']}), "
        f"{home['repeats']} start(s): ready p50 {home['ready_s']['p50']:.1f} s (re-provisioning step "
        f"{home['restore_step_s']['p50']:.1f} s, "
        f"{home.get('restore_per_follower_ms', 0):.0f} ms per follower); an empty data folder: "
        f"{home['empty_folder_ready_s']['p50']:.1f} s.\n"
    )
