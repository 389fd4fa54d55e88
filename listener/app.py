"""Wiring: settings → the store, the sink, the state store and one stream factory per broker.

A Tradovate leader's REST and websocket auth go through the same shared token as the executors'
(``brokers/tradovate/lease.py``: one token item per Tradovate user in the copier table, sealed with
``BROKER_TOKEN_KEY_ID``), so the listener and the executors never hold two logins of one user:
Tradovate allows two sessions per user (the trader's platform holds one) and a third login closes
the oldest. Without a token key (a stack without one) it keeps its own token, like the executors.
"""

from __future__ import annotations

from dataclasses import dataclass

from listener.handover import Handover, Leader
from listener.settings import ListenerSettings
from listener.sink import IngestSink
from listener.streams.projectx import PREFIX as PROJECTX_PREFIX
from listener.streams.projectx import ProjectXStream
from listener.streams.session import Timings
from listener.streams.tradovate import PREFIX as TRADOVATE_PREFIX
from listener.streams.tradovate import TradovateStream
from listener.supervisor import Stream, Supervisor
from tradecopier.brokers.base import BrokerRejected
from tradecopier.brokers.credentials import broker_credentials
from tradecopier.brokers.projectx.broker import ProjectXBroker
from tradecopier.brokers.projectx.config import ProjectXConfig
from tradecopier.brokers.tradovate.auth import SharedStore
from tradecopier.brokers.tradovate.broker import TradovateBroker
from tradecopier.brokers.tradovate.config import TradovateConfig
from tradecopier.clock import Clock, utc_now
from tradecopier.dal.copier import CopierStore
from tradecopier.dal.copier.listener import ListenerStateStore
from tradecopier.fanout.publish import Publisher, SnsPublisher


@dataclass
class ListenerApp:
    settings: ListenerSettings
    store: CopierStore
    states: ListenerStateStore
    sink: IngestSink
    clock: Clock = utc_now

    @classmethod
    def build(cls, settings: ListenerSettings, publisher: Publisher | None = None) -> ListenerApp:
        table, days = settings.copier_table_name, settings.event_retention_days
        store = CopierStore(table, days, clock=utc_now)
        sink = IngestSink(store, publisher or SnsPublisher(), clock=utc_now)
        return cls(settings, store, ListenerStateStore(table, days, clock=utc_now), sink)

    def timings(self) -> Timings:
        return Timings(silence_s=self.settings.listener_silence_seconds)

    def open_stream(self, leader: Leader) -> Stream:
        if leader.broker not in ("tradovate", "projectx"):
            raise BrokerRejected(f"no leader stream for {leader.broker} (account {leader.account_id})")
        credentials = broker_credentials(leader.account_id, self.settings)
        if leader.broker == "projectx":
            px = ProjectXBroker(leader.account_id, ProjectXConfig.from_credentials(credentials))
            px_handover = Handover(leader, PROJECTX_PREFIX, self.sink, self.states, clock=self.clock)
            return ProjectXStream(px_handover, px, self.timings())
        config = TradovateConfig.from_credentials(credentials)
        broker = TradovateBroker(leader.account_id, config, shared=self.shared_tokens())
        handover = Handover(leader, TRADOVATE_PREFIX, self.sink, self.states, clock=self.clock)
        return TradovateStream(handover, broker, self.timings())

    def shared_tokens(self) -> SharedStore | None:
        """Where Tradovate tokens are shared with the executors (as ``brokers.registry`` builds it)."""
        key = self.settings.broker_token_key_id
        if key is None:
            return None
        from tradecopier.brokers.tradovate.sealing import KmsSealer
        from tradecopier.brokers.tradovate.store import TokenStore

        return TokenStore(self.settings.copier_table_name), KmsSealer(key)

    def supervisor(self) -> Supervisor:
        return Supervisor(
            self.store, self.open_stream, poll_s=self.settings.listener_poll_seconds, report=self.report
        )

    def report(self, leader: Leader, state: str, reason: str) -> None:
        """A stream that could not be opened, as its state (a stream reports its own afterwards)."""
        self.states.put_stream_state(leader.group_id, leader.account_id, state, reason, self.clock())
