"""moto in server mode, patched (``devstack.motopatch``), in a process of its own.

    python -m devstack.motoserver [--host 127.0.0.1] [--port 0]

Why a separate process: moto answers every SNS/SQS/Lambda call in Python; in the devstack process
it would share one GIL with the pollers and the HTTP front, and with 50 followers that process
alone saturates a core. Its own process lets the two run on both cores.

Protocol on stdout: first line ``{"endpoint": "http://host:port"}``; then one line ``esm`` each time
an event source mapping is created, updated or deleted (the pollers reconcile at once). The
server stops when its stdin closes (the devstack process ended, however it ended) or on SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m devstack.motoserver")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    args = p.parse_args(argv)

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is handled by the devstack process
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    logging.getLogger("moto").setLevel(logging.ERROR)

    from devstack import motopatch, template

    motopatch.apply()
    template.quiet_moto_cloudformation()
    out_lock = threading.Lock()

    def announce_esm() -> None:
        with out_lock:
            sys.stdout.write("esm\n")
            sys.stdout.flush()

    motopatch.add_esm_listener(announce_esm)

    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address=args.host, port=args.port, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
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
    os._exit(0)  # werkzeug's request threads may still be in a long poll: do not wait for them


if __name__ == "__main__":
    sys.exit(main())
