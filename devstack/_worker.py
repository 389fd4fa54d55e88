"""One Lambda execution environment: a separate Python process that imports one handler and runs
one invocation at a time (``devstack.runtime.ProcessEnvironment`` starts it as a script).

Standalone on purpose (stdlib only, never imports ``devstack``): its ``sys.path`` is what a Lambda
function sees -- the function's code directory first (``/var/task``), then its layers
(``/opt/python``), then the installed packages -- so a handler that imports something it would
not have on AWS fails here too.

Protocol: ``multiprocessing.connection`` frames over two inherited pipe fds (argv 1 and 2), JSON
payloads. First frame from the worker: ``{"ready": init_ms}`` or ``{"init_error": {...}}``. Then per
invocation, parent -> ``{"event", "context", "deadline_ms"}``; worker -> ``{"ok": result}`` or
``{"error": {"errorMessage", "errorType", "stackTrace"}}``.
"""

from __future__ import annotations

import decimal
import importlib
import json
import os
import signal
import sys
import time
import traceback
from multiprocessing.connection import Connection
from typing import Any


class LambdaContext:
    """The attributes and method of the Lambda Python runtime's context object."""

    def __init__(self, data: dict[str, Any], deadline_ms: float) -> None:
        self.aws_request_id: str = data["aws_request_id"]
        self.function_name: str = data["function_name"]
        self.function_version: str = data.get("function_version", "$LATEST")
        self.invoked_function_arn: str = data["invoked_function_arn"]
        self.memory_limit_in_mb: int = int(data["memory_limit_in_mb"])
        self.log_group_name: str = data.get("log_group_name", f"/aws/lambda/{self.function_name}")
        self.log_stream_name: str = data.get("log_stream_name", "")
        self.identity: Any = None
        self.client_context: Any = None
        self.tenant_id: str | None = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int(self._deadline_ms - time.time() * 1000))

    def __repr__(self) -> str:
        return f"LambdaContext({self.function_name}, request_id={self.aws_request_id})"


def _error(exc: BaseException) -> dict[str, Any]:
    frames = traceback.extract_tb(exc.__traceback__)
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "stackTrace": [
            f'  File "{f.filename}", line {f.lineno}, in {f.name}\n    {f.line}\n' for f in frames
        ],
    }


def _decimal_serializer(o: Any) -> Any:  # what the Lambda Python runtime does with Decimals
    if isinstance(o, decimal.Decimal):
        return float(o)
    raise TypeError(repr(o) + " is not JSON serializable")


def _send(conn: Connection, payload: dict[str, Any]) -> None:
    conn.send_bytes(json.dumps(payload, default=_decimal_serializer).encode("utf-8"))


class _Profile:
    """cProfile around each invocation when ``DEVSTACK_PROFILE_DIR`` is set (``devstack.profiling``,
    which this stdlib-only script cannot import); written when the environment shuts down."""

    def __init__(self) -> None:
        self.where = os.environ.get("DEVSTACK_PROFILE_DIR")
        self.profiler: Any = None
        if self.where:
            import cProfile

            self.profiler = cProfile.Profile(time.process_time)  # CPU, not the waits
            signal.signal(signal.SIGTERM, self._terminated)

    def _terminated(self, *_: Any) -> None:
        self.dump()
        os._exit(0)

    def enable(self) -> None:
        if self.profiler is not None:
            self.profiler.enable()

    def disable(self) -> None:
        if self.profiler is not None:
            self.profiler.disable()

    def dump(self) -> None:
        if self.profiler is not None and self.where:
            self.profiler.disable()
            os.makedirs(self.where, exist_ok=True)
            name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "function")
            self.profiler.dump_stats(os.path.join(self.where, f"worker.{name}-{os.getpid()}.prof"))
            self.profiler = None


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the devstack parent stops us (Ctrl-C goes to it)
    profile = _Profile()
    rx = Connection(int(sys.argv[1]), writable=False)
    tx = Connection(int(sys.argv[2]), readable=False)
    cfg = json.loads(os.environ.pop("DEVSTACK_WORKER_CONFIG"))
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [cfg["code_dir"], *cfg["layer_dirs"], *(p for p in sys.path if p and p != here)]
    os.chdir(cfg["code_dir"])

    module_name, _, attr = cfg["handler"].rpartition(".")
    started = time.perf_counter()
    try:
        handler = getattr(importlib.import_module(module_name), attr)
    except BaseException as exc:  # the runtime reports init errors on every invoke (Runtime.*)
        traceback.print_exc()
        err = _error(exc)
        err["errorType"] = (
            "Runtime.ImportModuleError" if isinstance(exc, ImportError) else "Runtime.HandlerNotFound"
        )
        err["errorMessage"] = f"Unable to import module '{module_name}': {exc}"
        _send(tx, {"init_error": err})
        return
    _send(tx, {"ready": (time.perf_counter() - started) * 1000})

    while True:
        try:
            raw = rx.recv_bytes()
        except (EOFError, OSError):
            profile.dump()
            return  # parent gone or closed us: the environment is shut down
        profile.enable()
        msg = json.loads(raw)
        ctx = LambdaContext(msg["context"], msg["deadline_ms"])
        print(f"START RequestId: {ctx.aws_request_id} Version: {ctx.function_version}", flush=True)
        begun = time.perf_counter()
        try:
            result = handler(msg["event"], ctx)
            reply: dict[str, Any] = {"ok": result}
            try:
                _send(tx, reply)
            except TypeError as exc:
                _send(tx, {"error": {"errorMessage": str(exc), "errorType": "Runtime.MarshalError"}})
        except Exception as exc:
            traceback.print_exc()
            _send(tx, {"error": _error(exc)})
        finally:
            profile.disable()
            took = (time.perf_counter() - begun) * 1000
            print(f"END RequestId: {ctx.aws_request_id}")
            print(f"REPORT RequestId: {ctx.aws_request_id}\tDuration: {took:.2f} ms")
            sys.stdout.flush()
            sys.stderr.flush()


if __name__ == "__main__":
    main()
