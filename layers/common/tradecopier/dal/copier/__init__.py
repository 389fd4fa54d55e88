"""The copier table's data layer (see ``keys`` for the table design), behind ``CopierStore``."""

from tradecopier.dal.copier.copies import copy_order_id
from tradecopier.dal.copier.copy_inputs import CopyInputs
from tradecopier.dal.copier.errors import CopyAlreadyFinal, EventExists, GroupChanged, ItemExists, ItemMissing
from tradecopier.dal.copier.events import StoredEvent
from tradecopier.dal.copier.followers import FollowerItem
from tradecopier.dal.copier.groups import GroupItem
from tradecopier.dal.copier.store import CopierStore

__all__ = [
    "CopierStore",
    "CopyAlreadyFinal",
    "CopyInputs",
    "EventExists",
    "FollowerItem",
    "GroupChanged",
    "GroupItem",
    "ItemExists",
    "ItemMissing",
    "StoredEvent",
    "copy_order_id",
]
