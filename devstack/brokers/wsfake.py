"""What the fake brokers' websocket servers share (``tradovate_ws``, ``projectx_hub``): a
``websockets`` sync server on its own port and thread, and the fault knobs every stream test uses —
cut every socket, go silent, close the next handshake(s)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Protocol

from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve


class _HasConn(Protocol):
    conn: ServerConnection


class WsFake:
    path = "/"
    scheme = "ws"
    thread_name = "fake-ws"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._silent = threading.Event()
        self._close_next_handshake = 0
        self.connections = 0
        self._server: Server | None = None
        self._thread: threading.Thread | None = None

    def _serve(self, conn: ServerConnection) -> None:  # pragma: no cover - each fake serves
        raise NotImplementedError

    def _all(self) -> list[Any]:  # pragma: no cover - each fake keeps its sockets
        raise NotImplementedError

    def _process_request(self, conn: ServerConnection, request: Request) -> Response | None:
        return None

    def start(self, port: int = 0, host: str = "127.0.0.1") -> str:
        hook: Callable[[ServerConnection, Request], Response | None] = self._process_request
        self._server = serve(
            self._serve, host, port, process_request=hook, ping_interval=None, compression=None, max_size=None
        )
        self._thread = threading.Thread(target=self._server.serve_forever, name=self.thread_name, daemon=True)
        self._thread.start()
        return self.url

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("not started")
        host, port = self._server.socket.getsockname()[:2]
        return f"{self.scheme}://{host}:{port}{self.path}"

    def stop(self) -> None:
        self.drop()
        if self._server is not None:
            self._server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    # --- fault knobs ----------------------------------------------------------------------------
    def drop(self) -> None:
        """Every open socket is cut (TCP closed, no close frame)."""
        sockets: list[_HasConn] = self._all()
        for sock in sockets:
            sock.conn.close_socket()

    def go_silent(self) -> None:
        """Nothing at all is sent (heartbeats included) until ``speak``; what is queued is lost."""
        self._silent.set()

    def speak(self) -> None:
        self._silent.clear()

    def close_next_handshake(self, times: int = 1) -> None:
        with self._lock:
            self._close_next_handshake += times

    def _count_connection(self) -> bool:
        """Under the lock: one more connection; True when this one is to be closed mid-handshake."""
        self.connections += 1
        close_early = self._close_next_handshake > 0
        self._close_next_handshake -= int(close_early)
        return close_early
