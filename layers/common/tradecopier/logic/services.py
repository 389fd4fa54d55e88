"""The objects a handler needs, built once per execution environment (cold start)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING

from tradecopier.aws import clear_clients
from tradecopier.clock import Clock, utc_now
from tradecopier.dal.copier import CopierStore
from tradecopier.fanout.publish import Publisher, SnsPublisher
from tradecopier.settings import Settings, get_settings

if TYPE_CHECKING:
    from tradecopier.fanout.followers import FollowerQueues
    from tradecopier.fanout.topics import GroupTopics


@dataclass(frozen=True)
class Services:
    settings: Settings
    store: CopierStore
    publisher: Publisher
    clock: Clock = utc_now  # the one clock: the store and the logic stamp records with it

    # Only the admin function provisions: ingest and the executor never import these modules.
    @cached_property
    def topics(self) -> GroupTopics:
        from tradecopier.fanout.topics import GroupTopics

        return GroupTopics(self.settings)

    @cached_property
    def followers(self) -> FollowerQueues:
        from tradecopier.fanout.followers import FollowerQueues

        return FollowerQueues(self.settings, self.topics)


@lru_cache(maxsize=1)
def get_services() -> Services:
    settings = get_settings()
    clock = utc_now
    return Services(
        settings=settings,
        store=CopierStore(settings.copier_table_name, settings.event_retention_days, clock=clock),
        publisher=SnsPublisher(),
        clock=clock,
    )


def reset_services() -> None:
    """Forgets cached settings and clients (tests point them at fresh tables and endpoints)."""
    from tradecopier.brokers.registry import clear_cache

    clear_cache()
    get_services.cache_clear()
    get_settings.cache_clear()
    clear_clients()
