"""What every leader stream shares: its timings, the reconnect loop (backoff with jitter, reset
after a healthy session; any failure logged, counted and retried — a bug never ends a leader's
stream) and the stream state it reports (``Handover.stream``). A broker's stream supplies one
``session(stop)``: connect, snapshot, follow until it raises ``Reconnect`` (or the socket fails).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from websockets.exceptions import WebSocketException
from websockets.sync.client import ClientConnection

from listener import health
from listener.backoff import Backoff
from listener.handover import Handover
from tradecopier.brokers.base import BrokerError
from tradecopier.observability import logger


class Reconnect(Exception):
    """End this session and open a new one (after a backoff)."""


@dataclass
class Timings:
    silence_s: float = 10.0  # watchdog: a socket silent this long is reconnected
    open_timeout_s: float = 10.0
    keepalive_s: float = 60.0  # the REST token is renewed ahead of expiry this often
    backoff_base_s: float = 1.0
    backoff_cap_s: float = 60.0
    healthy_after_s: float = 30.0


class Watchdog:
    """Silence timing: ``heard()`` on every frame; ``check()`` raises ``Reconnect`` past ``silence_s``."""

    def __init__(self, silence_s: float, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.silence_s, self.monotonic = silence_s, monotonic
        self.last = monotonic()

    def heard(self) -> None:
        self.last = self.monotonic()

    def check(self) -> None:
        quiet = self.monotonic() - self.last
        if quiet > self.silence_s:
            raise Reconnect(f"silent for {quiet:.1f} s")


class ReconnectingStream:
    """Mixin: ``run`` holds the stream until ``stop``; subclasses define ``session``."""

    handover: Handover
    timings: Timings
    monotonic: Callable[[], float]

    @property
    def group_id(self) -> str:
        return self.handover.leader.group_id

    def session(self, stop: threading.Event) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def run(self, stop: threading.Event) -> None:
        backoff = Backoff(self.timings.backoff_base_s, self.timings.backoff_cap_s)
        while not stop.is_set():
            started = self.monotonic()
            why = "stopped"
            try:
                self.session(stop)
            except Reconnect as reason:
                why = str(reason)
            except (OSError, TimeoutError, WebSocketException, BrokerError) as error:
                why = f"{type(error).__name__}: {error}"
            except Exception as error:  # a bug must not end the leader's stream: log, back off, retry
                logger.exception("listener: session failed", extra={"group_id": self.group_id})
                why = f"unexpected {type(error).__name__}"
            if stop.is_set():
                break
            if self.monotonic() - started > self.timings.healthy_after_s:
                backoff.reset()
            health.reconnected(self.group_id, why)
            self._safe_state("reconnecting", why)
            stop.wait(backoff.next())
        self._safe_state("down", "listener stopped")

    def texts(
        self,
        ws: ClientConnection,
        stop: threading.Event,
        heartbeat: tuple[str, float],
        silence_s: float,
        keepalive: Callable[[], object],
    ) -> Iterator[str]:
        """Text frames as they come; between them our heartbeat (text, every s) is sent, the token
        kept alive (``keepalive`` every ``timings.keepalive_s``) and the broker's silence watched."""
        watchdog = Watchdog(silence_s, self.monotonic)
        last_tx = last_keepalive = self.monotonic()
        while not stop.is_set():
            now = self.monotonic()
            if now - last_tx >= heartbeat[1]:
                ws.send(heartbeat[0])
                last_tx = now
            if now - last_keepalive >= self.timings.keepalive_s:
                keepalive()  # renews ahead of expiry; the socket stays authorised
                last_keepalive = now
            watchdog.check()
            try:
                raw = ws.recv(timeout=0.25)
            except TimeoutError:
                continue
            watchdog.heard()
            if not isinstance(raw, str):
                health.rejected(self.group_id, "binary_frame", f"{len(raw)} bytes")
                continue
            yield raw
            watchdog.heard()  # the watchdog times the broker's silence, not our own work

    def _safe_state(self, state: str, reason: str | None) -> None:
        try:
            self.handover.stream(state, reason)
        except Exception:  # the table being unreachable must not end the loop
            logger.exception("listener: stream state not stored", extra={"group_id": self.group_id})
