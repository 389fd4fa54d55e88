"""The executor's load: follower (with its risk state), claim, the event's follower list, the copy
record and the order link of one copy, in one strongly consistent BatchGetItem across the item
types. For an ``order.placed`` the link item is where its copy record is (``copies``): the item
read at the link key is then this copy's record (when it names this event) as well as the link a
modify or cancel of that order reads.

Every key costs a read unit whether an item is there or not (strongly consistent: 1 RRU per item up
to 4 KB, the same for a key with no item), so the load reads only the keys that can hold something:
for an ``order.placed`` (``placed=True``) the event's partition holds this copy's record only when
the link key was taken by another event's record or a link alone when the copy was recorded
(``copies.moved_to_event``; a leader order id sent again): it is read then, one GetItem more, and
only then — four keys instead of five for the common copy. (A link item names at most one event,
set when it is created, so a link naming this event means no record of it elsewhere; a link that
expired through TTL before a redelivery of a later event reusing its order id is the one case this
cannot see: redeliveries come minutes apart, TTL after ``event_retention_days`` ≥ 1 day.)

Why every key is strongly consistent (one request: ``ConsistentRead`` is per table in a
BatchGetItem, so mixing would take a second round trip): the follower item (lock, risk state: a
stale one could let a locked or breached follower open), the copy record (exactly-once: a stale
"absent" would repeat a copy), the link (a cancel right after its place must find the follower
order) and the event (written by ingest milliseconds before: a stale miss would defer the copy by
a visibility timeout) all need it; the claim alone could be eventual, half a unit, not worth a
second call."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tradecopier.dal.copier.claims import claim_from
from tradecopier.dal.copier.events import COPY_FIELDS, recorded_copies
from tradecopier.dal.copier.followers import FOLLOWER_FIELDS, follower_from
from tradecopier.dal.copier.keys import (
    CLAIM_KIND,
    COPY_KIND,
    EVENT_KIND,
    FOLLOWER_KIND,
    LINK_KIND,
    claim_key,
    copy_key,
    event_key,
    follower_key,
    item_kind,
    link_key,
)
from tradecopier.dal.copier.links import LINK_FIELDS, has_link, link_from
from tradecopier.dal.copier.table import TableAccess
from tradecopier.dal.dynamodb import from_item
from tradecopier.domain.accounts import AccountClaim, Follower
from tradecopier.domain.copies import CopyRecord
from tradecopier.domain.orders import OrderLink

# One projection for the five item types: what each of them needs (the names never clash in meaning).
_FIELDS = tuple(
    dict.fromkeys((*FOLLOWER_FIELDS, *LINK_FIELDS, *sorted(COPY_FIELDS), "event_id", "followers"))
)
_PROJECTION = ", ".join(["pk", "sk", "group_id", "#role", *(f"#{name}" for name in _FIELDS)])
_NAMES = {"#role": "role", **{f"#{name}": name for name in _FIELDS}}


@dataclass(frozen=True, slots=True)
class CopyInputs:
    """What the executor loads, in one strongly consistent read, to decide one copy."""

    event_found: bool
    follower: Follower | None
    claim: AccountClaim | None
    copy: CopyRecord | None
    link: OrderLink | None


class CopyInputsStore(TableAccess):
    def load_copy_inputs(
        self,
        group_id: str,
        account_id: str,
        event_id: str,
        leader_order_id: str | None,
        *,
        placed: bool = False,
    ) -> CopyInputs:
        """One strongly consistent BatchGetItem: follower (lock and risk state), claim, the event
        (its follower list), the copy record in the event's partition, the order link item
        (``leader_order_id``: the order the event acts on; for an ``order.placed`` its link item
        holds the copy record). ``placed``: the event is an ``order.placed``
        (``copies.copy_order_id``): the event's partition is read only when the link item is not
        this event's (module docstring)."""
        placed = placed and leader_order_id is not None
        keys = [
            follower_key(group_id, account_id),
            claim_key(account_id),
            event_key(group_id, event_id),
        ]
        if not placed:
            keys.append(copy_key(group_id, event_id, account_id))
        if leader_order_id is not None:
            keys.append(link_key(group_id, leader_order_id, account_id))
        found = self._load_batch(keys)
        link_values = found.get(LINK_KIND)
        if placed and link_values is not None and link_values.get("event_id") != event_id:
            moved = self._load_moved_copy(copy_key(group_id, event_id, account_id))
            if moved is not None:
                found[COPY_KIND] = moved
        follower_values = found.get(FOLLOWER_KIND)
        claim_values = found.get(CLAIM_KIND)
        event_values = found.get(EVENT_KIND)
        records = [values for values in (found.get(COPY_KIND), link_values) if values is not None]
        copy = recorded_copies(records).get((event_id, account_id))
        if copy is None and account_id in (event_values or {}).get("followers", []):
            copy = CopyRecord(account_id=account_id)  # pending: ingest writes no copy items
        return CopyInputs(
            event_found=event_values is not None,
            follower=follower_from(follower_values) if follower_values else None,
            claim=claim_from(account_id, claim_values) if claim_values else None,
            copy=copy,
            link=link_from(group_id, leader_order_id or "", account_id, link_values)
            if link_values is not None and has_link(link_values)
            else None,
        )

    def _load_batch(self, keys: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """The items at ``keys`` (one strongly consistent BatchGetItem), by ``item_kind``."""
        request: dict[str, Any] = {
            self._table: {
                "Keys": keys,
                "ConsistentRead": True,
                "ProjectionExpression": _PROJECTION,
                "ExpressionAttributeNames": _NAMES,
            }
        }
        found: dict[str, dict[str, Any]] = {}
        while request:
            result = self._client.batch_get_item(RequestItems=request)
            for item in result.get("Responses", {}).get(self._table, []):
                values = from_item(item)
                found[item_kind(values)] = values
            request = result.get("UnprocessedKeys") or {}
        return found

    def _load_moved_copy(self, key: dict[str, Any]) -> dict[str, Any] | None:
        answer = self._client.get_item(
            TableName=self._table,
            Key=key,
            ConsistentRead=True,
            ProjectionExpression=_PROJECTION,
            ExpressionAttributeNames=_NAMES,
        )
        return from_item(answer["Item"]) if "Item" in answer else None
