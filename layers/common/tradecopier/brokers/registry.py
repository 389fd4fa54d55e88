"""Which adapter serves an account: ``BROKER_FACTORIES`` maps each ``BrokerName`` to the factory of
its ``BrokerAccount``, and ``open_broker`` is the one place that looks it up.

Adapters are cached per execution environment where that is safe. A paper broker holds no
mutable state of its own (everything lives in its table), so one instance per (account, simulate,
table) is reused across invocations; a change of ``simulate`` gives a new instance. Real adapters
will be cached per account too, so their tokens and connections outlive one invocation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from functools import lru_cache
from types import MappingProxyType

from tradecopier.brokers.base import BrokerAccount, BrokerRejected
from tradecopier.brokers.paper import PaperBroker
from tradecopier.brokers.paper.store import PaperStore
from tradecopier.domain.enums import BrokerName, Simulate
from tradecopier.settings import Settings

BrokerFactory = Callable[[str, Simulate | None, Settings, Decimal | None], BrokerAccount]
"""``(account_id, simulate, settings, starting_balance) -> adapter``; ``simulate`` and
``starting_balance`` (the follower's ``risk.starting_balance``) only apply to paper accounts."""


class UnsupportedBroker(BrokerRejected):
    """No adapter serves this broker. A business "no" (retrying cannot help): the copy is rejected."""

    code = "unsupported_broker"


def open_broker(
    account_id: str,
    broker: BrokerName,
    simulate: Simulate | None,
    settings: Settings,
    starting_balance: Decimal | None = None,
) -> BrokerAccount:
    """The adapter for ``account_id`` at ``broker``; ``simulate`` only applies to paper accounts."""
    factory = BROKER_FACTORIES.get(broker)
    if factory is None:
        raise UnsupportedBroker(f"no adapter for broker {str(broker)!r} (account {account_id})")
    return factory(account_id, simulate, settings, starting_balance)


def _paper_broker(
    account_id: str, simulate: Simulate | None, settings: Settings, starting_balance: Decimal | None
) -> PaperBroker:
    return _cached_paper_broker(account_id, simulate, settings.paper_table_name, starting_balance)


@lru_cache(maxsize=4096)
def _cached_paper_broker(
    account_id: str, simulate: Simulate | None, table_name: str, starting_balance: Decimal | None
) -> PaperBroker:
    if starting_balance is None:
        return PaperBroker(account_id, PaperStore(table_name), simulate=simulate)
    return PaperBroker(
        account_id, PaperStore(table_name), simulate=simulate, starting_balance=starting_balance
    )


BROKER_FACTORIES: Mapping[BrokerName, BrokerFactory] = MappingProxyType({BrokerName.PAPER: _paper_broker})


def clear_cache() -> None:
    """Forget cached adapters (tests that switch tables or endpoints)."""
    _cached_paper_broker.cache_clear()
