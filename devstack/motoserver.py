"""moto in server mode, patched (``devstack.motopatch``), in a process of its own: both ends.

    python -m devstack.motoserver [--host 127.0.0.1] [--port 0]     # the child (``main``)

    moto = MotoServer("127.0.0.1")                                     # the parent's handle
    endpoint = moto.wait_ready()
    moto.listeners.append(on_mapping_change)
    moto.stop()

Why a separate process: moto answers every SNS/SQS/Lambda call in Python; in the devstack process
it would share one GIL with the pollers and the HTTP front, and with 50 followers that process
alone saturates a core. Its own process lets the two run on both cores.

Protocol on stdout: first line ``{"endpoint": "http://host:port"}``; then one line ``esm`` each time
an event source mapping is created, updated or deleted (the pollers reconcile at once). The
server stops when its stdin closes (the devstack process ended, however it ended) or on SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent


class MotoServerError(RuntimeError):
    """The moto server did not start."""


class MotoServer:
    """``python -m devstack.motoserver`` as a child process of this one (the local stack's, the
    benchmark's). It starts at once; ``wait_ready`` returns its endpoint. ``listeners`` are called
    (from a reader thread) each time an event source mapping changes; the reader also keeps the
    pipe drained when nobody listens."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), *filter(None, [env.get("PYTHONPATH")])])
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "devstack.motoserver", "--host", host, "--port", "0"],
            cwd=str(REPO_ROOT),
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        self.listeners: list[Callable[[], None]] = []
        self.endpoint = ""

    def wait_ready(self) -> str:
        """Blocks until the server announced its endpoint; returns it."""
        assert self.proc.stdout is not None
        first = self.proc.stdout.readline()
        try:
            self.endpoint = str(json.loads(first)["endpoint"])
        except (ValueError, KeyError) as exc:
            raise MotoServerError(f"moto did not start (exit code {self.proc.poll()}).") from exc
        threading.Thread(target=self._read_events, name="devstack-moto-events", daemon=True).start()
        return self.endpoint

    def _read_events(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.strip() == b"esm":
                for callback in list(self.listeners):
                    callback()

    def stop(self, timeout: float = 5) -> None:
        proc = self.proc
        if proc.poll() is None:
            if proc.stdin is not None:
                with contextlib.suppress(OSError):
                    proc.stdin.close()  # the server exits when its stdin closes
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        if proc.stdout is not None:
            proc.stdout.close()


def keep_alive_server(host: str, port: int) -> Any:
    """moto's WSGI app on werkzeug's threaded server (what ``moto.server.ThreadedMotoServer``
    runs), with HTTP/1.1 keep-alive: a client's connection serves request after request, as AWS's
    endpoints do, instead of a new TCP connection and server thread per call.

    werkzeug closes every connection (``Connection: close``) because after a response it drains
    what is left of the request from the socket, which on a kept-alive connection could be the
    next request. Here the whole request body is read before moto sees the request (moto gets it
    from memory), so nothing is left to drain: the drain is switched off and the connection kept."""
    import io

    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug import serving

    moto_app = DomainDispatcherApplication(create_backend_app)

    def body_first(environ: dict[str, Any], start_response: Any) -> Any:
        stream = environ["wsgi.input"]
        if environ.get("wsgi.input_terminated"):  # chunked: werkzeug de-chunks to the end
            body = stream.read()
        else:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = stream.read(length) if length > 0 else b""
        environ["wsgi.input"] = io.BytesIO(body)
        return moto_app(environ, start_response)

    class KeepAliveHandler(MotoRequestHandler):
        protocol_version = "HTTP/1.1"
        wbufsize = -1  # a response leaves in one segment when werkzeug flushes, not one per write

        def setup(self) -> None:
            super().setup()
            # a kept-alive connection must not wait for the client's delayed ACK (Nagle: +40 ms)
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def send_header(self, keyword: str, value: str) -> None:
            closing = keyword.lower() == "connection" and value.lower() == "close"
            if closing and not self.close_connection:
                return  # werkzeug's blanket close (a client's own "Connection: close" still closes)
            super().send_header(keyword, value)

    setattr(serving, "selectors", _NoDrain)  # noqa: B010 - its only use there: the drain
    return serving.make_server(host, port, body_first, threaded=True, request_handler=KeepAliveHandler)


class _NoDrain:
    """Stands in for the ``selectors`` module in ``werkzeug.serving``, whose one use is the
    post-response drain: never readable, so the drain reads nothing (the body was read first)."""

    EVENT_READ = 1

    class DefaultSelector:
        def register(self, *_: Any) -> None:
            return None

        def select(self, timeout: float | None = None) -> list[Any]:
            return []

        def close(self) -> None:
            return None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m devstack.motoserver")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    args = p.parse_args(argv)

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is handled by the devstack process
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    logging.getLogger("moto").setLevel(logging.ERROR)

    from devstack import motopatch, profiling, template

    profiler = profiling.start()
    motopatch.apply()
    template.quiet_moto_cloudformation()
    out_lock = threading.Lock()

    def announce_esm() -> None:
        with out_lock:
            sys.stdout.write("esm\n")
            sys.stdout.flush()

    motopatch.add_esm_listener(announce_esm)

    server = keep_alive_server(args.host, args.port)
    threading.Thread(target=server.serve_forever, name="moto-http", daemon=True).start()
    host, port = str(server.server_address[0]), int(server.server_address[1])
    with out_lock:
        sys.stdout.write(json.dumps({"endpoint": f"http://{host}:{port}"}) + "\n")
        sys.stdout.flush()

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    def watch_stdin() -> None:
        try:
            while sys.stdin.buffer.read(1024):
                pass
        except OSError:
            pass
        stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    while not stop.wait(0.5):
        pass
    profiling.dump(profiler, "moto")
    os._exit(0)  # werkzeug's request threads may still be in a long poll: do not wait for them


if __name__ == "__main__":
    sys.exit(main())
