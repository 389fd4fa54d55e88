"""ProjectX's SignalR user hub for one leader (broker notes §4), on ``websockets``' sync client.

Why hand-written: the maintained SignalR clients on PyPI are either asyncio (``pysignalr``, on
websockets + aiohttp) or bring their own thread model and dependencies (``signalrcore``), none is
installed, and the JSON hub protocol a listener needs is small (records ending in ``0x1E``, a
handshake, invocations, pings, close) — so this speaks it on ``websockets`` (maintained, pinned).

One session: ``POST <hub>/negotiate?negotiateVersion=1`` with the bearer token → ``connectionToken``
(§4.5) → WebSocket ``<hub>?id=<connectionToken>&access_token=<token>`` (the docs put the token in
the query, §4.1; the header is sent too) → handshake ``{"protocol":"json","version":1}␞`` → ``{}␞``
→ ``SubscribeOrders`` / ``SubscribePositions`` / ``SubscribeTrades`` (accountId), each awaited to
its Completion → then the REST snapshot (``Order/search``, ``Position/searchOpen``,
``Trade/search``) merged into the cache: there is no replay (§4.3), so what happened while the hub
was down comes from REST, once, diffed against what was last handed over (``Handover``). Then
records: type 1 ``GatewayUser*`` events (wrapped ``{action, data}`` live or bare, both parsed:
``parsing.event_data``), 6 pings, 7 Close (→ reconnect). ``Order/search`` rather than
``searchOpen``: an order placed and filled while the hub was down is no longer open.

Staying connected: a ping every ``PING_S`` (15 s, the server's client timeout is 30 s, §4.6); the
watchdog reconnects a hub silent for ``max(silence_s, SERVER_TIMEOUT_S)`` (the server pings only
every 15 s); the REST token is renewed ahead of expiry through the adapter's token cache
(``Auth/validate``, ``keepalive_s``) — the socket was authorised at connect and stays open; a
reconnect negotiates with the current token, and a 401 on negotiate drops it (one login). Every
record that cannot be used — malformed, unknown, an event of another account — is logged with the
leader and counted (``health.rejected``), never fatal.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from websockets.sync.client import ClientConnection, connect

from listener import health
from listener.handover import Handover
from listener.ours import is_copier_order
from listener.streams.projectx_entities import TARGETS, HubCache, MalformedEntity, leader_view
from listener.streams.session import Reconnect, ReconnectingStream, Timings
from tradecopier.brokers import http as transport
from tradecopier.brokers.projectx import parsing
from tradecopier.brokers.projectx.broker import ProjectXBroker
from tradecopier.brokers.tokens import Token

PREFIX = "px"
RS = "\x1e"
PING_S = 15.0  # §4.6: the ASP.NET client's default
SERVER_TIMEOUT_S = 30.0  # §4.6: a server silent this long is gone (it pings every 15 s)
LOOKBACK = timedelta(hours=24)  # the REST snapshot's window (Order/search, Trade/search need a start)
SUBSCRIPTIONS = ("SubscribeOrders", "SubscribePositions", "SubscribeTrades")


def record(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":")) + RS


def split_records(text: str) -> tuple[list[Any], int]:
    """A text frame's records (one JSON value before each ``0x1E``) and how many were unreadable."""
    out, bad = [], 0
    for raw in text.split(RS):
        if not raw.strip():
            continue
        try:
            out.append(json.loads(raw))
        except ValueError:
            bad += 1
    return out, bad


def websocket_url(hub_url: str, connection_token: str | None, token: str) -> str:
    parts = urlsplit(hub_url)
    scheme = {"https": "wss", "http": "ws"}.get(parts.scheme, parts.scheme)
    query = ([f"id={quote(connection_token)}"] if connection_token else []) + [f"access_token={quote(token)}"]
    return urlunsplit((scheme, parts.netloc, parts.path, "&".join(query), ""))


@dataclass
class ProjectXStream(ReconnectingStream):
    handover: Handover
    broker: ProjectXBroker
    timings: Timings = field(default_factory=Timings)
    monotonic: Callable[[], float] = time.monotonic
    cache: HubCache = field(default_factory=HubCache)
    sessions: int = 0
    unreadable: set[int] = field(default_factory=set)

    # --- one session ------------------------------------------------------------------------

    def session(self, stop: threading.Event) -> None:
        self.sessions += 1
        token = self.broker.http.tokens.get()
        account_id = self.broker.account.id
        secret = token.value.get_secret_value()
        url = websocket_url(self.broker.config.rtc_url, self._negotiate(token), secret)
        with connect(
            url,
            additional_headers=token.bearer(),
            open_timeout=self.timings.open_timeout_s,
            ping_interval=None,  # SignalR's own pings (type 6) and the watchdog instead
            close_timeout=1,
            compression=None,
            proxy=None,
            max_size=16 * 2**20,
        ) as ws:
            ws.send(record({"protocol": "json", "version": 1}))
            messages = self._messages(ws, stop)
            self._await_handshake(messages)
            for invocation, target in enumerate(SUBSCRIPTIONS):
                ws.send(
                    record(
                        {
                            "type": 1,
                            "invocationId": str(invocation),
                            "target": target,
                            "arguments": [account_id],
                        }
                    )
                )
            self._await_completions(messages, {str(i) for i in range(len(SUBSCRIPTIONS))})
            self._rest_snapshot(account_id)
            self._advance()
            self.handover.stream("connected")
            self._follow(messages)

    def _negotiate(self, token: Token) -> str | None:
        """The connection token of ``POST <hub>/negotiate?negotiateVersion=1`` (§4.5)."""
        reply = transport.request(
            "POST",
            self.broker.config.rtc_url.rstrip("/") + "/negotiate?negotiateVersion=1",
            headers=token.bearer(),
            what="projectx hub negotiate",
        )
        if reply.status == 401:
            self.broker.http.tokens.invalidate(token)
            raise Reconnect("negotiate refused the token (HTTP 401)")
        body = reply.body if isinstance(reply.body, dict) else {}
        if reply.status != 200 or "error" in body:
            raise Reconnect(f"negotiate answered HTTP {reply.status}: {body.get('error')}")
        found = body.get("connectionToken") or body.get("connectionId")  # v1 / v0
        if not isinstance(found, str):
            raise Reconnect("negotiate answered without a connection token")
        return found

    def _messages(self, ws: ClientConnection, stop: threading.Event) -> Iterator[Any]:
        """Records as they come; pings sent, the watchdog and the token keep-alive run between."""
        silence_s = max(self.timings.silence_s, SERVER_TIMEOUT_S)
        ping = (record({"type": 6}), PING_S)
        for raw in self.texts(ws, stop, ping, silence_s, self.broker.http.tokens.get):
            messages, bad = split_records(raw)
            for _ in range(bad):
                health.rejected(self.group_id, "malformed_frame", raw[:120])
            yield from messages

    def _await_handshake(self, messages: Iterator[Any]) -> None:
        deadline = self.monotonic() + self.timings.open_timeout_s
        for message in messages:
            if isinstance(message, dict) and not message:
                return
            if isinstance(message, dict) and "error" in message:
                raise Reconnect(f"handshake refused: {message['error']}")
            if self.monotonic() > deadline:
                break
        raise Reconnect("no handshake answer")

    def _await_completions(self, messages: Iterator[Any], waiting: set[str]) -> None:
        deadline = self.monotonic() + self.timings.open_timeout_s
        for message in messages:
            if (
                isinstance(message, dict)
                and message.get("type") == 3
                and message.get("invocationId") in waiting
            ):
                if message.get("error"):
                    raise Reconnect(f"subscription refused: {message['error']}")
                waiting.discard(str(message["invocationId"]))
                if not waiting:
                    return
            else:
                self._handle(message)
            if self.monotonic() > deadline:
                break
        raise Reconnect(f"no answer to the subscriptions {sorted(waiting)}")

    def _follow(self, messages: Iterator[Any]) -> None:
        for message in messages:
            if self._handle(message):
                self._advance()

    # --- messages ---------------------------------------------------------------------------

    def _handle(self, message: Any) -> bool:
        """One record; True when it changed the leader's rows."""
        kind = message.get("type") if isinstance(message, dict) else None
        if kind is None:
            health.rejected(self.group_id, "malformed_message", str(message))
            return False
        if kind == 7:
            raise Reconnect(f"closed by the server: {message.get('error')}")
        if kind in (3, 6):
            return False
        target = message.get("target")
        if kind == 1 and target == "GatewayLogout":
            raise Reconnect("logged out by the server")
        if kind == 1 and target in TARGETS:
            return self._event(str(target), message.get("arguments"))
        if kind == 1 and target == "GatewayUserAccount":
            return False  # not subscribed; balances are not leader events
        health.rejected(self.group_id, "unknown_message", str(message))
        return False

    def _event(self, target: str, arguments: Any) -> bool:
        data = parsing.event_data(arguments[0]) if isinstance(arguments, list) and arguments else None
        if data is None:
            health.rejected(self.group_id, "malformed_entity", f"{target} without a payload")
            return False
        if data.get("accountId") != self.broker.account.id:
            health.rejected(self.group_id, "other_account", f"{target} of account {data.get('accountId')}")
            return False
        try:
            return self.cache.apply(target, data)
        except MalformedEntity as error:
            health.rejected(self.group_id, "malformed_entity", str(error))
            return False

    # --- the view ---------------------------------------------------------------------------

    def _rest_snapshot(self, account_id: int) -> None:
        start = (datetime.now(UTC) - LOOKBACK).isoformat()
        window = {"accountId": account_id, "startTimestamp": start}
        orders = self.broker.http.post("Order/search", window).get("orders") or []
        positions = (
            self.broker.http.post("Position/searchOpen", {"accountId": account_id}).get("positions") or []
        )
        trades = self.broker.http.post("Trade/search", window).get("trades") or []
        try:
            self.cache.load_snapshot(orders, positions, trades)
        except MalformedEntity as error:
            raise Reconnect(f"unreadable REST snapshot: {error}") from None

    def _advance(self) -> None:
        view, unreadable = leader_view(self.cache, self.broker.account.id, is_copier_order)
        for order_id in set(unreadable) - self.unreadable:
            self.unreadable.add(order_id)
            health.rejected(self.group_id, "unreadable_order", f"order {order_id}")
        self.handover.advance(view)
