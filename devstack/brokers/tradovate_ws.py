"""The fake Tradovate's user-sync websocket (broker notes §5 and §7 items 12-16), over the entity
changes ``FakeTradovate`` already produces (``add_listener``: the CAP sequences of §5.5).

Built from the notes, not from a client of ours. Served by ``websockets``' sync server on its own
port at ``/v1/websocket`` (the REST fake is a stdlib HTTP server; a real host serves both on one):

    socket = FakeTradovateSocket(fake); url = socket.start()     # "ws://127.0.0.1:<port>/v1/websocket"
    socket.drop()            # every socket closed abruptly (no close frame)
    socket.go_silent()       # no frames at all (heartbeats included) until socket.speak()
    socket.close_next_handshake()   # the next socket gets "o", then is closed before authorize answers
    socket.inject("a[{nonsense")    # a raw text frame to every synced socket (malformed frames)
    socket.shutdown_event("Maintenance")

Protocol, item by item (§7):
12. ``o`` on connect; ``h`` every ``heartbeat_s`` (2.5) while idle; no ``[]`` from the client for
    ``client_timeout_s`` or no ``authorize`` within ``authorize_timeout_s`` → ``c[1000,"..."]`` and close;
    ``shutdown`` event on demand.
13. Requests ``endpoint\\nid\\nquery\\nbody`` split on the first three newlines; raw or JSON-quoted
    token; ``a[{"s","i","d"}]``; unknown endpoint → 404 with a string ``d``; bad token →
    ``{"s":401,"i":0,"d":"Invalid access token"}``; a request before authorize → 401.
14. ``user/syncrequest`` ``{"users":[id]}`` or ``{"accounts":[id]}`` → the snapshot (§5.4) in ``d``,
    then every ``props`` event of those accounts; a second syncrequest on the socket → 400 (notes:
    "only one", [unverified]). Subscribing and taking the snapshot are one step under the fake's
    lock, so nothing falls between them. Events queued while a socket is busy go out together in one
    ``a[...]`` frame (one frame can hold several, I-28).
15. Nothing is replayed: a change while no socket is synced is only in the next snapshot (§5.6).
"""

from __future__ import annotations

import json
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection

from devstack.brokers.tradovate import FakeTradovate, PropsEvent
from devstack.brokers.wsfake import WsFake

Json = dict[str, Any]


@dataclass
class _Socket:
    conn: ServerConnection
    outbox: queue.Queue[str] = field(default_factory=queue.Queue)
    user_id: int | None = None
    accounts: set[int] | None = None  # synced: the accounts whose props it gets
    last_client_heartbeat: float = field(default_factory=time.monotonic)


class FakeTradovateSocket(WsFake):
    path = "/v1/websocket"
    thread_name = "fake-tradovate-ws"

    def __init__(
        self,
        fake: FakeTradovate,
        *,
        heartbeat_s: float = 2.5,
        client_timeout_s: float = 30.0,
        authorize_timeout_s: float = 10.0,
    ) -> None:
        self.fake = fake
        self.heartbeat_s = heartbeat_s
        self.client_timeout_s = client_timeout_s
        self.authorize_timeout_s = authorize_timeout_s
        super().__init__()
        self._sockets: list[_Socket] = []
        self.requests: list[str] = []
        fake.add_listener(self._on_event)

    def _all(self) -> list[_Socket]:
        with self._lock:
            return list(self._sockets)

    def inject(self, frame: str) -> None:
        for sock in self._synced():
            sock.outbox.put(frame)

    def shutdown_event(self, reason_code: str = "Maintenance") -> None:
        message = {"e": "shutdown", "d": {"reasonCode": reason_code, "reason": "fake shutdown"}}
        self.inject("a" + json.dumps([message]))

    def synced_sockets(self) -> int:
        return len(self._synced())

    # --- per socket -----------------------------------------------------------------------------
    def _synced(self) -> list[_Socket]:
        with self._lock:
            return [s for s in self._sockets if s.accounts is not None]

    def _on_event(self, event: PropsEvent) -> None:  # under the fake's lock: only enqueue
        for sock in self._synced():
            if sock.accounts is not None and event.account_id in sock.accounts:
                sock.outbox.put(json.dumps(event.props))

    def _serve(self, conn: ServerConnection) -> None:
        if (conn.request.path if conn.request else "").rstrip("/").lower() != "/v1/websocket":
            conn.close(1008, "unknown path")
            return
        sock = _Socket(conn)
        with self._lock:
            self._sockets.append(sock)
            close_early = self._count_connection()
        sender = threading.Thread(target=self._send_loop, args=(sock,), daemon=True)
        try:
            conn.send("o")
            if close_early:
                conn.recv(timeout=self.authorize_timeout_s)
                conn.close_socket()  # mid-handshake: authorize sent, never answered
                return
            sender.start()
            self._receive_loop(sock)
        except (ConnectionClosed, TimeoutError, OSError):
            pass
        finally:
            with self._lock:
                self._sockets.remove(sock)
            sock.outbox.put("")  # wakes the sender, which then ends
            conn.close_socket()

    def _send_loop(self, sock: _Socket) -> None:
        last = time.monotonic()
        while True:
            try:
                first = sock.outbox.get(timeout=0.1)
            except queue.Empty:
                first = None
            if sock not in self._sockets:
                return
            if self._silent.is_set():
                continue  # silent: nothing at all is sent (queued events are lost, as on a dead link)
            frames = self._batch(sock, first)
            try:
                for frame in frames:
                    sock.conn.send(frame)
                    last = time.monotonic()
                if not frames and time.monotonic() - last >= self.heartbeat_s:
                    sock.conn.send("h")
                    last = time.monotonic()
            except (ConnectionClosed, OSError):
                return

    @staticmethod
    def _batch(sock: _Socket, first: str | None) -> list[str]:
        """Queued props events go out in one ``a[...]`` frame; injected raw frames as they are."""
        items = [] if first is None else [first]
        while True:
            try:
                items.append(sock.outbox.get_nowait())
            except queue.Empty:
                break
        frames, props = [], []
        for item in items:
            if not item:
                continue
            if item.startswith("{"):
                props.append(item)
            else:
                frames.append(item)
        return (["a[" + ",".join(props) + "]"] if props else []) + frames

    def _receive_loop(self, sock: _Socket) -> None:
        opened = time.monotonic()
        while True:
            try:
                text = sock.conn.recv(timeout=0.25)
            except TimeoutError:
                text = None
            now = time.monotonic()
            if text is None:
                if sock.user_id is None and now - opened > self.authorize_timeout_s:
                    sock.conn.send('c[1000,"authorization timeout"]')
                    return
                if now - sock.last_client_heartbeat > self.client_timeout_s:
                    sock.conn.send('c[1000,"heartbeat timeout"]')
                    return
                continue
            if not isinstance(text, str):
                continue
            if text == "[]":
                sock.last_client_heartbeat = now
                continue
            self.requests.append(text.split("\n", 1)[0])
            reply = self._request(sock, text)
            if reply is not None:
                sock.outbox.put("a" + json.dumps([reply]))

    def _request(self, sock: _Socket, text: str) -> Json | None:
        parts = text.split("\n", 3)
        if len(parts) < 2 or not parts[1].strip().lstrip("-").isdigit():
            return None  # not a request: ignored (the notes give no answer for it)
        endpoint, request_id = parts[0].strip().lower(), int(parts[1])
        body = parts[3] if len(parts) > 3 else ""
        if endpoint == "authorize":
            token = body.strip()
            if token.startswith('"'):
                token = str(json.loads(token))
            session = self.fake.session_for_token(token)
            if session is None:
                return {"s": 401, "i": request_id, "d": "Invalid access token"}
            sock.user_id = session[0]
            return {"s": 200, "i": request_id}
        if sock.user_id is None:
            return {"s": 401, "i": request_id, "d": "Access is denied"}
        if endpoint == "user/syncrequest":
            return self._sync(sock, request_id, body)
        return {"s": 404, "i": request_id, "d": f'"Not found: {parts[0]}"'}

    def _sync(self, sock: _Socket, request_id: int, body: str) -> Json:
        if sock.accounts is not None:
            return {"s": 400, "i": request_id, "d": "only one user/syncrequest per socket"}
        try:
            wanted = json.loads(body or "{}")
        except ValueError:
            return {"s": 400, "i": request_id, "d": "malformed body"}
        assert sock.user_id is not None
        owned = set(self.fake.account_ids(sock.user_id))
        if isinstance(wanted.get("accounts"), list):
            accounts = owned & {a for a in wanted["accounts"] if isinstance(a, int)}
        elif wanted.get("users") == [sock.user_id]:
            accounts = owned
        else:
            return {"s": 400, "i": request_id, "d": "users or accounts required"}

        def subscribe() -> None:
            sock.accounts = accounts

        snapshot = self.fake.synced_snapshot(sock.user_id, subscribe)
        return {"s": 200, "i": request_id, "d": snapshot}
