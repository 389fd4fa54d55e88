"""Copy records: one follower's copy outcome of one leader event, written by the executor (ingest
writes none: a follower of the event without one is ``pending``). Small and written once per
outcome, so a copy's write units do not grow with the number of followers.

Where a copy record lives (``copy_order_id``):
- the copy of an ``order.placed`` is the order link item, ``LINK#{group_id}#{order_id}`` /
  ``FOLLOWER#{account}``: the record with, when the follower order was placed, the link to it
  (``links.link_values``), so the record and the link are one conditional PutItem;
- every other copy (and an ``order.placed`` whose link key holds another event's copy already: a
  leader order id sent again in a new event) is ``EVENT#{group_id}#{event_id}`` /
  ``COPY#{account}``, in the event's partition.

Either way the record names its ``event_id`` and is the executor's idempotency record: once final
it is never overwritten (the condition asks for no item, or this event's record still pending).
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from tradecopier.dal.copier.errors import CopyAlreadyFinal
from tradecopier.dal.copier.events import EventStore, copy_values, placed_order_id
from tradecopier.dal.copier.keys import copy_key, link_key
from tradecopier.dal.copier.links import LinkStore, link_values
from tradecopier.dal.copier.table import is_condition_failure
from tradecopier.dal.dynamodb import to_item
from tradecopier.domain.copies import CopyRecord
from tradecopier.domain.enums import CopyStatus
from tradecopier.domain.events import AcceptedEvent, OrderPlaced
from tradecopier.domain.orders import OrderLink

# No record yet, or this event's still pending (a failed attempt's note). At a link key the item
# may be another event's record or a link alone: neither names this event, so neither is replaced.
_PENDING = "#status = :pending"
# A copy skipped because its follower was being removed may still be overwritten by the executor
# that was already placing it: the placed order must not go unrecorded.
_PENDING_OR_REMOVED = f"{_PENDING} OR by_removal = :yes"


def _not_final(inner: str) -> str:
    return f"attribute_not_exists(pk) OR (event_id = :event_id AND ({inner}))"


def copy_order_id(accepted: AcceptedEvent) -> str | None:
    """The leader order id whose link item holds this event's copy records (an ``order.placed``'s),
    or None: they are items of the event's partition."""
    event = accepted.event
    return event.order_id if isinstance(event, OrderPlaced) else None


class CopyStore(EventStore, LinkStore):
    def copy_put(
        self,
        group_id: str,
        event_id: str,
        record: CopyRecord,
        *,
        by_removal: bool = False,
        order_id: str | None = None,
        link: OrderLink | None = None,
    ) -> dict[str, Any]:
        """The conditional Put of one copy record (for PutItem or a transaction), at the link key of
        ``order_id`` (with ``link``'s attributes, given) or else in the event's partition: it goes
        through only while this copy is not final yet (absent or pending)."""
        values: dict[str, Any] = {
            ":pending": {"S": CopyStatus.PENDING.value},
            ":event_id": {"S": event_id},
        }
        if not by_removal:
            values[":yes"] = {"BOOL": True}
        key = (
            link_key(group_id, order_id, record.account_id)
            if order_id is not None
            else copy_key(group_id, event_id, record.account_id)
        )
        return {
            "TableName": self._table,
            "Item": {
                **key,
                **to_item(
                    {
                        **copy_values(record),
                        **(link_values(link) if link is not None else {}),
                        "event_id": event_id,
                        "by_removal": True if by_removal else None,
                        "expires_at": self._expires_at(record.updated_at or self._clock()),
                    }
                ),
            },
            "ConditionExpression": _not_final(_PENDING if by_removal else _PENDING_OR_REMOVED),
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": values,
        }

    def record_copy(
        self,
        group_id: str,
        event_id: str,
        record: CopyRecord,
        *,
        order_id: str | None = None,
        link: OrderLink | None = None,
        by_removal: bool = False,
    ) -> None:
        """Writes one follower's copy outcome (one PutItem; ``order_id``: at that order's link item,
        carrying ``link``), unless a final outcome is already there.

        The condition makes the copy record the executor's idempotency record: a second delivery
        can never overwrite a final outcome (raises CopyAlreadyFinal).
        """
        put = self.copy_put(group_id, event_id, record, by_removal=by_removal, order_id=order_id, link=link)
        try:
            self._client.put_item(**put)
        except ClientError as error:
            if not is_condition_failure(error):
                raise
            if not self.moved_to_event(group_id, event_id, record, order_id, link):
                raise CopyAlreadyFinal() from error
            self.record_copy(group_id, event_id, record, link=None, by_removal=by_removal)

    def moved_to_event(
        self,
        group_id: str,
        event_id: str,
        record: CopyRecord,
        order_id: str | None,
        link: OrderLink | None,
    ) -> bool:
        """After a copy record's condition failed at a link key: True when the item there is not
        this event's (another event's record, or a link alone). The record then goes to the
        event's partition, and ``link`` (given) is set on the link item, as a later link is.
        False: this event's record is final there (or it was never at a link key)."""
        if order_id is None:
            return False
        answer = self._client.get_item(
            TableName=self._table,
            Key=link_key(group_id, order_id, record.account_id),
            ConsistentRead=True,
            ProjectionExpression="event_id",
        )
        if answer.get("Item", {}).get("event_id", {}).get("S") == event_id:
            return False
        if link is not None:
            self.update_link(link, record.updated_at or self._clock())
        return True

    def pending_event_ids(self, group_id: str, account_id: str) -> list[str]:
        """Every event of the group whose copy for ``account_id`` is still pending: the events it
        was accepted for, less those with a final copy record."""
        return list(self._pending_of(group_id, account_id))

    def _pending_of(self, group_id: str, account_id: str) -> dict[str, str | None]:
        """The events (id → the ``copy_order_id``) whose copy for ``account_id`` is pending."""
        events = self._events_by_id(
            group_id,
            self._event_ids(group_id),
            projection="event_id, #followers, #type, accepted",
            names={"#followers": "followers", "#type": "type"},
        )
        mine = {eid: values for eid, values in events.items() if account_id in values.get("followers", [])}
        recorded = self._copies_of(group_id, mine, account_id)
        return {
            event_id: placed_order_id(values)
            for event_id, values in mine.items()
            if (copy := recorded.get((event_id, account_id))) is None or not copy.status.is_final
        }

    def skip_pending_copies_of_removed(self, group_id: str, account_id: str, reason: str) -> int:
        """Marks the removed follower's still-pending copies skipped, so none stays pending forever."""
        marked = 0
        for event_id, order_id in self._pending_of(group_id, account_id).items():
            record = CopyRecord(
                account_id=account_id, status=CopyStatus.SKIPPED, reason=reason, updated_at=self._clock()
            )
            try:
                self.record_copy(group_id, event_id, record, order_id=order_id, by_removal=True)
                marked += 1
            except CopyAlreadyFinal:
                pass
        return marked
