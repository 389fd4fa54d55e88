"""What the copier stores raise: typed outcomes of their conditions, never a raw item."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tradecopier.dal.copier.events import StoredEvent


class ItemExists(Exception):
    """A conditional create found the item (or the account claim) already there."""

    def __init__(self, message: str = "item exists") -> None:
        super().__init__(message)


class EventExists(ItemExists):
    """The event was accepted before (idempotency on ``event_id``). ``stored`` is that earlier
    acceptance with its copies, decoded (None if DynamoDB did not return it)."""

    def __init__(self, stored: StoredEvent | None) -> None:
        super().__init__("event exists")
        self.stored = stored


class GroupChanged(Exception):
    """The group is no longer at the version the caller read (changed or deleted since): nothing
    was written; read the group again."""


class ItemMissing(Exception):
    """A conditional update found no item to update."""


class CopyAlreadyFinal(Exception):
    """The copy record was already final: this delivery is a duplicate."""


__all__ = ["CopyAlreadyFinal", "EventExists", "GroupChanged", "ItemExists", "ItemMissing"]
