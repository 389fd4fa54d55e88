"""Copy entries: ``copies.{account_id}`` of a leader event item, one follower's copy outcome.

The entry is the executor's idempotency record: once final it is never overwritten.
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from tradecopier.dal.copier.errors import CopyAlreadyFinal
from tradecopier.dal.copier.events import EventStore, copy_values
from tradecopier.dal.copier.keys import event_key
from tradecopier.dal.copier.table import is_condition_failure
from tradecopier.dal.dynamodb import to_attr
from tradecopier.domain.copies import CopyRecord
from tradecopier.domain.enums import CopyStatus


class CopyStore(EventStore):
    def record_copy(self, group_id: str, event_id: str, record: CopyRecord) -> None:
        """Writes one follower's copy outcome, unless a final outcome is already there.

        The condition makes the copy record the executor's idempotency record: a second delivery
        can never overwrite a final outcome (raises CopyAlreadyFinal).
        """
        try:
            self._client.update_item(
                TableName=self._table,
                Key=event_key(group_id, event_id),
                UpdateExpression="SET copies.#acct = :record",
                # A copy skipped because its follower was being removed may still be overwritten by
                # the executor that was already placing it: the placed order must not go unrecorded.
                ConditionExpression="attribute_exists(copies.#acct) AND "
                "(copies.#acct.#status = :pending OR copies.#acct.by_removal = :yes)",
                ExpressionAttributeNames={"#acct": record.account_id, "#status": "status"},
                ExpressionAttributeValues={
                    ":record": to_attr(copy_values(record)),
                    ":pending": {"S": CopyStatus.PENDING.value},
                    ":yes": {"BOOL": True},
                },
            )
        except ClientError as error:
            if is_condition_failure(error):
                raise CopyAlreadyFinal() from error
            raise

    def pending_event_ids(self, group_id: str, account_id: str) -> list[str]:
        """Every event of the group whose copy for ``account_id`` is still pending."""
        items = self._events_by_id(
            group_id,
            self._event_ids(group_id),
            projection="event_id, copies.#acct.#status",
            names={"#acct": account_id, "#status": "status"},
        )
        return [
            event_id
            for event_id, values in items.items()
            if values.get("copies", {}).get(account_id, {}).get("status") == CopyStatus.PENDING.value
        ]

    def skip_pending_copies_of_removed(self, group_id: str, account_id: str, reason: str) -> int:
        """Marks the removed follower's still-pending copies skipped, so none stays pending forever."""
        marked = 0
        for event_id in self.pending_event_ids(group_id, account_id):
            record = {
                **copy_values(
                    CopyRecord(
                        account_id=account_id,
                        status=CopyStatus.SKIPPED,
                        reason=reason,
                        updated_at=self._clock(),
                    )
                ),
                "by_removal": True,
            }
            try:
                self._client.update_item(
                    TableName=self._table,
                    Key=event_key(group_id, event_id),
                    UpdateExpression="SET copies.#acct = :record",
                    ConditionExpression="copies.#acct.#status = :pending",
                    ExpressionAttributeNames={"#acct": account_id, "#status": "status"},
                    ExpressionAttributeValues={":record": to_attr(record), ":pending": {"S": "pending"}},
                )
                marked += 1
            except ClientError as error:
                if not is_condition_failure(error):
                    raise
        return marked
