"""``python -m bench`` (``make bench``): run every part, write results.json, results.md and latency.png.

    python -m bench                                   # full run: 200 events at 1, 10 and 50 followers
    python -m bench --events 5 --followers 1,2 --quick --out-dir /tmp/b   # what make test runs
    python -m bench --only imports,coldcopy,cost      # re-run some parts, merged into the last results
    python -m bench --only e2e,brokers --followers 1,10   # the table per broker (paper, ProjectX, Tradovate)

Parts run one after the other on a quiet machine: imports (fresh interpreters), own overhead (a child
process with its own DynamoDB Local and moto), then the local stack (e2e and floor, interleaved).
A part that fails is recorded under ``errors`` and the others still run; the exit code is then 1.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import cost, imports, monthly, report

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
PARTS = ("imports", "overhead", "e2e", "coldcopy", "cost", "home", "brokers", "status", "listener")


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--events", type=int, default=None, help="measured events per follower count (default 200; quick 5)"
    )
    p.add_argument(
        "--followers", default=None, help="follower counts, comma separated (default 1,10,50; quick 1,2)"
    )
    p.add_argument("--quick", action="store_true", help="a tiny run (smoke test): few events, few repeats")
    p.add_argument("--warmup", type=int, default=None, help="warm-up events per follower count (dropped)")
    p.add_argument(
        "--gap-ms", type=float, default=20.0, help="pause between one event being done and the next"
    )
    p.add_argument(
        "--overhead-events", type=int, default=None, help="events for the in-process overhead part"
    )
    p.add_argument(
        "--overhead-followers", type=int, default=None, help="followers there (default 10; quick 2)"
    )
    p.add_argument(
        "--import-repeats", type=int, default=None, help="fresh interpreters per module (default 10)"
    )
    p.add_argument("--skip", default="", help="parts to skip: " + ",".join(PARTS))
    p.add_argument(
        "--only",
        default="",
        help="run only these parts (" + ",".join(PARTS) + "); the other figures are kept from the "
        "out-dir's last results.json, and the run is recorded under partial_runs",
    )
    p.add_argument(
        "--home", default=None, help="home mode start: GROUPSxFOLLOWERS to restore (default 10x10; quick 2x2)"
    )
    p.add_argument(
        "--broker-followers",
        default=None,
        help="follower counts of the e2e rows per fake broker (part brokers; default 1,10; quick 1)",
    )
    p.add_argument(
        "--listener-followers",
        default="1,10",
        help="follower counts of the listener part (leader order at the fake broker → follower orders there)",
    )
    p.add_argument(
        "--listener-events", type=int, default=None, help="measured events per path there (default 100)"
    )
    p.add_argument("--profile", action="store_true", help="also write cProfile / -X importtime profiles")
    p.add_argument("--out-dir", type=Path, default=BENCH_DIR)
    args = p.parse_args(argv)
    args.followers = [
        int(x) for x in (args.followers or ("1,2" if args.quick else "1,10,50")).split(",") if x
    ]
    args.broker_followers = tuple(
        int(x) for x in (args.broker_followers or ("1" if args.quick else "1,10")).split(",") if x
    )
    args.events = args.events if args.events is not None else (5 if args.quick else 200)
    args.listener_followers = [int(x) for x in args.listener_followers.split(",") if x]
    args.listener_events = (
        args.listener_events if args.listener_events is not None else (3 if args.quick else 100)
    )
    args.warmup = args.warmup if args.warmup is not None else (1 if args.quick else 5)
    args.overhead_events = args.overhead_events or (3 if args.quick else 100)
    args.overhead_followers = args.overhead_followers or (2 if args.quick else 10)
    args.import_repeats = args.import_repeats or (1 if args.quick else 10)
    args.skip = {part.strip() for part in args.skip.split(",") if part.strip()}
    args.only = {part.strip() for part in args.only.split(",") if part.strip()}
    if unknown := (args.skip | args.only) - set(PARTS):
        p.error(f"unknown part(s): {', '.join(sorted(unknown))}")
    if args.only:
        args.skip |= set(PARTS) - args.only
    groups, _, followers = (args.home or ("2x2" if args.quick else "10x10")).partition("x")
    args.home = (int(groups), int(followers))
    return args


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def run_overhead(
    args: argparse.Namespace,
    followers: int,
    events: int,
    profile: bool,
    every_risk_rule: bool = False,
    broker: str = "paper",
) -> dict[str, Any]:
    extra = ["--events", str(events), "--followers", str(followers), "--warmup", "1" if args.quick else "3"]
    extra += ["--broker", broker]
    if profile:
        extra += ["--profile", str(args.out_dir / "profile_executor.txt")]
    if every_risk_rule:
        extra.append("--every-risk-rule")
    return run_child("bench.overhead", extra)


def run_child(module: str, extra: list[str]) -> dict[str, Any]:
    """``python -m <module> --out FILE <extra>`` in a fresh process; its JSON result."""
    with tempfile.TemporaryDirectory(prefix="bench-child-") as tmp:
        out = Path(tmp) / "out.json"
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), *filter(None, [env.get("PYTHONPATH")])])
        done = subprocess.run(
            [sys.executable, "-m", module, "--out", str(out), *extra],
            cwd=str(REPO_ROOT),
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{module} exited {done.returncode}: {done.stderr.strip()[-2000:]}")
        result: dict[str, Any] = json.loads(out.read_text())
        return result


def _brokers_on(args: argparse.Namespace) -> bool:
    """The per-broker figures (part ``brokers``) are left out of ``--quick`` unless asked for."""
    return "brokers" not in args.skip and not (args.quick and "brokers" not in args.only)


def _e2e_brokers(args: argparse.Namespace) -> tuple[str, ...]:
    """The fake brokers the e2e part measures next to paper (``e2e_by_broker``)."""
    if not _brokers_on(args):
        return ()
    from bench import brokers

    return tuple(broker for broker in brokers.BROKERS if broker != "paper")


def _run_brokers(args: argparse.Namespace, results: dict[str, Any], errors: dict[str, str]) -> None:
    if not _brokers_on(args):
        return
    from bench import brokers

    _say(f"[bench] brokers: {args.overhead_events} events, {args.overhead_followers} followers per broker")
    try:
        results["brokers"] = brokers.run(
            lambda broker: run_overhead(
                args, args.overhead_followers, args.overhead_events, profile=False, broker=broker
            ),
            results.get("overhead_detail") if "overhead" not in args.skip else None,
        )
    except Exception:
        errors["brokers"] = traceback.format_exc(limit=3)


def _run_listener(args: argparse.Namespace, results: dict[str, Any], errors: dict[str, str]) -> None:
    """The trader's figure (bench/listener.py); left out of ``--quick`` unless named (``--only``)."""
    if "listener" in args.skip or (args.quick and "listener" not in args.only):
        return
    from bench import listener

    _say(
        f"[bench] listener: {args.listener_events} events per path at {args.listener_followers} followers "
        "(fake Tradovate leader and followers, the stack's listener process)"
    )
    try:
        results.update(
            listener.run(
                args.listener_followers,
                args.listener_events,
                warmup=args.warmup,
                gap_s=args.gap_ms / 1000,
                log=_say,
            )
        )
    except Exception:
        errors["listener"] = traceback.format_exc(limit=5)


def _copy_figures(overhead: dict[str, Any]) -> dict[str, Any]:
    """What one copy costs the executor: own CPU, copier DynamoDB writes, AWS calls."""
    per_copy = overhead["dynamodb_per_copy"]
    return {
        "executor_cpu_ms_per_copy": overhead["executor_per_copy"]["own_cpu_ms_median"],
        "dynamodb_writes_per_copy": per_copy["write_items"].get("copier", 0.0),
        "dynamodb_wru_per_copy": per_copy["wru"].get("copier", 0.0),
        "aws_calls_per_copy": overhead["aws_calls_per_copy"],
    }


def _previous(args: argparse.Namespace) -> dict[str, Any]:
    """The out-dir's last results (a partial run keeps the figures of the parts it does not run)."""
    path = args.out_dir / "results.json"
    if not args.only or not path.exists():
        return {}
    previous: dict[str, Any] = json.loads(path.read_text())
    previous.pop("errors", None)
    return previous


def _init_ms(results: dict[str, Any]) -> dict[str, float]:
    """The hot handlers' import (ms, median, ``bench.imports``): the part of INIT our code controls."""
    imports = results.get("import_ms", {})
    return {name: float(imports[name]) for name in ("ingest", "executor") if name in imports}


def _monthly(results: dict[str, Any], errors: dict[str, str]) -> None:
    """The typical trader's monthly bill, from this run's overhead figures (else the last run's)."""
    overhead = results.get("overhead_detail")
    if overhead is None:
        errors["cost"] = "no overhead figures (run the overhead part once)"
        return
    try:
        results["monthly_bill"] = monthly.typical_bill(overhead)
    except Exception:
        errors["cost"] = traceback.format_exc(limit=3)


def _coldcopy_and_cost(args: argparse.Namespace, results: dict[str, Any], errors: dict[str, str]) -> None:
    if "coldcopy" not in args.skip:
        _say("[bench] coldcopy: fresh executor workers, start to first copy done ...")
        try:
            results.update(run_child("bench.coldcopy", ["--repeats", "3" if args.quick else "7"]))
        except Exception:
            errors["coldcopy"] = traceback.format_exc(limit=3)
    if "cost" not in args.skip:
        _monthly(results, errors)


def _record_run(args: argparse.Namespace, results: dict[str, Any], started: float, load_start: float) -> None:
    """The run's load and duration: of the whole run, or (``--only``) appended to ``partial_runs``."""
    load_end, duration = round(os.getloadavg()[0], 2), round(time.monotonic() - started, 1)
    if not args.only:
        results["machine"]["loadavg_1m"]["end"] = load_end
        results["duration_s"] = duration
        return
    results.setdefault("partial_runs", []).append(
        {
            "parts": sorted(args.only),
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "loadavg_1m": {"start": load_start, "end": load_end},
            "duration_s": duration,
        }
    )


def _run_home(args: argparse.Namespace, results: dict[str, Any], errors: dict[str, str]) -> None:
    if "home" in args.skip:
        return
    groups, followers = args.home
    _say(f"[bench] home: start time with {groups} groups x {followers} followers to restore ...")
    try:
        from bench import home

        results.update(home.run(groups, followers, repeats=1 if args.quick else 3, log=_say))
    except Exception:
        errors["home"] = traceback.format_exc(limit=5)


def _run_status(args: argparse.Namespace, results: dict[str, Any], errors: dict[str, str]) -> None:
    if "status" in args.skip or (args.quick and "status" not in args.only):
        return  # its own local stack: not in the smoke run unless asked for
    followers, repeats = ("5", "2") if args.quick else ("25", "10")
    _say(f"[bench] status: tradecopier status on a group of {followers} followers ...")
    try:
        results.update(run_child("bench.cli_status", ["--followers", followers, "--repeats", repeats]))
    except Exception:
        errors["status"] = traceback.format_exc(limit=3)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    previous = _previous(args)  # {} unless --only: then the figures this run does not redo
    # Other work on the machine shows up in every figure: keep the load next to them.
    load_start = round(os.getloadavg()[0], 2)
    results: dict[str, Any] = previous or {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "argv": " ".join(sys.argv[1:] if argv is None else argv),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "loadavg_1m": {"start": load_start},
        },
    }
    errors: dict[str, str] = {}

    if "imports" not in args.skip:
        _say("[bench] imports: fresh interpreters per handler module ...")
        try:
            measured = imports.measure(repeats=args.import_repeats, traced_repeats=0 if args.quick else 5)
            results.update(measured)
            if args.profile or not args.quick:
                results["import_profile_ms"] = {
                    name: imports.profile(name, top=14) for name in imports.MODULES
                }
        except Exception:
            errors["imports"] = traceback.format_exc(limit=3)

    if "overhead" not in args.skip:
        _say(f"[bench] overhead: {args.overhead_events} events, {args.overhead_followers} followers")
        try:
            overhead = run_overhead(args, args.overhead_followers, args.overhead_events, args.profile)
            results["ingest_cpu_ms"] = overhead["ingest"]["own_cpu_ms_median"]
            results["executor_cpu_ms_per_copy"] = overhead["executor_per_copy"]["own_cpu_ms_median"]
            results["aws_calls_per_event"] = overhead["aws_calls_per_event"]
            results["aws_calls_per_copy"] = overhead["aws_calls_per_copy"]
            results["critical_path"] = overhead["critical_path"]
            per_copy = overhead["dynamodb_per_copy"]
            results["dynamodb_writes_per_copy"] = per_copy["write_items"].get("copier", 0.0)
            results["dynamodb_wru_per_copy"] = per_copy["wru"].get("copier", 0.0)
            results["paper_broker_dynamodb_writes_per_copy"] = per_copy["write_items"].get("paper", 0.0)
            results["paper_broker_dynamodb_wru_per_copy"] = per_copy["wru"].get("paper", 0.0)
            overhead["init_ms"] = _init_ms(results)  # what a cold start's INIT bills (bench.cost)
            results["overhead_detail"] = overhead
            results.update(cost.compute(overhead, cost.load_prices(), cost.memory_sizes(), followers=10))
            results["memory_options_n10"] = cost.memory_options(overhead, cost.load_prices())
            _say("[bench] overhead: the same with every risk rule on each follower")
            ruled = run_overhead(
                args, args.overhead_followers, args.overhead_events, profile=False, every_risk_rule=True
            )
            results["risk_overhead"] = {
                label: _copy_figures(measured)
                for label, measured in (("no_rules", overhead), ("every_rule", ruled))
            }
            if not args.quick:
                # How the per-copy figures grow with the group (the event item holds every copy).
                _say("[bench] overhead: 20 events, 50 followers")
                wide = run_overhead(args, 50, 20, profile=False)
                wide["init_ms"] = overhead["init_ms"]
                wide_cost = cost.compute(wide, cost.load_prices(), cost.memory_sizes(), followers=50)
                results["usd_per_million_trades_n50"] = wide_cost["usd_per_million_trades_n10"]
                results["overhead_n50"] = {
                    "ingest_cpu_ms": wide["ingest"]["own_cpu_ms_median"],
                    "executor_cpu_ms_per_copy": wide["executor_per_copy"]["own_cpu_ms_median"],
                    "dynamodb_wru_per_event": wide["dynamodb_per_event"]["wru"],
                    "dynamodb_wru_per_copy": wide["dynamodb_per_copy"]["wru"],
                    "dynamodb_rru_per_copy": wide["dynamodb_per_copy"]["rru"],
                    "event_item_bytes": wide["item_bytes"]["event_mean"],
                }
        except Exception:
            errors["overhead"] = traceback.format_exc(limit=3)

    _coldcopy_and_cost(args, results, errors)
    _run_brokers(args, results, errors)

    if "e2e" not in args.skip:
        _say(f"[bench] e2e: {args.events} events at {args.followers} followers on the local stack ...")
        try:
            from bench import e2e

            results.update(
                e2e.run(
                    args.followers,
                    args.events,
                    warmup=args.warmup,
                    gap_s=args.gap_ms / 1000,
                    log=_say,
                    brokers=_e2e_brokers(args),
                    broker_followers=args.broker_followers,
                    profile_to=args.out_dir / "profile_stack.txt" if args.profile else None,
                )
            )
        except Exception:
            errors["e2e"] = traceback.format_exc(limit=5)

    _run_listener(args, results, errors)
    _run_home(args, results, errors)
    _run_status(args, results, errors)
    _record_run(args, results, started, load_start)
    results["goals"] = report.goals(results)
    if errors:
        results["errors"] = errors
    (args.out_dir / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    from bench import brokers as brokers_part
    from bench import cli_status
    from bench import home as home_part
    from bench import listener as listener_part

    (args.out_dir / "results.md").write_text(
        report.markdown(results)
        + home_part.markdown(results)
        + brokers_part.markdown(results)
        + cli_status.markdown(results)
        + listener_part.markdown(results)
    )
    if results.get("e2e_ms"):
        report.plot(results, args.out_dir / "latency.png")
    _say(report.markdown(results))
    for part, error in errors.items():
        _say(f"[bench] {part} failed:\n{error}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
