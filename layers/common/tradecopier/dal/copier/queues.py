"""Queue owners: ``QUEUE#{queue_name}`` / ``QUEUE``, which follower a follower queue delivers to
(written when the follower is provisioned, deleted with it)."""

from __future__ import annotations

from typing import Any

from tradecopier.dal.copier.keys import queue_key
from tradecopier.dal.copier.table import TableAccess
from tradecopier.dal.dynamodb import from_item, to_item


def queue_item(queue_name: str, group_id: str, account_id: str) -> dict[str, Any]:
    return {**queue_key(queue_name), **to_item({"group_id": group_id, "account_id": account_id})}


class QueueStore(TableAccess):
    def queue_owner(self, queue_name: str) -> tuple[str, str] | None:
        """(group_id, account_id) of a follower queue. The mapping never changes for a queue name."""
        item = self._client.get_item(TableName=self._table, Key=queue_key(queue_name))
        if "Item" not in item:
            return None
        values = from_item(item["Item"])
        return str(values["group_id"]), str(values["account_id"])
