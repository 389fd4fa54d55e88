"""Which adapter serves an account: ``BROKER_FACTORIES`` maps each ``BrokerName`` to the factory of
its ``BrokerAccount``, and ``open_broker`` is the one place that looks it up.

Each adapter's modules are imported when an account first needs them (paper included), so an
executor whose followers are all at real brokers never loads the paper broker, and the reverse.

Adapters are cached per execution environment where that is safe. A paper broker's state lives
in its table (it only remembers the position its last mark read, which the next fill writes back
only at that version), so one instance per (account, simulate, table) is reused across
invocations; a change of ``simulate`` gives a new instance. Real adapters
will be cached per account too, so their tokens and connections outlive one invocation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from functools import lru_cache
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from tradecopier.brokers.base import BrokerAccount, BrokerRejected
from tradecopier.domain.enums import BrokerName, Simulate
from tradecopier.settings import BrokerSettings

if TYPE_CHECKING:
    from tradecopier.brokers.paper import PaperBroker

BrokerFactory = Callable[[str, Simulate | None, BrokerSettings, Decimal | None], BrokerAccount]
"""``(account_id, simulate, settings, starting_balance) -> adapter``; ``simulate`` and
``starting_balance`` (the follower's ``risk.starting_balance``) only apply to paper accounts."""


class UnsupportedBroker(BrokerRejected):
    """No adapter serves this broker. A business "no" (retrying cannot help): the copy is rejected."""

    code = "unsupported_broker"


def open_broker(
    account_id: str,
    broker: BrokerName,
    simulate: Simulate | None,
    settings: BrokerSettings,
    starting_balance: Decimal | None = None,
) -> BrokerAccount:
    """The adapter for ``account_id`` at ``broker``; ``simulate`` only applies to paper accounts."""
    factory = BROKER_FACTORIES.get(broker)
    if factory is None:
        raise UnsupportedBroker(f"no adapter for broker {str(broker)!r} (account {account_id})")
    return factory(account_id, simulate, settings, starting_balance)


def _paper_broker(
    account_id: str, simulate: Simulate | None, settings: BrokerSettings, starting_balance: Decimal | None
) -> PaperBroker:
    return _cached_paper_broker(account_id, simulate, settings.paper_table_name, starting_balance)


@lru_cache(maxsize=4096)
def _cached_paper_broker(
    account_id: str, simulate: Simulate | None, table_name: str, starting_balance: Decimal | None
) -> PaperBroker:
    from tradecopier.brokers.paper import PaperBroker
    from tradecopier.brokers.paper.store import PaperStore

    if starting_balance is None:
        return PaperBroker(account_id, PaperStore(table_name), simulate=simulate)
    return PaperBroker(
        account_id, PaperStore(table_name), simulate=simulate, starting_balance=starting_balance
    )


def _tradovate_broker(
    account_id: str, simulate: Simulate | None, settings: BrokerSettings, starting_balance: Decimal | None
) -> BrokerAccount:
    """The account's Tradovate adapter, rebuilt when its stored credentials change (their
    ``stored_at``); its token and contract cache are shared per user and REST base anyway."""
    credentials = _credentials_for(account_id, settings, BrokerName.TRADOVATE)
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


def _projectx_broker(
    account_id: str, simulate: Simulate | None, settings: BrokerSettings, starting_balance: Decimal | None
) -> BrokerAccount:
    """The account's ProjectX adapter, rebuilt when its stored credentials change (their
    ``stored_at``); its token and contract cache are shared per user and gateway anyway.
    The balance is the broker's own: ``starting_balance`` is paper's only."""
    credentials = _credentials_for(account_id, settings, BrokerName.PROJECTX)
    return _cached_projectx_broker(
        account_id, settings.resource_prefix, credentials.stored_at or "", credentials
    )


def _credentials_for(account_id: str, settings: BrokerSettings, broker: BrokerName) -> Any:
    """The account's stored credentials, refused when they are for another broker."""
    from tradecopier.brokers.credentials import broker_credentials

    stored = broker_credentials(account_id, settings)
    if stored.broker in (None, broker.value):
        return stored
    raise BrokerRejected(f"the credentials stored for {account_id} are for {stored.broker}, not {broker}")


@lru_cache(maxsize=1024)
def _cached_projectx_broker(account_id: str, prefix: str, stored_at: str, credentials: Any) -> BrokerAccount:
    from tradecopier.brokers.projectx import ProjectXBroker, ProjectXConfig

    return ProjectXBroker(account_id, ProjectXConfig.from_credentials(credentials))


BROKER_FACTORIES: Mapping[BrokerName, BrokerFactory] = MappingProxyType(
    {
        BrokerName.PAPER: _paper_broker,
        BrokerName.TRADOVATE: _tradovate_broker,
        BrokerName.PROJECTX: _projectx_broker,
    }
)


def clear_cache() -> None:
    """Forget cached adapters (tests that switch tables or endpoints)."""
    _cached_paper_broker.cache_clear()
    _cached_tradovate_broker.cache_clear()
    _cached_projectx_broker.cache_clear()
    from tradecopier.brokers.credentials import clear_cache as clear_credentials
    from tradecopier.brokers.http import clear_pool
    from tradecopier.brokers.projectx.contracts import clear_contracts as clear_projectx_contracts
    from tradecopier.brokers.tokens import clear_tokens
    from tradecopier.brokers.tradovate.contracts import clear_contracts

    clear_credentials()
    clear_pool()
    clear_tokens()
    clear_contracts()
    clear_projectx_contracts()
