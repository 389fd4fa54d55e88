"""``python -m bench.cli_status``: how long ``tradecopier status`` takes on a group of N followers
(default 25) on the local stack. A measurement to report, not a timed test.

    python -m bench.cli_status                      # starts its own local stack
    python -m bench.cli_status --url http://127.0.0.1:3000 --followers 25 --repeats 10

Each follower gets one copy first (so every row has a position and a last copy). Two figures: the
whole command as a person runs it (a fresh interpreter: start-up, imports, HTTP reads, the table),
and the reads alone (``tradecopier.board.status.collect`` in this process, warm connections).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import requests

REPO_ROOT = Path(__file__).resolve().parents[1]


def _seed(url: str, followers: int) -> str:
    s = requests.Session()
    tag = uuid.uuid4().hex[:6]
    group = s.post(
        f"{url}/groups", json={"name": "bench status", "leader": {"account_id": f"BL-{tag}"}}
    ).json()
    gid, token = group["group_id"], group["webhook_token"]
    for i in range(followers):
        body = {"account_id": f"BF-{tag}-{i:02d}", "max_delay_ms": None}
        resp = s.post(f"{url}/groups/{gid}/followers", json=body, timeout=60)
        resp.raise_for_status()
    event = {
        "event_id": f"BE-{tag}",
        "type": "order.placed",
        "order_id": "BO-1",
        "symbol": "NQZ6",
        "side": "buy",
        "qty": 1,
        "order_type": "market",
        "price": 21450.25,
    }
    s.post(f"{url}/groups/{gid}/events", json=event, headers={"X-Webhook-Token": token}).raise_for_status()
    # Rows with a final copy are what a trader sees; a busy machine may leave some pending (the
    # status reads are the same either way), so the wait is bounded and the count reported.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        copies = s.get(f"{url}/groups/{gid}/events/BE-{tag}").json()["copies"]
        if all(c["status"] != "pending" for c in copies):
            break
        time.sleep(0.5)
    return str(gid)


def _summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median_ms": round(statistics.median(ordered), 1),
        "p90_ms": round(ordered[max(0, int(len(ordered) * 0.9) - 1)], 1),
        "max_ms": round(ordered[-1], 1),
    }


def measure(url: str, followers: int, repeats: int) -> dict[str, Any]:
    sys.path[:0] = [str(REPO_ROOT / "layers" / "common")]
    from tradecopier.board.api_client import ApiClient
    from tradecopier.board.status import collect

    gid = _seed(url, followers)
    env = {**os.environ, "PYTHONPATH": f"{REPO_ROOT / 'cli'}:{REPO_ROOT / 'layers' / 'common'}"}
    command = [sys.executable, "-m", "tradecopier_cli", "--url", url, "status", gid]
    whole: list[float] = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run(command, env=env, check=True, capture_output=True)
        whole.append((time.perf_counter() - t0) * 1000)
    client = ApiClient(url)
    reads: list[float] = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        data = collect(client.get, [gid])
        reads.append((time.perf_counter() - t0) * 1000)
    assert len(data["groups"][0]["followers"]) == followers
    final = sum(
        1 for f in data["groups"][0]["followers"] if (f["last_copy"] or {}).get("status") != "pending"
    )
    return {
        "followers": followers,
        "rows_with_a_final_copy": final,
        "repeats": repeats,
        "command": _summary(whole),
        "reads": _summary(reads),
        "load_average_1m": os.getloadavg()[0],
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m bench.cli_status",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--url", default=None, help="a running local stack (default: start one)")
    p.add_argument("--followers", type=int, default=25)
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--out", type=Path, default=None, help="also write the result here (make bench)")
    args = p.parse_args(argv)
    if args.url:
        result = measure(args.url.rstrip("/"), args.followers, args.repeats)
    else:
        sys.path.insert(0, str(REPO_ROOT))
        from devstack.stack import LocalStack

        with LocalStack(
            port=0,
            mode="subprocess",
            stack_name="bench-status",
            ready_timeout=180,
            subprocess_output=subprocess.DEVNULL,
        ) as stack:
            result = measure(stack.api_url, args.followers, args.repeats)
    print(json.dumps(result, indent=2))
    if args.out is not None:
        args.out.write_text(json.dumps({"cli_status": result}, indent=2))
    return 0


def markdown(results: dict[str, Any]) -> str:
    """The ``results.md`` lines of ``make bench``'s status part (goal: under 1 s at 25 followers)."""
    status = results.get("cli_status")
    if not status:
        return ""
    command, reads = status["command"], status["reads"]
    verdict = "met" if command["median_ms"] < 1000 else "NOT met"
    return (
        "\n## `tradecopier status` (goal: under 1 s at 25 followers)\n\n"
        f"{status['followers']} followers, {status['repeats']} runs, load {status['load_average_1m']:.1f}: "
        f"the whole command (a fresh interpreter) median {command['median_ms']:.0f} ms, p90 "
        f"{command['p90_ms']:.0f} ms ({verdict}); its HTTP reads alone median {reads['median_ms']:.0f} ms.\n"
    )


if __name__ == "__main__":
    sys.exit(main())
