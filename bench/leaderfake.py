"""The fake Tradovate (REST + user-sync websocket) in a process of its own for the ``listener`` bench
part (``python -m bench.leaderfake``): its CPU is not the listener's nor the executor's, and the
moment a follower's order exists is taken *at the fake*, not through the copier's API.

The child speaks JSON lines: it prints ``{"ready": {rest, ws, symbol}}``, then answers one request
per stdin line (``{"op": "user", "name": ...}`` → the credentials body of a new user with one
account; ``{"op": "synced"}`` → how many websockets are synced) with ``{"reply": ...}``, and
streams, as they happen, ``{"placed": <clOrdId>, "t": <time.time()>}`` for every order placed with
a client order id (the copier tags each copy with one; the fake stamps it when its placement is
done, under its lock, before it answers) and ``{"fill": <orderId>, "id": <fillId>}`` for every
fill. It stops when its stdin closes.

Bench settings, not broker behaviour: sessions per user and the per-user request budget are raised
(each warm executor environment holds its own session per follower user, and the bench measures
the copier, not the broker's throttle); everything else is the doc-faithful fake as tests use it.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from types import TracebackType
from typing import Any

PRICE = 21450.25
PASSWORD, APP_ID, CID, SECRET = "bench-pw", "bench", 7, "bench-secret"


def _serve() -> int:
    from devstack.brokers.tradovate import FakeTradovate, PropsEvent
    from devstack.brokers.tradovate_ws import FakeTradovateSocket

    out: queue.Queue[dict[str, Any] | None] = queue.Queue()

    def on_event(event: PropsEvent) -> None:  # under the fake's lock: stamp and enqueue only
        entity = event.entity
        if event.event_type != "Created":
            return
        if event.entity_type == "command" and entity.get("clOrdId"):
            out.put({"placed": entity["clOrdId"], "t": time.time()})
        elif event.entity_type == "fill":
            out.put({"fill": entity["orderId"], "id": entity["id"]})

    def write() -> None:
        while (line := out.get()) is not None:
            sys.stdout.write(json.dumps(line) + "\n")
            sys.stdout.flush()

    fake = FakeTradovate()
    fake.max_sessions = 1000
    fake.user_limits = (10**9, None)
    fake.add_listener(on_event)
    rest = fake.start()
    symbol = str(fake.contract("NQ")["name"])
    fake.set_market_price(symbol, PRICE)
    socket = FakeTradovateSocket(fake)
    ws = socket.start()
    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    out.put({"ready": {"rest": rest, "ws": ws, "symbol": symbol}})
    for line in sys.stdin:
        request = json.loads(line)
        if request["op"] == "user":
            user = fake.add_user(request["name"], PASSWORD, app_id=APP_ID, cid=CID, sec=SECRET)
            fake.add_account(user, request["name"].upper(), balance=50_000)
            reply: Any = _credentials(request["name"], rest, ws)
        else:
            reply = socket.synced_sockets()
        out.put({"reply": reply})
    out.put(None)
    writer.join(timeout=5)
    socket.stop()
    fake.stop()
    return 0


def _credentials(name: str, rest: str, ws: str) -> dict[str, Any]:
    """The ``PUT /accounts/{id}/credentials`` body of the user ``name`` (its account: ``NAME``)."""
    return {
        "broker": "tradovate",
        "api_url": rest,
        "ws_url": ws,
        "username": name,
        "password": PASSWORD,
        "app_id": APP_ID,
        "cid": CID,
        "sec": SECRET,
        "broker_account": name.upper(),
    }


def login_body(name: str) -> dict[str, Any]:
    """What the trader's platform posts to ``auth/accesstokenrequest`` as the user ``name``."""
    return {
        "name": name,
        "password": PASSWORD,
        "appId": APP_ID,
        "appVersion": "1.0",
        "cid": CID,
        "sec": SECRET,
    }


class LeaderFake:
    """The parent's side: start the child, ask it, and wait for client order ids to be placed."""

    def __init__(self) -> None:
        self.rest = self.ws = self.symbol = ""
        self._child: subprocess.Popen[str] | None = None
        self._cond = threading.Condition()
        self._placed: dict[str, float] = {}
        self._fills: dict[int, int] = {}  # order id -> its first fill id
        self._replies: queue.Queue[Any] = queue.Queue()
        self._ready: queue.Queue[dict[str, Any]] = queue.Queue()

    def __enter__(self) -> LeaderFake:
        self._child = subprocess.Popen(
            [sys.executable, "-m", "bench.leaderfake"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        threading.Thread(target=self._read, daemon=True).start()
        try:
            ready = self._ready.get(timeout=60)
        except queue.Empty:
            self.__exit__(None, None, None)
            raise RuntimeError("the fake Tradovate did not start") from None
        self.rest, self.ws, self.symbol = ready["rest"], ready["ws"], ready["symbol"]
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        child, self._child = self._child, None
        if child is None:
            return
        if child.stdin is not None:
            child.stdin.close()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(timeout=5)

    def _read(self) -> None:
        assert self._child is not None and self._child.stdout is not None
        for line in self._child.stdout:
            message = json.loads(line)
            if "placed" in message:
                with self._cond:
                    self._placed.setdefault(message["placed"], message["t"])
                    self._cond.notify_all()
            elif "fill" in message:
                with self._cond:
                    self._fills.setdefault(int(message["fill"]), int(message["id"]))
                    self._cond.notify_all()
            elif "reply" in message:
                self._replies.put(message["reply"])
            else:
                self._ready.put(message["ready"])

    def _ask(self, request: dict[str, Any]) -> Any:
        assert self._child is not None and self._child.stdin is not None
        self._child.stdin.write(json.dumps(request) + "\n")
        self._child.stdin.flush()
        return self._replies.get(timeout=30)

    def add_user(self, name: str) -> dict[str, Any]:
        """A new user with one account (``NAME``); its credentials body."""
        body: dict[str, Any] = self._ask({"op": "user", "name": name})
        return body

    def synced(self) -> int:
        """How many user-sync websockets are synced (the listener's streams)."""
        return int(self._ask({"op": "synced"}))

    def wait_placed(self, client_order_ids: list[str], timeout: float) -> list[float] | None:
        """When the fake placed each of these orders (``time.time()``), or None if not all in time."""
        with self._cond:
            done = self._cond.wait_for(
                lambda: all(c in self._placed for c in client_order_ids), timeout=timeout
            )
            return [self._placed.pop(c) for c in client_order_ids] if done else None

    def wait_fill(self, order_id: int, timeout: float) -> int | None:
        """The first fill id of ``order_id`` (None: no fill in time)."""
        with self._cond:
            self._cond.wait_for(lambda: order_id in self._fills, timeout=timeout)
            return self._fills.pop(order_id, None)


if __name__ == "__main__":
    sys.exit(_serve())
