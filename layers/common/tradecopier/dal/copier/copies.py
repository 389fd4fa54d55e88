"""Copy items: ``EVENT#{group_id}#{event_id}`` / ``COPY#{account_id}``, one follower's copy outcome
of one leader event, written by the executor (ingest writes none: a follower of the event without
one is ``pending``). Small and written once per outcome, so a copy's write units do not grow
with the number of followers.

The item is the executor's idempotency record: once final it is never overwritten.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from tradecopier.dal.copier.errors import CopyAlreadyFinal
from tradecopier.dal.copier.events import EventStore, copy_values
from tradecopier.dal.copier.keys import copy_key
from tradecopier.dal.copier.table import is_condition_failure
from tradecopier.dal.dynamodb import to_item
from tradecopier.domain.copies import CopyRecord
from tradecopier.domain.enums import CopyStatus

# A copy skipped because its follower was being removed may still be overwritten by the executor
# that was already placing it: the placed order must not go unrecorded.
_NOT_FINAL = "attribute_not_exists(pk) OR #status = :pending"
_REPLACEABLE = f"{_NOT_FINAL} OR by_removal = :yes"


class CopyStore(EventStore):
    def copy_put(
        self, group_id: str, event_id: str, record: CopyRecord, *, by_removal: bool = False
    ) -> dict[str, Any]:
        """The conditional Put of one copy item (for PutItem or a transaction): it goes through
        only while the copy is not final yet (absent or pending)."""
        values: dict[str, Any] = {":pending": {"S": CopyStatus.PENDING.value}}
        if not by_removal:
            values[":yes"] = {"BOOL": True}
        return {
            "TableName": self._table,
            "Item": {
                **copy_key(group_id, event_id, record.account_id),
                **to_item(
                    {
                        **copy_values(record),
                        "event_id": event_id,
                        "by_removal": True if by_removal else None,
                        "expires_at": self._expires_at(record.updated_at or self._clock()),
                    }
                ),
            },
            "ConditionExpression": _NOT_FINAL if by_removal else _REPLACEABLE,
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": values,
        }

    def record_copy(self, group_id: str, event_id: str, record: CopyRecord) -> None:
        """Writes one follower's copy outcome (one PutItem), unless a final outcome is already there.

        The condition makes the copy item the executor's idempotency record: a second delivery
        can never overwrite a final outcome (raises CopyAlreadyFinal).
        """
        try:
            self._client.put_item(**self.copy_put(group_id, event_id, record))
        except ClientError as error:
            if is_condition_failure(error):
                raise CopyAlreadyFinal() from error
            raise

    def pending_event_ids(self, group_id: str, account_id: str) -> list[str]:
        """Every event of the group whose copy for ``account_id`` is still pending: the events it
        was accepted for, less those with a final copy item."""
        events = self._events_by_id(group_id, self._event_ids(group_id), projection="event_id, #followers")
        mine = {eid: values for eid, values in events.items() if account_id in values.get("followers", [])}
        copies = self._copies_of(group_id, mine, account_id)
        return [
            event_id
            for event_id in mine
            if all(copy.get("status") == CopyStatus.PENDING.value for copy in copies[event_id])
        ]

    def skip_pending_copies_of_removed(self, group_id: str, account_id: str, reason: str) -> int:
        """Marks the removed follower's still-pending copies skipped, so none stays pending forever."""
        marked = 0
        for event_id in self.pending_event_ids(group_id, account_id):
            record = CopyRecord(
                account_id=account_id, status=CopyStatus.SKIPPED, reason=reason, updated_at=self._clock()
            )
            try:
                self._client.put_item(**self.copy_put(group_id, event_id, record, by_removal=True))
                marked += 1
            except ClientError as error:
                if not is_condition_failure(error):
                    raise
        return marked
