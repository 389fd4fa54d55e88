"""The fake ProjectX user hub (broker notes §4, §6 "Hub"), a SignalR JSON-protocol server over the
:class:`HubEvent` s ``FakeProjectX`` already produces (``add_listener``).

Built from the notes and the SignalR specs they cite (HubProtocol.md, TransportProtocols.md), not
from a client of ours. Served by ``websockets``' sync server on its own port (the REST fake is a
stdlib HTTP server; a real gateway serves the hubs on the ``rtc`` host)::

    hub = FakeProjectXHub(fake); url = hub.start()   # "http://127.0.0.1:<port>/hubs/user"
    hub.drop()                    # every socket cut (TCP closed, no Close message)
    hub.close_all("Server restart")   # Close {"type":7,"error":…,"allowReconnect":true} then closed
    hub.go_silent() / hub.speak() # nothing at all is sent (pings included); events meanwhile are lost
    hub.close_next_handshake()    # the next socket reads the handshake request, then is cut unanswered
    hub.inject("{nonsense\\x1e")  # raw text to every subscribed socket (malformed frames)

Protocol, item by item:
- Negotiate (§4.5): ``POST /hubs/user/negotiate?negotiateVersion=1`` with the token (``access_token``
  query or ``Authorization: Bearer``) → ``{"connectionToken","connectionId","negotiateVersion":1,
  "availableTransports":[{"transport":"WebSockets","transferFormats":["Text","Binary"]}]}``; no or
  a dead token → 401. The WebSocket then opens ``/hubs/user?id=<connectionToken>``: an unknown id →
  404, an id already used → 409. Without ``id`` (``skipNegotiation``, the docs' way, §4.1) the
  socket needs the token itself. Every socket needs a live token (query and/or header).
- Handshake (§4.4): ``{"protocol":"json","version":1}␞`` → ``{}␞``; another protocol →
  ``{"error":"…"}␞`` and closed; nothing within ``handshake_timeout_s`` (15 s) → closed.
- Messages: JSON records each ending in ``0x1E``; several may share one frame (the fake batches
  what is queued). Type 1 invocations ``SubscribeAccounts`` / ``SubscribeOrders|Positions|Trades
  (accountId)`` and their ``Unsubscribe*`` (§4.2) — with an ``invocationId`` answered by a
  Completion ``{"type":3,"invocationId"}`` (no result, §4.4 [unverified]); an unknown target with
  an id → Completion with ``error``. Subscribing to an account of another user is accepted and
  sends nothing (notes §7: unknown whether it errors). Type 6 pings both ways, every ``ping_s``
  (15 s, §4.6) from the server; a client silent for ``client_timeout_s`` (30 s) gets a Close and
  is dropped. Type 7 Close from the client ends the socket.
- Events (§4.3): ``{"type":1,"target":"GatewayUserOrder|Position|Trade|Account","arguments":
  [{"action":n,"data":{…}}]}`` — wrapped as live, null fields omitted, to every socket subscribed
  to that account for that kind; accounts to ``SubscribeAccounts`` sockets of the owning user.
- Nothing is replayed (§4.3): a change while no socket is subscribed is only in REST.
"""

from __future__ import annotations

import json
import queue
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import ServerConnection

from devstack.brokers.projectx import FakeProjectX, HubEvent
from devstack.brokers.wsfake import WsFake

RS = "\x1e"
NO_METHOD = "HubException: Method does not exist."
HUB_PATH = "/hubs/user"
KINDS = {"Orders": "GatewayUserOrder", "Positions": "GatewayUserPosition", "Trades": "GatewayUserTrade"}
Json = dict[str, Any]


def record(message: Json) -> str:
    return json.dumps(message, separators=(",", ":")) + RS


def _json_response(status: int, reason: str, body: Json) -> Response:
    data = json.dumps(body).encode()
    headers = Headers(
        [("Content-Type", "application/json"), ("Content-Length", str(len(data))), ("Connection", "close")]
    )
    return Response(status, reason, headers, data)


def _token(request: Request) -> str | None:
    query = parse_qs(urlsplit(request.path).query)
    if query.get("access_token"):
        return query["access_token"][0]
    scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


@dataclass
class _Socket:
    conn: ServerConnection
    username: str
    outbox: queue.Queue[str] = field(default_factory=queue.Queue)
    accounts: bool = False
    subscribed: dict[str, set[int]] = field(default_factory=lambda: {t: set() for t in KINDS.values()})
    last_rx: float = field(default_factory=time.monotonic)
    open: bool = True

    def wants(self, event: HubEvent, owned: set[int]) -> bool:
        if event.target == "GatewayUserAccount":
            return self.accounts and event.account_id in owned
        return event.account_id in self.subscribed.get(event.target, set()) and event.account_id in owned


class FakeProjectXHub(WsFake):
    path = HUB_PATH
    scheme = "http"
    thread_name = "fake-projectx-hub"

    def __init__(
        self,
        fake: FakeProjectX,
        *,
        ping_s: float = 15.0,
        client_timeout_s: float = 30.0,
        handshake_timeout_s: float = 15.0,
    ) -> None:
        self.fake = fake
        self.ping_s = ping_s
        self.client_timeout_s = client_timeout_s
        self.handshake_timeout_s = handshake_timeout_s
        super().__init__()
        self._sockets: list[_Socket] = []
        self._negotiated: dict[str, str] = {}  # connectionToken → username
        self._used: set[str] = set()
        self.negotiations = 0
        self.invocations: list[str] = []
        fake.add_listener(self._on_event)

    def close_all(self, error: str = "Server restart", allow_reconnect: bool = True) -> None:
        for sock in self._all():
            sock.outbox.put(record({"type": 7, "error": error, "allowReconnect": allow_reconnect}))
            sock.outbox.put("\0close")

    def inject(self, text: str) -> None:
        for sock in self._subscribed():
            sock.outbox.put(text)

    def subscribed_sockets(self) -> int:
        return len(self._subscribed())

    # --- state ----------------------------------------------------------------------------------
    def _all(self) -> list[_Socket]:
        with self._lock:
            return list(self._sockets)

    def _subscribed(self) -> list[_Socket]:
        return [s for s in self._all() if s.accounts or any(s.subscribed.values())]

    def _on_event(self, event: HubEvent) -> None:  # after the REST reply: only enqueue
        data = {k: v for k, v in event.data.items() if v is not None}  # live payloads omit nulls
        message = {"type": 1, "target": event.target, "arguments": [{"action": event.action, "data": data}]}
        for sock in self._subscribed():
            if sock.wants(event, self.fake.account_ids(sock.username)):
                sock.outbox.put(record(message))

    # --- HTTP: negotiate, and the checks before the upgrade ---------------------------------------
    def _process_request(self, conn: ServerConnection, request: Request) -> Response | None:
        parts = urlsplit(request.path)
        path = parts.path.rstrip("/").lower()
        username = self.fake.user_of_token(_token(request))
        if path == HUB_PATH + "/negotiate":
            if username is None:
                return _json_response(401, "Unauthorized", {"error": "Unauthorized"})
            connection_token = secrets.token_urlsafe(16)
            with self._lock:
                self._negotiated[connection_token] = username
                self.negotiations += 1
            return _json_response(
                200,
                "OK",
                {
                    "connectionId": secrets.token_urlsafe(16),
                    "connectionToken": connection_token,
                    "negotiateVersion": 1,
                    "availableTransports": [
                        {"transport": "WebSockets", "transferFormats": ["Text", "Binary"]}
                    ],
                },
            )
        if path != HUB_PATH:
            return _json_response(404, "Not Found", {"error": "unknown path"})
        if username is None:
            return _json_response(401, "Unauthorized", {"error": "Unauthorized"})
        ids = parse_qs(parts.query).get("id")
        if ids:
            with self._lock:
                if ids[0] not in self._negotiated:
                    return _json_response(404, "Not Found", {"error": "No Connection with that ID"})
                if ids[0] in self._used:
                    return _json_response(409, "Conflict", {"error": "Connection ID already in use"})
                self._used.add(ids[0])
        return None

    # --- one socket -----------------------------------------------------------------------------
    def _serve(self, conn: ServerConnection) -> None:
        username = self.fake.user_of_token(_token(conn.request)) if conn.request else None
        if username is None:  # the token expired between the checks
            conn.close_socket()
            return
        sock = _Socket(conn, username)
        with self._lock:
            self._sockets.append(sock)
            close_early = self._count_connection()
        try:
            if self._handshake(sock, close_early):
                threading.Thread(target=self._send_loop, args=(sock,), daemon=True).start()
                self._receive_loop(sock)
        except (ConnectionClosed, TimeoutError, OSError):
            pass
        finally:
            sock.open = False
            with self._lock:
                self._sockets.remove(sock)
            sock.outbox.put("")  # wakes the sender, which then ends
            conn.close_socket()

    def _handshake(self, sock: _Socket, close_early: bool) -> bool:
        text = sock.conn.recv(timeout=self.handshake_timeout_s)
        if close_early:
            return False  # mid-handshake: the request read, never answered
        try:
            request = json.loads(str(text).split(RS, 1)[0])
        except ValueError:
            request = None
        if not isinstance(request, dict) or request.get("protocol") != "json" or request.get("version") != 1:
            sock.conn.send(record({"error": f"Requested protocol is not available: {str(text)[:60]}"}))
            return False
        sock.conn.send(record({}))
        sock.last_rx = time.monotonic()
        return True

    def _send_loop(self, sock: _Socket) -> None:
        last = time.monotonic()
        while sock.open:
            try:
                items = [sock.outbox.get(timeout=0.1)]
            except queue.Empty:
                items = []
            while True:
                try:
                    items.append(sock.outbox.get_nowait())
                except queue.Empty:
                    break
            if self._silent.is_set():
                continue  # silent: nothing is sent and what was queued is lost, as on a dead link
            close = "\0close" in items
            text = "".join(i for i in items if i and i != "\0close")
            try:
                if not text and time.monotonic() - last >= self.ping_s:
                    text = record({"type": 6})
                if text:
                    sock.conn.send(text)
                    last = time.monotonic()
                if close:
                    sock.conn.close_socket()
                    return
            except (ConnectionClosed, OSError):
                return

    def _receive_loop(self, sock: _Socket) -> None:
        while True:
            try:
                text = sock.conn.recv(timeout=0.25)
            except TimeoutError:
                if time.monotonic() - sock.last_rx > self.client_timeout_s and not self._silent.is_set():
                    sock.conn.send(
                        record({"type": 7, "error": "Server timeout elapsed", "allowReconnect": True})
                    )
                    return
                continue
            sock.last_rx = time.monotonic()
            for raw in str(text).split(RS):
                if raw.strip() and not self._message(sock, raw):
                    return

    def _message(self, sock: _Socket, raw: str) -> bool:
        """One client record; False when the socket ends (Close, or a protocol error)."""
        try:
            message = json.loads(raw)
        except ValueError:
            sock.conn.send(
                record({"type": 7, "error": "Connection closed with an error.", "allowReconnect": True})
            )
            return False
        kind = message.get("type") if isinstance(message, dict) else None
        if kind == 7:
            return False
        if kind != 1:
            return True  # pings (6) and the rest: nothing to answer
        target, args, invocation = (
            message.get("target"),
            message.get("arguments") or [],
            message.get("invocationId"),
        )
        self.invocations.append(str(target))
        error = self._invoke(sock, str(target), args)
        if invocation is not None:
            reply: Json = {"type": 3, "invocationId": invocation}
            if error:
                reply["error"] = error
            sock.outbox.put(record(reply))
        return True

    def _invoke(self, sock: _Socket, target: str, args: list[Any]) -> str | None:
        verb = "Subscribe" if target.startswith("Subscribe") else "Unsubscribe"
        noun = target[len(verb) :]
        if noun == "Accounts" and not args:
            sock.accounts = verb == "Subscribe"
            return None
        if noun not in KINDS or len(args) != 1 or not isinstance(args[0], int):
            return f"Failed to invoke '{target}' due to an error on the server. {NO_METHOD}"
        wanted = sock.subscribed[KINDS[noun]]
        if verb == "Subscribe":
            wanted.add(args[0])
        else:
            wanted.discard(args[0])
        return None
