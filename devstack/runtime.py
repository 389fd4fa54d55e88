"""The Lambda service, locally: execution environments for each function and ``invoke``.

Concurrency model (faithful to Lambda, and safe for Powertools' module-level singletons): an
*environment* runs one invocation at a time, like a Lambda execution environment. The default
environment is a separate Python process (``devstack/_worker.py``): the handler module, its
Powertools Logger/Metrics/processor singletons and its ``lru_cache``d settings live once per
process, exactly as once per Lambda sandbox, and several environments of one function run in
parallel without sharing anything. Each function has a pool of at most ``concurrency``
environments (its reserved concurrency, locally); they are started ahead ("warm") or on first use
(a cold start, reported as ``init_ms``); an invocation that finds all environments busy waits for
one (FIFO), as a throttled ESM poller would. A timed-out invocation kills its environment.

``isolation="thread"`` instead imports each handler into this process and serialises the
invocations of one function with a lock (one environment per function); use it for debuggers and
coverage. All functions then share one ``os.environ``.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import queue
import subprocess
import sys
import threading
import time
import traceback
import uuid
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import IO, Any

from devstack.template import FunctionSpec

WORKER_SCRIPT = Path(__file__).with_name("_worker.py")
INIT_PHASE_CAP_S = 10.0  # Lambda's init phase limit


@dataclass
class InvokeResult:
    payload: Any = None
    error: dict[str, Any] | None = None
    duration_ms: float = 0.0
    init_ms: float | None = None  # set when this invocation paid for a cold start
    request_id: str = ""

    @property
    def ok(self) -> bool:
        return self.error is None


def lambda_environment(spec: FunctionSpec, region: str) -> dict[str, str]:
    """The reserved variables the Lambda service sets in every execution environment."""
    return {
        "AWS_LAMBDA_FUNCTION_NAME": spec.name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": f"devstack/[$LATEST]{uuid.uuid4().hex}",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "_HANDLER": spec.handler,
        "TZ": ":UTC",
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def context_data(spec: FunctionSpec, request_id: str) -> dict[str, Any]:
    return {
        "aws_request_id": request_id,
        "function_name": spec.name,
        "function_version": "$LATEST",
        "invoked_function_arn": spec.arn,
        "memory_limit_in_mb": spec.memory_mb,
        "log_group_name": f"/aws/lambda/{spec.name}",
        "log_stream_name": f"devstack/[$LATEST]{request_id[:8]}",
    }


class Environment:
    """One execution environment; ``invoke`` is called by one thread at a time."""

    init_ms: float | None = None

    def start(self) -> None:
        raise NotImplementedError

    def invoke(self, event: dict[str, Any], request_id: str) -> InvokeResult:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    @property
    def alive(self) -> bool:
        raise NotImplementedError


class ProcessEnvironment(Environment):
    def __init__(self, spec: FunctionSpec, env: dict[str, str], log: IO[bytes] | None) -> None:
        self.spec = spec
        self.env = env
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None
        self._tx: Connection | None = None
        self._rx: Connection | None = None
        self._init_error: dict[str, Any] | None = None
        self._closed = False
        self._lock = threading.Lock()

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None and self._init_error is None

    def start(self) -> None:
        """Spawns the process and waits for its init phase (the handler module's import)."""
        parent_rx, child_tx = os.pipe()
        child_rx, parent_tx = os.pipe()
        cfg = {
            "handler": self.spec.handler,
            "code_dir": str(self.spec.code_dir),
            "layer_dirs": [str(p) for p in self.spec.layer_dirs],
        }
        env = dict(self.env, DEVSTACK_WORKER_CONFIG=json.dumps(cfg))
        out: Any = self.log if self.log is not None else None
        try:
            self._lock.acquire()
            if self._closed:
                self._init_error = {"errorType": "ServiceException", "errorMessage": "stack stopped"}
                for fd in (parent_rx, parent_tx):
                    os.close(fd)
                return
            self.proc = subprocess.Popen(
                [sys.executable, str(WORKER_SCRIPT), str(child_rx), str(child_tx)],
                pass_fds=(child_rx, child_tx),
                env=env,
                cwd=str(self.spec.code_dir),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT if out is not None else None,
            )
            self._tx = Connection(parent_tx, readable=False)
            self._rx = Connection(parent_rx, writable=False)
        except Exception as exc:
            for fd in (parent_rx, parent_tx):
                os.close(fd)
            self._init_error = {"errorType": "Runtime.ExitError", "errorMessage": f"cannot start: {exc}"}
            return
        finally:
            os.close(child_rx)
            os.close(child_tx)
            self._lock.release()
        self._init_error = None
        rx = self._rx
        try:
            # Lambda caps the init phase at 10 s, then runs the init again inside the first invoke
            # with the function's timeout ("suppressed init"): 10 s + timeout in all before the
            # invoke fails. Waiting that long for the same process is the same budget without the
            # restart (a slow, loaded machine's cold import must not turn the first event into a 500).
            if not rx.poll(INIT_PHASE_CAP_S + float(self.spec.timeout)):
                self.stop()
                self._init_error = {"errorType": "Runtime.InitTimeout", "errorMessage": "init timed out"}
                return
            first = json.loads(rx.recv_bytes())
        except (EOFError, OSError, TypeError):
            first = {"init_error": {"errorType": "Runtime.ExitError", "errorMessage": "exited during init"}}
        if "init_error" in first:
            self._init_error = first["init_error"]
            self.stop()
        else:
            self.init_ms = float(first["ready"])

    def invoke(self, event: dict[str, Any], request_id: str) -> InvokeResult:
        cold_init: float | None = None
        if not self.alive:
            self.start()  # a cold start paid by this invocation
            cold_init = self.init_ms
        if self._init_error is not None:
            return InvokeResult(error=dict(self._init_error), request_id=request_id)
        assert self._tx is not None and self._rx is not None
        deadline = time.time() + self.spec.timeout
        msg = {
            "event": event,
            "context": context_data(self.spec, request_id),
            "deadline_ms": deadline * 1000,
        }
        started = time.perf_counter()
        try:
            self._tx.send_bytes(json.dumps(msg).encode("utf-8"))
            if not self._rx.poll(self.spec.timeout):
                self.stop()
                return InvokeResult(
                    error={
                        "errorType": "Sandbox.Timedout",
                        "errorMessage": f"Task timed out after {self.spec.timeout:.2f} seconds",
                    },
                    duration_ms=(time.perf_counter() - started) * 1000,
                    init_ms=cold_init,
                    request_id=request_id,
                )
            reply = json.loads(self._rx.recv_bytes())
        except (EOFError, OSError, BrokenPipeError):
            self.stop()
            return InvokeResult(
                error={"errorType": "Runtime.ExitError", "errorMessage": "the runtime exited"},
                duration_ms=(time.perf_counter() - started) * 1000,
                init_ms=cold_init,
                request_id=request_id,
            )
        took = (time.perf_counter() - started) * 1000
        if "error" in reply:
            return InvokeResult(
                error=reply["error"], duration_ms=took, init_ms=cold_init, request_id=request_id
            )
        return InvokeResult(payload=reply["ok"], duration_ms=took, init_ms=cold_init, request_id=request_id)

    def stop(self, final: bool = False) -> None:
        with self._lock:
            self._closed = self._closed or final
        for conn in (self._tx, self._rx):
            if conn is not None:
                with contextlib.suppress(OSError):
                    conn.close()
        self._tx = self._rx = None
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=3)


class InlineEnvironment(Environment):
    """The handler imported into this process (isolation="thread")."""

    _import_lock = threading.Lock()

    def __init__(self, spec: FunctionSpec) -> None:
        self.spec = spec
        self._handler: Any = None
        self._init_error: dict[str, Any] | None = None

    @property
    def alive(self) -> bool:
        return self._handler is not None

    def start(self) -> None:
        module_name, _, attr = self.spec.handler.rpartition(".")
        with self._import_lock:
            for path in [*reversed(self.spec.layer_dirs), self.spec.code_dir]:
                if str(path) not in sys.path:
                    sys.path.insert(0, str(path))
            started = time.perf_counter()
            try:
                self._handler = getattr(importlib.import_module(module_name), attr)
                self._init_error = None
            except Exception as exc:
                traceback.print_exc()
                self._init_error = {
                    "errorType": "Runtime.ImportModuleError",
                    "errorMessage": f"Unable to import module '{module_name}': {exc}",
                }
            self.init_ms = (time.perf_counter() - started) * 1000

    def invoke(self, event: dict[str, Any], request_id: str) -> InvokeResult:
        from devstack._worker import LambdaContext, _decimal_serializer, _error

        cold_init: float | None = None
        if self._handler is None:
            self.start()
            cold_init = self.init_ms
        if self._init_error is not None:
            return InvokeResult(error=dict(self._init_error), request_id=request_id)
        ctx = LambdaContext(context_data(self.spec, request_id), (time.time() + self.spec.timeout) * 1000)
        started = time.perf_counter()
        try:
            result = self._handler(event, ctx)
            payload = json.loads(json.dumps(result, default=_decimal_serializer))
        except Exception as exc:
            traceback.print_exc()
            return InvokeResult(
                error=_error(exc), duration_ms=(time.perf_counter() - started) * 1000, request_id=request_id
            )
        return InvokeResult(
            payload=payload,
            duration_ms=(time.perf_counter() - started) * 1000,
            init_ms=cold_init,
            request_id=request_id,
        )

    def stop(self) -> None:
        self._handler = None


class FunctionRuntime:
    """A function's pool of environments; ``invoke`` is thread-safe."""

    def __init__(
        self,
        spec: FunctionSpec,
        *,
        env: dict[str, str],
        concurrency: int = 1,
        isolation: str = "process",
        log: IO[bytes] | None = None,
    ) -> None:
        if isolation not in ("process", "thread"):
            raise ValueError(f"isolation must be 'process' or 'thread', not {isolation!r}")
        self.spec = spec
        self.env = env
        self.isolation = isolation
        self.concurrency = 1 if isolation == "thread" else max(1, concurrency)
        self.log = log
        # Last in, first out: the most recently used (warmest) environment serves the next
        # invocation, as Lambda prefers; the others are only used when invocations overlap.
        self._idle: queue.Queue[Environment] = queue.LifoQueue()
        self._all: list[Environment] = []
        self._lock = threading.Lock()
        self._closed = False
        self.invocations = 0

    def _new_env(self) -> Environment:
        if self.isolation == "thread":
            return InlineEnvironment(self.spec)
        return ProcessEnvironment(self.spec, self.env, self.log)

    def warm(self, count: int | None = None) -> list[Environment]:
        """Starts up to ``count`` (default: all) environments now; returns them (started)."""
        wanted = self.concurrency if count is None else min(count, self.concurrency)
        started: list[Environment] = []
        with self._lock:
            while len(self._all) < wanted and not self._closed:
                env = self._new_env()
                self._all.append(env)
                started.append(env)
        threads = [threading.Thread(target=e.start, daemon=True) for e in started]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for e in started:
            self._idle.put(e)
        return started

    def _acquire(self) -> Environment:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            if len(self._all) < self.concurrency:
                env = self._new_env()
                self._all.append(env)
                return env  # started (cold) by its first invoke
        return self._idle.get()

    def invoke(self, event: dict[str, Any]) -> InvokeResult:
        if self._closed:
            return InvokeResult(error={"errorType": "ServiceException", "errorMessage": "stack stopped"})
        request_id = str(uuid.uuid4())
        env = self._acquire()
        try:
            self.invocations += 1
            return env.invoke(event, request_id)
        finally:
            self._idle.put(env)

    def stop(self) -> None:
        with self._lock:
            self._closed = True
            envs = list(self._all)
        for env in envs:
            if isinstance(env, ProcessEnvironment):
                env.stop(final=True)
            else:
                env.stop()
