"""From a broker's view of the leader account to accepted leader events, remembering what was handed
over (broker-neutral: every stream calls ``Handover.advance`` with its newest ``LeaderView``).

``advance`` diffs the view last handed over with the new one, gives each event to the sink in
broker-id order, and only when all were accepted stores the new view as the leader's last-seen
state. A crash or an error in between leaves the old state: the next (re)connect diffs again from
it, and the events that did get through come back as ingest ``duplicate`` s — nothing twice,
nothing lost.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from listener import health
from listener.sink import IngestSink
from listener.translate import LeaderView, diff
from tradecopier.clock import Clock, utc_now
from tradecopier.dal.copier.listener import ListenerStateStore
from tradecopier.observability import logger


@dataclass(frozen=True, slots=True)
class Leader:
    """One stream to hold: a group's leader account at a real broker."""

    group_id: str
    account_id: str
    broker: str


@dataclass
class Handover:
    leader: Leader
    prefix: str  # event id prefix of this broker (``tv``, ``px``)
    sink: IngestSink
    states: ListenerStateStore
    clock: Clock = utc_now
    last: LeaderView | None = None
    loaded: bool = field(default=False, init=False)
    stream_was: str | None = field(default=None, init=False)  # the last state given to ``stream``

    def load(self) -> None:
        """The last-seen view from the table (once per process: later reconnects keep ``last``)."""
        if self.loaded:
            return
        stored = self.states.get_listener_state(self.leader.group_id, self.leader.account_id)
        self.last = LeaderView.model_validate_json(stored.view) if stored and stored.view else None
        self.loaded = True

    def advance(self, now: LeaderView) -> int:
        """Hands over what happened since the last view; returns the number of events accepted."""
        self.load()
        result = diff(self.last, now, self.prefix)
        group_id = self.leader.group_id
        for leg in result.late_legs:
            health.rejected(group_id, "late_leg", f"bracket leg {leg} arrived after its entry was copied")
        if result.ours_skipped:
            health.bump("ours_skipped", result.ours_skipped)
        accepted = 0
        for event in result.events:
            if self.sink.emit(group_id, event) == "accepted":
                accepted += 1
        if result.events or self.last is None or now != self.last:
            self.states.put_listener_view(
                group_id, self.leader.account_id, now.model_dump_json(), self.clock()
            )
        if self.last is None:
            logger.info("listener: baseline taken", extra={"group_id": group_id, "orders": len(now.orders)})
        self.last = now
        return accepted

    def stream(self, state: str, reason: str | None = None) -> None:
        self.states.put_stream_state(
            self.leader.group_id, self.leader.account_id, state, reason, self.clock()
        )
        health.stream_state(self.leader.group_id, state == "connected")
        was, self.stream_was = self.stream_was, state
        if was == "connected" and state != "connected":  # down: once per transition
            from tradecopier.logic import alerting

            group_id, account_id = self.leader.group_id, self.leader.account_id
            alerting.leader_down(self.sink.store, group_id, account_id, state, reason, self.clock())
