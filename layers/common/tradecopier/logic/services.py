"""The objects a handler needs, built once per execution environment (cold start).

One getter per function, each from that function's settings: ``ingest_services()``,
``executor_services()``, ``admin_services()``. A handler calls its getter at import, so a missing or
invalid variable fails the init phase (``SettingsError``), not the first request.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Generic, Self, TypeVar

from tradecopier.aws import clear_clients
from tradecopier.clock import Clock, utc_now
from tradecopier.dal.copier import CopierStore
from tradecopier.fanout.publish import Publisher, SnsPublisher
from tradecopier.settings import AdminSettings, ExecutorSettings, IngestSettings, SchedulerSettings, Settings

if TYPE_CHECKING:
    from tradecopier.fanout.followers import FollowerQueues
    from tradecopier.fanout.topics import GroupTopics
    from tradecopier.logic.group_cache import GroupCache

S = TypeVar("S", bound=Settings)


@dataclass(frozen=True)
class Services(Generic[S]):
    settings: S
    store: CopierStore
    publisher: Publisher
    clock: Clock = utc_now  # the one clock: the store and the logic stamp records with it

    @cached_property
    def groups(self) -> GroupCache:
        """Ingest's memory of the groups it served (safe when stale: ``logic.group_cache``)."""
        from tradecopier.logic.group_cache import GroupCache

        return GroupCache()

    @classmethod
    def build(cls, settings: S) -> Self:
        return cls(
            settings=settings,
            store=CopierStore(settings.copier_table_name, settings.event_retention_days, clock=utc_now),
            publisher=SnsPublisher(),
            clock=utc_now,
        )


@dataclass(frozen=True)
class AdminServices(Services[AdminSettings]):
    """The admin function's: it alone provisions (ingest and the executor never import these modules)."""

    @cached_property
    def topics(self) -> GroupTopics:
        from tradecopier.fanout.topics import GroupTopics

        return GroupTopics(self.settings)

    @cached_property
    def followers(self) -> FollowerQueues:
        from tradecopier.fanout.followers import FollowerQueues

        return FollowerQueues(self.settings, self.topics)


@lru_cache(maxsize=1)
def ingest_services() -> Services[IngestSettings]:
    return Services.build(IngestSettings.from_env())


@lru_cache(maxsize=1)
def executor_services() -> Services[ExecutorSettings]:
    return Services.build(ExecutorSettings.from_env())


@lru_cache(maxsize=1)
def scheduler_services() -> Services[SchedulerSettings]:
    return Services.build(SchedulerSettings.from_env())


@lru_cache(maxsize=1)
def admin_services() -> AdminServices:
    return AdminServices.build(AdminSettings.from_env())


def reset_services() -> None:
    """Forgets cached settings and clients (tests point them at fresh tables and endpoints)."""
    from tradecopier.brokers.registry import clear_cache

    clear_cache()
    for getter in (ingest_services, executor_services, scheduler_services, admin_services):
        getter.cache_clear()
    clear_clients()
