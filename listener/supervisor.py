"""Which leader streams to hold, and holding them: one thread per group whose leader has a real
broker, read from the table every ``poll_s`` (≤ 10 s), so a new group is picked up and a deleted
one dropped without a restart. A stream that fails to start (credentials missing, broker down)
retries inside its own thread with backoff, reported as the stream's state (``down``, with why:
the group view shows it); the supervisor never dies of one leader.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from listener import health
from listener.handover import Leader
from tradecopier.dal.copier import CopierStore
from tradecopier.domain.enums import BrokerName
from tradecopier.observability import logger

REAL_BROKERS = frozenset({BrokerName.TRADOVATE, BrokerName.PROJECTX})
METRICS_EVERY_S = 60.0


class Stream(Protocol):
    def run(self, stop: threading.Event) -> None: ...


Report = Callable[[Leader, str, str], None]
"""Stores a leader stream's state (leader, state, reason) where the group view reads it."""


@dataclass
class _Held:
    stop: threading.Event
    thread: threading.Thread


@dataclass
class Supervisor:
    store: CopierStore
    open_stream: Callable[[Leader], Stream]
    poll_s: float = 5.0
    report: Report | None = None
    held: dict[Leader, _Held] = field(default_factory=dict)

    def leaders(self) -> set[Leader]:
        """Groups whose leader is at a real broker, now (a group deleted meanwhile is skipped)."""
        out = set()
        for group_id in self.store.list_group_ids():
            item = self.store.get_group(group_id)
            if item is not None and item.group.leader.broker in REAL_BROKERS:
                leader = item.group.leader
                out.add(Leader(group_id, leader.account_id, leader.broker.value))
        return out

    def reconcile(self) -> None:
        wanted = self.leaders()
        for leader in set(self.held) - wanted:
            logger.info("listener: leader dropped", extra={"group_id": leader.group_id})
            self.held.pop(leader).stop.set()
            health.stream_dropped(leader.group_id)
        for leader in wanted - set(self.held):
            logger.info(
                "listener: leader picked up", extra={"group_id": leader.group_id, "broker": leader.broker}
            )
            stop = threading.Event()
            thread = threading.Thread(
                target=self._hold, args=(leader, stop), name=f"listener-{leader.group_id}", daemon=True
            )
            self.held[leader] = _Held(stop, thread)
            health.stream_state(leader.group_id, False)
            thread.start()

    def _hold(self, leader: Leader, stop: threading.Event) -> None:
        delay = 1.0
        while not stop.is_set():
            try:
                stream = self.open_stream(leader)
            except Exception as error:  # credentials missing, broker unknown, table unreachable
                why = f"{type(error).__name__}: {error}"
                health.rejected(leader.group_id, "stream_not_opened", why)
                self._report(leader, "down", f"stream not opened: {why}")
                stop.wait(delay)
                delay = min(delay * 2, 60.0)
                continue
            stream.run(stop)
            return

    def _report(self, leader: Leader, state: str, reason: str) -> None:
        if self.report is None:
            return
        try:
            self.report(leader, state, reason)
        except Exception:  # the table being unreachable must not end the retries
            logger.exception("listener: stream state not stored", extra={"group_id": leader.group_id})

    def run(self, stop: threading.Event) -> None:
        flushed = time.monotonic()
        while not stop.is_set():
            try:
                self.reconcile()
            except Exception:
                logger.exception("listener: could not read the groups; keeping the streams held")
            if time.monotonic() - flushed >= METRICS_EVERY_S:
                health.flush()
                flushed = time.monotonic()
            stop.wait(self.poll_s)
        self.stop_all()

    def stop_all(self, join_s: float = 5.0) -> None:
        for held in self.held.values():
            held.stop.set()
        for held in self.held.values():
            held.thread.join(timeout=join_s)
        self.held.clear()
