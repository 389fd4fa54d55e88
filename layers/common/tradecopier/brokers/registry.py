"""Which adapter serves an account: ``BROKER_FACTORIES`` maps each ``BrokerName`` to the factory of
its ``BrokerAccount``, and ``open_broker`` is the one place that looks it up.

Adapters are cached per execution environment where that is safe. A paper broker holds no
mutable state of its own (everything lives in its table), so one instance per (account, simulate,
table) is reused across invocations; a change of ``simulate`` gives a new instance. Real adapters
will be cached per account too, so their tokens and connections outlive one invocation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from tradecopier.brokers.base import BrokerAccount, BrokerRejected
from tradecopier.brokers.paper import PaperBroker
from tradecopier.brokers.paper.store import PaperStore
from tradecopier.domain.enums import BrokerName, Simulate
from tradecopier.settings import BrokerSettings

BrokerFactory = Callable[[str, Simulate | None, BrokerSettings], BrokerAccount]
"""``(account_id, simulate, settings) -> adapter``; ``simulate`` only applies to paper accounts."""


class UnsupportedBroker(BrokerRejected):
    """No adapter serves this broker. A business "no" (retrying cannot help): the copy is rejected."""

    code = "unsupported_broker"


def open_broker(
    account_id: str, broker: BrokerName, simulate: Simulate | None, settings: BrokerSettings
) -> BrokerAccount:
    """The adapter for ``account_id`` at ``broker``; ``simulate`` only applies to paper accounts."""
    factory = BROKER_FACTORIES.get(broker)
    if factory is None:
        raise UnsupportedBroker(f"no adapter for broker {str(broker)!r} (account {account_id})")
    return factory(account_id, simulate, settings)


def _paper_broker(account_id: str, simulate: Simulate | None, settings: BrokerSettings) -> PaperBroker:
    return _cached_paper_broker(account_id, simulate, settings.paper_table_name)


@lru_cache(maxsize=4096)
def _cached_paper_broker(account_id: str, simulate: Simulate | None, table_name: str) -> PaperBroker:
    return PaperBroker(account_id, PaperStore(table_name), simulate=simulate)


def _tradovate_broker(account_id: str, simulate: Simulate | None, settings: BrokerSettings) -> BrokerAccount:
    """The account's Tradovate adapter, rebuilt when its stored credentials change (their
    ``stored_at``); its token and contract cache are shared per user and REST base anyway."""
    from tradecopier.brokers.credentials import broker_credentials

    credentials = broker_credentials(account_id, settings)
    if credentials.broker not in (None, BrokerName.TRADOVATE.value):
        raise BrokerRejected(
            f"the credentials stored for {account_id} are for {credentials.broker}, not tradovate"
        )
    return _cached_tradovate_broker(
        account_id,
        settings.resource_prefix,
        credentials.stored_at or "",
        credentials,
        settings.copier_table_name,
        settings.broker_token_key_id,
    )


@lru_cache(maxsize=1024)
def _cached_tradovate_broker(
    account_id: str, prefix: str, stored_at: str, credentials: Any, table: str, token_key: str | None
) -> BrokerAccount:
    """The token is shared through the copier table when a key seals it (``tradovate.lease``)."""
    from tradecopier.brokers.tradovate import TradovateBroker, TradovateConfig
    from tradecopier.brokers.tradovate.sealing import KmsSealer
    from tradecopier.brokers.tradovate.store import TokenStore

    shared = None if token_key is None else (TokenStore(table), KmsSealer(token_key))
    return TradovateBroker(account_id, TradovateConfig.from_credentials(credentials), shared=shared)


BROKER_FACTORIES: Mapping[BrokerName, BrokerFactory] = MappingProxyType(
    {BrokerName.PAPER: _paper_broker, BrokerName.TRADOVATE: _tradovate_broker}
)


def clear_cache() -> None:
    """Forget cached adapters (tests that switch tables or endpoints)."""
    _cached_paper_broker.cache_clear()
    _cached_tradovate_broker.cache_clear()
    from tradecopier.brokers.credentials import clear_cache as clear_credentials
    from tradecopier.brokers.http import clear_pool
    from tradecopier.brokers.tokens import clear_tokens
    from tradecopier.brokers.tradovate.contracts import clear_contracts

    clear_credentials()
    clear_pool()
    clear_tokens()
    clear_contracts()
