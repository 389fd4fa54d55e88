"""What the listener's end-to-end tests share, whatever the broker: the listener started and
killed through its supervisor, a leader event awaited until the follower's copy is delivered."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from listener.app import ListenerApp
from listener.streams.session import Timings
from listener.supervisor import Supervisor
from tests.pipeline import Pipeline

FOLLOWER = "EVAL-1"
FAST = {"silence_s": 1.5, "backoff_base_s": 0.1, "backoff_cap_s": 0.5, "healthy_after_s": 5.0}


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for: {what}")


@dataclass
class ListenerWorld:
    pipeline: Pipeline
    group_id: str
    app: ListenerApp
    running: list[tuple[threading.Event, threading.Thread]] = field(default_factory=list)

    def streams_ready(self) -> bool:  # pragma: no cover - each broker's world says
        raise NotImplementedError

    def start_listener(self, **timings: Any) -> Supervisor:
        self.app.timings = lambda: Timings(**{**FAST, **timings})  # type: ignore[method-assign]
        supervisor = self.app.supervisor()
        supervisor.poll_s = 0.2
        stop = threading.Event()
        thread = threading.Thread(target=supervisor.run, args=(stop,), daemon=True)
        thread.start()
        self.running.append((stop, thread))
        wait_for(self.streams_ready, "the listener's stream is subscribed")
        return supervisor

    def kill_listener(self) -> None:
        stop, thread = self.running.pop()
        stop.set()
        thread.join(timeout=10)
        assert not thread.is_alive()

    def kill_all(self) -> None:
        while self.running:
            self.kill_listener()

    def copied(self, event_id: str) -> dict[str, Any]:
        """The follower's copy of ``event_id`` once the listener handed it over and it was delivered."""
        found: dict[str, Any] = {}

        def done() -> bool:
            reply = self.pipeline.call("GET", f"/groups/{self.group_id}/events/{event_id}")
            if reply.status != 200:
                return False
            self.pipeline.deliver_once()
            copies = self.pipeline.copies(self.group_id, event_id)
            found.update(copies.get(FOLLOWER, {}))
            return found.get("status") not in (None, "pending")

        wait_for(done, f"{event_id} copied")
        return found

    def event_ids(self) -> list[str]:
        reply = self.pipeline.call("GET", f"/groups/{self.group_id}/events?limit=100")
        return sorted(e["event_id"] for e in reply.body["events"])

    def wait_ids(self, prefix: str) -> list[str]:
        wait_for(lambda: any(e.startswith(prefix) for e in self.event_ids()), prefix)
        return [e for e in self.event_ids() if e.startswith(prefix)]
