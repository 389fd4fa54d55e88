"""The objects a handler needs, built once per execution environment (cold start)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from tradecopier.clock import Clock, utc_now
from tradecopier.dal.copier import CopierStore
from tradecopier.provisioning import Provisioner
from tradecopier.settings import Settings, get_settings


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    store: CopierStore
    provisioner: Provisioner
    clock: Clock = utc_now  # the one clock: the store and the logic stamp records with it


@lru_cache(maxsize=1)
def get_services() -> Services:
    settings = get_settings()
    clock = utc_now
    return Services(
        settings=settings,
        store=CopierStore(settings.copier_table_name, settings.event_retention_days, clock=clock),
        provisioner=Provisioner(settings),
        clock=clock,
    )


def reset_services() -> None:
    """Forgets cached settings and clients (tests point them at fresh tables and endpoints)."""
    from tradecopier.brokers.registry import clear_cache
    from tradecopier.dal.dynamodb import dynamodb_client

    clear_cache()
    get_services.cache_clear()
    get_settings.cache_clear()
    dynamodb_client.cache_clear()
