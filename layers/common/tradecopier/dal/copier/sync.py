"""Sync items (see ``keys``): the leader's known position per group and symbol, each follower's
sync status (the ``sync`` attribute of its follower item) and its sync history.

Leader position ``LEADER#{group_id}`` / ``POSITION#{symbol}``: ``qty``, ``lots`` (list of
``{q, p}`` since the position last started over: flat or reversed), ``last_price``, ``as_of`` (the
event id), ``received_at``. Ingest writes it with ONE blind UpdateItem per event that tells the
leader's position (``domain.leader_position``), conditional on not going back in time; an event
without ``position_after`` writes nothing. The item stays well under 1 KB (1 WCU) unless the leader
adds to one position hundreds of times.

Sync history ``SYNC#{group_id}#{account}`` / ``{checked_at}#{symbol}#{id}``: one item per catch-up
or refusal, with the figures; TTL ``expires_at``. A refusal's id derives from the leader state, so
a check repeated every minute writes it once per leader state (a put of the same key).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from tradecopier.dal.copier.errors import ItemMissing
from tradecopier.dal.copier.keys import (
    follower_key,
    iso,
    leader_position_key,
    leader_positions_pk,
    sync_log_pk,
)
from tradecopier.dal.copier.table import TableAccess, is_condition_failure
from tradecopier.dal.dynamodb import from_item, to_attr, to_item
from tradecopier.domain.leader_position import LeaderPosition, LeaderUpdate, LotChange, average_price


def _lot(update: LeaderUpdate) -> dict[str, Any]:
    lot: dict[str, Any] = {"q": {"N": str(update.lot_qty)}}
    if update.price is not None:
        lot["p"] = {"N": str(update.price)}
    return {"M": lot}


def leader_position_from(values: dict[str, Any]) -> LeaderPosition:
    lots = [
        (int(lot["q"]), None if lot.get("p") is None else Decimal(lot["p"])) for lot in values.get("lots", [])
    ]
    qty = int(values["qty"])
    last = values.get("last_price")
    return LeaderPosition(
        symbol=str(values["symbol"]),
        qty=qty,
        avg_price=average_price(lots) if qty else None,
        last_price=None if last is None else Decimal(last),
        as_of=str(values["as_of"]),
    )


class SyncStore(TableAccess):
    def put_leader_update(
        self, group_id: str, update: LeaderUpdate, event_id: str, received_at: datetime
    ) -> None:
        """One UpdateItem, no read; an older event than the stored state changes nothing."""
        sets = ["qty = :qty", "symbol = :symbol", "as_of = :as_of", "received_at = :at"]
        values: dict[str, Any] = {
            ":qty": {"N": str(update.qty)},
            ":symbol": {"S": update.symbol},
            ":as_of": {"S": event_id},
            ":at": {"S": iso(received_at)},
        }
        if update.price is not None:
            sets.append("last_price = :price")
            values[":price"] = {"N": str(update.price)}
        if update.change is LotChange.RESTART:
            sets.append("lots = :lots")
            values[":lots"] = {"L": [_lot(update)] if update.lot_qty else []}
        elif update.change is LotChange.ADD:
            sets.append("lots = list_append(if_not_exists(lots, :none), :lots)")
            values[":lots"] = {"L": [_lot(update)]}
            values[":none"] = {"L": []}
        try:
            self._client.update_item(
                TableName=self._table,
                Key=leader_position_key(group_id, update.symbol),
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression="attribute_not_exists(received_at) OR received_at <= :at",
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if not is_condition_failure(error):
                raise

    def leader_positions(self, group_id: str) -> list[LeaderPosition]:
        """Every symbol the leader's position is known in (flat ones included), one Query."""
        return [leader_position_from(item) for item in self._partition(leader_positions_pk(group_id))]

    def _partition(self, pk: str) -> list[dict[str, Any]]:
        """Every item under ``pk``, decoded, strongly consistent (all pages)."""
        query: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": pk}},
            "ConsistentRead": True,
        }
        items: list[dict[str, Any]] = []
        while True:
            page = self._client.query(**query)
            items.extend(from_item(item) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return items
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def set_follower_sync(self, group_id: str, account_id: str, sync: dict[str, Any]) -> None:
        """The follower's ``sync`` attribute (its view's ``sync``); a removed follower stays removed."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=follower_key(group_id, account_id),
                UpdateExpression="SET #sync = :sync",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#sync": "sync"},
                ExpressionAttributeValues={":sync": to_attr(sync)},
            )
        except ClientError as error:
            if is_condition_failure(error):
                raise ItemMissing() from error
            raise

    def put_sync_entry(self, group_id: str, account_id: str, entry_id: str, entry: dict[str, Any]) -> None:
        """One history entry; the same ``entry_id`` (deterministic) overwrites itself, never doubles."""
        checked = str(entry["checked_at"])
        item = {
            "pk": {"S": sync_log_pk(group_id, account_id)},
            "sk": {"S": f"{entry['symbol']}#{entry_id}"},
            **to_item({**entry, "sort_at": checked, "expires_at": self._expires_at(self._clock())}),
        }
        self._client.put_item(TableName=self._table, Item=item)

    def sync_history(self, group_id: str, account_id: str, limit: int) -> list[dict[str, Any]]:
        """The follower's history entries, newest first."""
        items = self._partition(sync_log_pk(group_id, account_id))
        items.sort(key=lambda item: str(item["sort_at"]), reverse=True)
        return [
            {key: value for key, value in item.items() if key not in ("pk", "sk", "sort_at", "expires_at")}
            for item in items[:limit]
        ]
