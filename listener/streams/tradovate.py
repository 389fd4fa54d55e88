"""Tradovate's user-sync websocket for one leader (broker notes §5), on ``websockets``' sync client.

No maintained Python client speaks Tradovate's socket (notes §6: none of the PyPI packages does),
and the protocol is small — SockJS-like text frames over a plain websocket — so this writes that
part on ``websockets`` (maintained, already pinned for the dev tools) instead of taking a package.

One session: connect → ``o`` → ``authorize\\n0\\n\\n<token>`` → ``{"i":0,"s":200}`` →
``user/syncrequest\\n1\\n\\n{"users":[<userId>]}`` → its snapshot (``d.users``) → then a REST
snapshot of orders, versions, fills, positions and strategy links through the adapter's client
(``brokers/tradovate``), merged over it: the leader's view now, diffed against what was last handed
over (``Handover``) — what happened while the stream was down is emitted here, once. Then frames:
``h`` (server heartbeat), ``a[...]`` (``props`` entity changes → the view → events; ``shutdown`` →
reconnect), ``c[code,"reason"]`` (closed). The client sends ``[]`` every 2.5 s.

Staying connected: a watchdog reconnects a socket silent for ``silence_s`` (another session may
take the user-data channel over without closing it, §5.4); the REST token is renewed ahead of
expiry by the adapter's token cache (``keepalive_s``), while the authorised socket stays open
(§2.2); reconnects back off exponentially with jitter (``Backoff``), reset after a healthy session.
Every frame that cannot be used — malformed, unknown, an entity of another account of the same
user — is logged with the leader and counted (``health.rejected``), never fatal.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from websockets.sync.client import ClientConnection, connect

from listener import health
from listener.handover import Handover
from listener.ours import is_copier_order
from listener.streams.session import Reconnect, ReconnectingStream, Timings
from listener.streams.tradovate_entities import EntityCache, MalformedEntity, leader_view
from tradecopier.brokers.tradovate.broker import TradovateBroker

PREFIX = "tv"
HEARTBEAT_S = 2.5  # §5.1
REST_LISTS = ("order", "orderVersion", "fill", "position", "orderStrategyLink")


class MalformedFrame(ValueError):
    pass


def parse_frame(text: str) -> tuple[str, Any]:
    """``o`` / ``h`` → (kind, None); ``a[...]`` → ("a", list); ``c[code,reason]`` → ("c", list)."""
    if text in ("o", "h"):
        return text, None
    if text[:1] in ("a", "c"):
        try:
            body = json.loads(text[1:])
        except ValueError:
            raise MalformedFrame(f"unreadable {text[:1]} frame") from None
        if not isinstance(body, list):
            raise MalformedFrame(f"{text[:1]} frame without an array")
        return text[:1], body
    raise MalformedFrame(f"unknown frame {text[:40]!r}")


def request(endpoint: str, request_id: int, body: Any = None, query: str = "") -> str:
    """``endpoint\\nid\\nquery\\nbody`` (§5.2)."""
    payload = body if isinstance(body, str) else ("" if body is None else json.dumps(body))
    return f"{endpoint}\n{request_id}\n{query}\n{payload}"


@dataclass
class TradovateStream(ReconnectingStream):
    handover: Handover
    broker: TradovateBroker
    timings: Timings = field(default_factory=Timings)
    monotonic: Callable[[], float] = time.monotonic
    cache: EntityCache = field(default_factory=EntityCache)
    symbols: dict[int, str] = field(default_factory=dict)
    sessions: int = 0
    unreadable: set[int] = field(default_factory=set)

    # --- one session ------------------------------------------------------------------------

    def session(self, stop: threading.Event) -> None:
        self.sessions += 1
        token = self.broker.http.tokens.get()
        account = self.broker.account
        with connect(
            self.broker.config.ws_url,
            open_timeout=self.timings.open_timeout_s,
            ping_interval=None,  # Tradovate's own heartbeats (§5.1) and the watchdog instead
            close_timeout=1,
            compression=None,
            proxy=None,
            max_size=16 * 2**20,  # a busy user's snapshot can pass the 1 MiB default
        ) as ws:
            frames = self._frames(ws, stop)
            self._expect_open(frames)
            ws.send(request("authorize", 0, token.value.get_secret_value()))
            self._await_response(
                frames, 0, "authorize", token_refused=lambda: self.broker.http.tokens.invalidate(token)
            )
            sync = {"users": [token.user_id]} if token.user_id else {"accounts": [account.id]}
            ws.send(request("user/syncrequest", 1, sync))
            snapshot = self._await_response(frames, 1, "user/syncrequest")
            if not isinstance(snapshot, dict) or "users" not in snapshot:
                raise Reconnect("user/syncrequest answered without a snapshot")
            self.cache.load_snapshot(snapshot)
            self._merge_rest_snapshot()
            self._advance()
            self.handover.stream("connected")
            self._follow(ws, frames, stop)

    def _frames(self, ws: ClientConnection, stop: threading.Event) -> Iterator[tuple[str, Any]]:
        """Frames as they come; heartbeats sent, the watchdog and the token keep-alive run between."""
        heartbeat = ("[]", HEARTBEAT_S)
        for raw in self.texts(ws, stop, heartbeat, self.timings.silence_s, self.broker.http.tokens.get):
            try:
                frame = parse_frame(raw)
            except MalformedFrame as error:
                health.rejected(self.group_id, "malformed_frame", str(error))
                continue
            yield frame

    def _expect_open(self, frames: Iterator[tuple[str, Any]]) -> None:
        for kind, body in frames:
            if kind == "o":
                return
            if kind == "c":
                raise Reconnect(f"closed before open: {body}")
        raise Reconnect("stopped")

    def _await_response(
        self,
        frames: Iterator[tuple[str, Any]],
        request_id: int,
        what: str,
        token_refused: Callable[[], None] | None = None,
    ) -> Any:
        deadline = self.monotonic() + self.timings.open_timeout_s
        for kind, body in frames:
            if kind == "c":
                raise Reconnect(f"closed during {what}: {body}")
            if self.monotonic() > deadline:
                raise Reconnect(f"no answer to {what} in {self.timings.open_timeout_s:g} s")
            if kind != "a":
                continue
            for message in body:
                if isinstance(message, dict) and message.get("i") == request_id and "s" in message:
                    if message["s"] == 200:
                        return message.get("d")
                    if message["s"] == 401 and token_refused is not None:
                        token_refused()
                    raise Reconnect(f"{what} answered {message['s']}: {message.get('d')}")
                self._handle(message)
        raise Reconnect("stopped")

    def _follow(self, ws: ClientConnection, frames: Iterator[tuple[str, Any]], stop: threading.Event) -> None:
        for kind, body in frames:
            if kind == "c":
                raise Reconnect(f"closed by the server: {body}")
            if kind != "a":
                continue
            changed = False
            for message in body:
                changed = self._handle(message) or changed
            if changed:
                self._advance()

    # --- messages ---------------------------------------------------------------------------

    def _handle(self, message: Any) -> bool:
        """One message of an ``a`` frame; True when it changed the leader's entities."""
        if not isinstance(message, dict):
            health.rejected(self.group_id, "malformed_message", str(message))
            return False
        event = message.get("e")
        if event == "shutdown":
            raise Reconnect(f"server shutdown: {message.get('d')}")
        if event == "props":
            return self._props(message.get("d"))
        if event in ("clock", "md") or "i" in message:
            return False
        health.rejected(self.group_id, "unknown_message", str(message))
        return False

    def _props(self, props: Any) -> bool:
        entity = props.get("entity") if isinstance(props, dict) else None
        rows = entity if isinstance(entity, list) else [entity]
        account_id = self.broker.account.id
        try:
            foreign = [
                r
                for r in rows
                if isinstance(r, dict) and self._account_of(props, r) not in (None, account_id)
            ]
            if foreign and len(foreign) == len(rows):
                health.rejected(
                    self.group_id, "other_account", f"{props.get('entityType')} of another account"
                )
                return False
            return self.cache.apply(props)
        except (MalformedEntity, TypeError, ValueError) as error:
            health.rejected(self.group_id, "malformed_entity", str(error))
            return False

    def _account_of(self, props: dict[str, Any], row: dict[str, Any]) -> int | None:
        return self.cache.account_of(str(props.get("entityType")), row)

    # --- the view ---------------------------------------------------------------------------

    def _merge_rest_snapshot(self) -> None:
        """Orders, versions, fills, positions and links over REST, newest wins (notes §5.6)."""
        for entity_type in REST_LISTS:
            rows = self.broker.http.get(f"{entity_type}/list") or []
            if rows:
                self.cache.apply({"entityType": entity_type, "eventType": "Updated", "entity": rows})

    def _advance(self) -> None:
        account_id = self.broker.account.id
        for contract in self.cache.rows["contract"].values():
            if isinstance(contract.get("name"), str):
                self.symbols.setdefault(int(contract["id"]), contract["name"])
        for contract_id in self.cache.contract_ids(account_id) - set(self.symbols):
            self.symbols[contract_id] = self.broker.contracts.by_id(contract_id).name
        view, unreadable = leader_view(self.cache, account_id, self.symbols, is_copier_order)
        for order_id in set(unreadable) - self.unreadable:
            self.unreadable.add(order_id)
            health.rejected(self.group_id, "unreadable_order", f"order {order_id}")
        self.handover.advance(view)


__all__ = ["PREFIX", "Reconnect", "Timings", "TradovateStream"]
