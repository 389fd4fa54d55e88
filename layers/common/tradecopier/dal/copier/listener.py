"""The leader listener's last-seen state: ``LISTENER#{group_id}`` / ``LEADER#{account_id}``.

One item per leader stream: the leader view the listener last handed to ingest (``view``, the JSON
of ``listener.translate.LeaderView``, opaque here), the stream's state (``connected``,
``reconnecting``, ``down`` with a reason) and when each changed. Written after every frame's events
were accepted, so a restart diffs the broker's snapshot against exactly what was handed over:
nothing missed, nothing twice (a repeat would be an ingest ``duplicate`` anyway). Deleted with
nothing: a removed group's item is simply never read again (a new group has a new id), and it
expires through TTL ``event_retention_days`` after its last write.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tradecopier.dal.copier.keys import iso, listener_key
from tradecopier.dal.copier.table import TableAccess
from tradecopier.dal.dynamodb import from_item, to_item


@dataclass(frozen=True, slots=True)
class ListenerState:
    group_id: str
    account_id: str
    view: str | None
    stream: str
    reason: str | None
    updated_at: str


class ListenerStateStore(TableAccess):
    def get_listener_state(self, group_id: str, account_id: str) -> ListenerState | None:
        item = self._client.get_item(
            TableName=self._table, Key=listener_key(group_id, account_id), ConsistentRead=True
        )
        if "Item" not in item:
            return None
        values = from_item(item["Item"])
        return ListenerState(
            group_id=group_id,
            account_id=account_id,
            view=values.get("view"),
            stream=str(values.get("stream", "down")),
            reason=values.get("reason"),
            updated_at=str(values.get("updated_at", "")),
        )

    def put_listener_view(self, group_id: str, account_id: str, view: str, moment: datetime) -> None:
        """The view handed over up to now (and the stream is connected: it just delivered)."""
        self._client.update_item(
            TableName=self._table,
            Key=listener_key(group_id, account_id),
            UpdateExpression="SET #v = :v, #s = :s, updated_at = :t, expires_at = :e REMOVE reason",
            ExpressionAttributeNames={"#v": "view", "#s": "stream"},
            ExpressionAttributeValues=to_item(
                {":v": view, ":s": "connected", ":t": iso(moment), ":e": self._expires_at(moment)}
            ),
        )

    def put_stream_state(
        self, group_id: str, account_id: str, stream: str, reason: str | None, moment: datetime
    ) -> None:
        """The stream's state alone (the view is left as it was)."""
        values = {":s": stream, ":t": iso(moment), ":e": self._expires_at(moment)}
        update = "SET #s = :s, updated_at = :t, expires_at = :e"
        if reason:
            values[":r"] = reason
            update += ", reason = :r"
        else:
            update += " REMOVE reason"
        self._client.update_item(
            TableName=self._table,
            Key=listener_key(group_id, account_id),
            UpdateExpression=update,
            ExpressionAttributeNames={"#s": "stream"},
            ExpressionAttributeValues=to_item(values),
        )
