"""The leader listener's last-seen state: ``LISTENER#{group_id}`` / ``LEADER#{account_id}``.

One item per leader stream: the leader view the listener last handed to ingest (``view``, the JSON
of ``listener.translate.LeaderView``, opaque here), the stream's state (``stream``: ``connected``,
``reconnecting``, ``down``, with a ``reason``), since when it is in that state (``stream_since``)
and the last write (``updated_at``). The view is written after every frame's events were
accepted, so a restart diffs the broker's snapshot against exactly what was handed over: nothing
missed, nothing twice (a repeat would be an ingest ``duplicate`` anyway). Deleted with nothing: a
removed group's item is simply never read again (a new group has a new id), and it expires
through TTL ``event_retention_days`` after its last write.

The group view (``GET /groups``, ``GET /groups/{id}``) shows the state as the leader's
``leader_stream``: ``leader_streams`` reads the items of many leaders in one ``BatchGetItem``
(eventually consistent, state attributes only; the read costs what the whole item weighs, view
included: 0.5 RCU per 4 KB).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from tradecopier.dal.copier.keys import iso, listener_key
from tradecopier.dal.copier.table import TableAccess, is_condition_failure
from tradecopier.dal.dynamodb import from_item, to_item
from tradecopier.domain.accounts import LeaderStream

STREAM_STATES = frozenset({"connected", "reconnecting", "down"})
BATCH_GET_MAX = 100  # keys per BatchGetItem


def leader_stream_from(values: dict[str, Any]) -> LeaderStream:
    """A state item as the group view shows it (an item from before ``stream_since``: its last write)."""
    stream = str(values.get("stream", "down"))
    since = values.get("stream_since") or values.get("updated_at")
    reason = values.get("reason")
    if stream not in STREAM_STATES:  # never written so; shown, not hidden
        stream, reason = "down", f"unknown stream state {stream!r}"
    return LeaderStream(
        status=stream,  # type: ignore[arg-type]  # one of STREAM_STATES
        since=datetime.fromisoformat(str(since)) if since else None,
        detail=str(reason) if reason else None,
    )


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
        """The view handed over up to now. The stream's state is left to ``put_stream_state`` (the
        stream reports ``connected`` once its snapshot is handed over); a first item starts
        ``connected``: it just delivered."""
        self._client.update_item(
            TableName=self._table,
            Key=listener_key(group_id, account_id),
            UpdateExpression=(
                "SET #v = :v, #s = if_not_exists(#s, :s), stream_since = if_not_exists(stream_since, :t), "
                "updated_at = :t, expires_at = :e"
            ),
            ExpressionAttributeNames={"#v": "view", "#s": "stream"},
            ExpressionAttributeValues=to_item(
                {":v": view, ":s": "connected", ":t": iso(moment), ":e": self._expires_at(moment)}
            ),
        )

    def put_stream_state(
        self, group_id: str, account_id: str, stream: str, reason: str | None, moment: datetime
    ) -> None:
        """The stream's state alone (the view is left as it was). ``stream_since`` moves only when
        the state changes: one conditional UpdateItem, and a second one (without it) when the
        state is the same as before (a reconnect that failed again keeps its first moment)."""
        values = {":s": stream, ":t": iso(moment), ":e": self._expires_at(moment)}
        sets = "SET #s = :s, updated_at = :t, expires_at = :e"
        if reason:
            values[":r"] = reason
            sets += ", reason = :r"
        removes = "" if reason else " REMOVE reason"
        update: dict[str, Any] = {
            "TableName": self._table,
            "Key": listener_key(group_id, account_id),
            "ExpressionAttributeNames": {"#s": "stream"},
            "ExpressionAttributeValues": to_item(values),
        }
        try:
            self._client.update_item(
                **update,
                UpdateExpression=sets + ", stream_since = :t" + removes,
                ConditionExpression="attribute_not_exists(#s) OR #s <> :s",
            )
        except ClientError as error:
            if not is_condition_failure(error):
                raise
            self._client.update_item(**update, UpdateExpression=sets + removes)

    def leader_streams(self, leaders: list[tuple[str, str]]) -> dict[tuple[str, str], LeaderStream]:
        """The stream states of ``leaders`` (group id, account id) that have an item, by leader: one
        eventually consistent ``BatchGetItem`` per 100 (none for no leader)."""
        found: dict[tuple[str, str], LeaderStream] = {}
        wanted = list(dict.fromkeys(leaders))
        for start in range(0, len(wanted), BATCH_GET_MAX):
            keys = [listener_key(g, a) for g, a in wanted[start : start + BATCH_GET_MAX]]
            request: Any = {
                self._table: {
                    "Keys": keys,
                    "ProjectionExpression": "pk, sk, #s, stream_since, reason, updated_at",
                    "ExpressionAttributeNames": {"#s": "stream"},
                }
            }
            while request:
                result = self._client.batch_get_item(RequestItems=request)
                for item in result.get("Responses", {}).get(self._table, []):
                    values = from_item(item)
                    leader = (
                        str(values["pk"]).removeprefix("LISTENER#"),
                        str(values["sk"]).removeprefix("LEADER#"),
                    )
                    found[leader] = leader_stream_from(values)
                request = result.get("UnprocessedKeys") or {}
        return found
