"""Ingest's per-container memory of the groups it served (``GroupCache``).

Staleness is made safe by the write, not by a time limit: an event is recorded only in one
transaction with a check that the group is still at the ``version`` that was cached (every change
of what ingest reads from the group bumps it, ``dal.copier.groups``). A stale entry therefore
costs one re-read, never a wrong acceptance: a follower added after its 201 gets the next event,
and a rotated token stops working at once.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tradecopier.dal.copier import GroupItem

# Each entry is a few KB (the group with its followers); an ingest container serves few groups.
MAX_GROUPS = 256


class GroupCache:
    """The most recently used groups by id, at most ``max_groups`` (0: remembers nothing)."""

    def __init__(self, max_groups: int = MAX_GROUPS) -> None:
        self._max = max_groups
        self._groups: OrderedDict[str, GroupItem] = OrderedDict()

    def get(self, group_id: str) -> GroupItem | None:
        group = self._groups.get(group_id)
        if group is not None:
            self._groups.move_to_end(group_id)
        return group

    def put(self, group: GroupItem) -> None:
        if self._max <= 0:
            return
        self._groups[group.group.group_id] = group
        self._groups.move_to_end(group.group.group_id)
        while len(self._groups) > self._max:
            self._groups.popitem(last=False)

    def forget(self, group_id: str) -> None:
        self._groups.pop(group_id, None)
