"""``python -m devstack``: run the local stack in the foreground until Ctrl-C / SIGTERM."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from devstack.home import DEFAULT_DATA_DIR, MEMORY

if TYPE_CHECKING:
    from devstack.fakes import FakeBrokers
    from devstack.stack import LocalStack


def _parse(argv: list[str] | None) -> argparse.Namespace:
    from devstack.stack import DEFAULT_CONCURRENCY, DEFAULT_STACK_NAME, DEFAULT_TEMPLATE

    p = argparse.ArgumentParser(prog="python -m devstack", description=__doc__)
    p.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("PORT", "3000")),
        help="HTTP API port (default $PORT or 3000; 0 = any free port)",
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--template", type=Path, default=DEFAULT_TEMPLATE)
    p.add_argument("--stack-name", default=DEFAULT_STACK_NAME)
    p.add_argument(
        "--isolation",
        choices=("process", "thread"),
        default="process",
        help="process: one Python process per execution environment (default); "
        "thread: handlers imported here, one at a time per function (debugging)",
    )
    p.add_argument(
        "--concurrency",
        action="append",
        default=[],
        metavar="FUNCTION=N",
        help="execution environments of one function (logical id), e.g. ExecutorFunction=4",
    )
    p.add_argument("--default-concurrency", type=int, default=DEFAULT_CONCURRENCY)
    p.add_argument("--cold", action="store_true", help="start environments on first use, not ahead")
    p.add_argument(
        "--function-logs",
        choices=("file", "console"),
        default="file",
        help="where handler output goes: one file per function (default) or this console",
    )
    p.add_argument("--log-dir", type=Path, default=None)
    p.add_argument("--keep-logs", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--no-print-requests", action="store_true")
    p.add_argument("--no-print-copies", action="store_true")
    p.add_argument("--no-health-check", action="store_true", help="do not wait for GET /health = 200")
    p.add_argument("--ready-timeout", type=float, default=60.0)
    p.add_argument(
        "--schedule-seconds",
        type=float,
        default=60.0,
        help="how often the template's schedules (the risk clock) run locally (default 60)",
    )
    p.add_argument("--ready-file", default=None, help="write the stack's endpoints as JSON here once ready")
    p.add_argument(
        "--listener",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="run the leader listener for groups whose leader has a real broker",
    )
    p.add_argument(
        "--data-dir",
        default=os.environ.get("DATA_DIR") or str(DEFAULT_DATA_DIR),
        help=f"home mode: keep every table and (encrypted) credential here (default $DATA_DIR or "
        f"./{DEFAULT_DATA_DIR}; {MEMORY} = in memory)",
    )
    p.add_argument(
        "--fake-brokers",
        action="store_true",
        help="also start the fake ProjectX and Tradovate (REST + user-sync websocket) on fixed local "
        "ports and print a credentials body for each (make dev FAKES=1)",
    )
    p.add_argument("--memory", action="store_true", help="keep nothing: everything in memory (tests, demo)")
    p.add_argument("--reset", action="store_true", help="delete the data folder's state first (asks)")
    p.add_argument("--yes", action="store_true", help="with --reset: do not ask")
    return p.parse_args(argv)


def _reset(data_dir: Path, yes: bool) -> bool:
    """Empties the data folder after the trader confirmed (or --yes); False if not confirmed."""
    from devstack.home import DataDir

    if not yes:
        if not sys.stdin.isatty():
            print(
                "devstack: --reset asks for a confirmation; pass --yes to reset without one.", file=sys.stderr
            )
            return False
        answer = input(
            f"Delete every group, follower, copy record and stored credential in {data_dir}? [y/N] "
        )
        if answer.strip().lower() not in ("y", "yes"):
            print("devstack: not reset; nothing was changed.", file=sys.stderr)
            return False
    DataDir(data_dir).reset()
    print(f"devstack: {data_dir} reset.", flush=True)
    return True


def _home_line(stack: LocalStack) -> str:
    if stack.data_dir is None:
        return "  data: in memory (nothing is kept after stop)"
    restored = stack.restored or {}
    from devstack.restore import Restored

    what = Restored(**restored).line()
    if stack.purged:
        what += f"; {stack.purged} expired item{'s' * (stack.purged != 1)} deleted"
    return f"  data: {stack.data_dir} (secrets key: {stack.key_location})\n  restored: {what}"


def _announce(stack: LocalStack, fakes: FakeBrokers | None, ready_file: str | None) -> None:
    """What is running, once it is ready (and the endpoints as JSON in ``ready_file``)."""
    print(stack.summary(), flush=True)
    print(_home_line(stack), flush=True)
    if fakes is not None:
        print(fakes.summary(), flush=True)
    if ready_file:
        tmp = f"{ready_file}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(stack.info(), fh)
        os.replace(tmp, ready_file)
    print("Ctrl-C to stop.", flush=True)


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    from devstack.home import HomeError, resolve_data_dir
    from devstack.stack import LocalStack, StackError

    data_dir = None if args.memory else resolve_data_dir(args.data_dir)
    if args.reset:
        if data_dir is None:
            print(
                "devstack: --reset needs a data folder (in memory there is nothing to reset).",
                file=sys.stderr,
            )
            return 2
        try:
            if not _reset(data_dir, args.yes):
                return 1
        except HomeError as exc:
            print(f"devstack: {exc}", file=sys.stderr, flush=True)
            return 1

    concurrency: dict[str, int] = {}
    for item in args.concurrency:
        name, _, n = item.partition("=")
        if not n.isdigit():
            print(f"--concurrency expects FUNCTION=N, got {item!r}", file=sys.stderr)
            return 2
        concurrency[name] = int(n)

    signal.signal(signal.SIGTERM, _raise_interrupt)
    signal.signal(signal.SIGHUP, _raise_interrupt)
    stack = LocalStack(
        port=args.port,
        host=args.host,
        template=args.template,
        stack_name=args.stack_name,
        isolation=args.isolation,
        concurrency=concurrency,
        default_concurrency=args.default_concurrency,
        warm=not args.cold,
        function_logs=args.function_logs,
        log_dir=args.log_dir,
        keep_logs=args.keep_logs,
        print_requests=not args.no_print_requests,
        listener=args.listener,
        print_copies=not args.no_print_copies,
        require_health=not args.no_health_check,
        ready_timeout=args.ready_timeout,
        schedule_seconds=args.schedule_seconds,
        data_dir=data_dir,
    )
    from devstack.fakes import FakeBrokers

    fakes = FakeBrokers(host=args.host) if args.fake_brokers else None
    try:
        try:
            if fakes is not None:
                fakes.start()
            stack.start()
        except (StackError, OSError) as exc:
            print(f"devstack: {exc}", file=sys.stderr, flush=True)
            return 1
        _announce(stack, fakes, args.ready_file)
        threading.Event().wait()  # until a signal raises KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the cleanup short
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.stop()
        if fakes is not None:
            fakes.stop()
        if stack.ready_seconds is not None:
            print(
                "devstack stopped"
                + (
                    f"; function logs kept in {stack.log_dir}"
                    if stack.log_dir and args.keep_logs and args.function_logs == "file"
                    else "."
                ),
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
