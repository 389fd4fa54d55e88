"""``CopierStore``: every read and write of ``CopierTable``, one base class per item type.

The table design and its access patterns are documented in ``keys``. Each item type's store
decodes its own items: callers get domain models and the records below, or a typed error
(``errors``), never a raw DynamoDB item.
"""

from __future__ import annotations

from tradecopier.dal.copier.alerts import AlertLedgerStore
from tradecopier.dal.copier.claims import ClaimStore
from tradecopier.dal.copier.copies import CopyStore
from tradecopier.dal.copier.copy_inputs import CopyInputsStore
from tradecopier.dal.copier.followers import FollowerStore
from tradecopier.dal.copier.groups import GroupStore
from tradecopier.dal.copier.links import LinkStore
from tradecopier.dal.copier.queues import QueueStore
from tradecopier.dal.copier.risk import RiskStore
from tradecopier.dal.copier.sync import SyncStore


class CopierStore(
    GroupStore,
    RiskStore,
    FollowerStore,
    ClaimStore,
    QueueStore,
    CopyStore,
    LinkStore,
    CopyInputsStore,
    SyncStore,
    AlertLedgerStore,
):
    """All reads and writes of ``CopierTable``: ``CopierStore(table_name, retention_days, client, clock)``."""
