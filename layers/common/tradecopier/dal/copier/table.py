"""What every copier store shares: the table, its client, the clock, retention, condition errors."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from tradecopier import aws
from tradecopier.clock import Clock, utc_now
from tradecopier.dal.copier.errors import ItemExists, ItemMissing

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def is_condition_failure(error: ClientError) -> bool:
    return aws.error_code(error) == "ConditionalCheckFailedException"


def cancellation_codes(error: ClientError) -> list[str]:
    reasons = error.response.get("CancellationReasons", [])
    return [reason.get("Code", "None") for reason in reasons]


class TableAccess:
    """Access to ``CopierTable``: the base of each item type's store.

    ``clock`` stamps what the stores stamp themselves (a follower's ``created_at`` and ``locked_at``,
    a copy skipped by removal); other moments come in with the records.
    """

    def __init__(
        self,
        table_name: str,
        retention_days: int = 30,
        client: DynamoDBClient | None = None,
        clock: Clock = utc_now,
    ):
        self._table = table_name
        self._retention = timedelta(days=retention_days)
        self._client_override = client
        self._clock = clock

    @property
    def _client(self) -> DynamoDBClient:
        return self._client_override or aws.client("dynamodb")

    def _expires_at(self, moment: datetime) -> int:
        return int((moment + self._retention).timestamp())

    def _transact_create(
        self, items: list[dict[str, Any]], extra: list[dict[str, Any]] | None = None
    ) -> None:
        """Puts every item only if none exists yet (the first is the account claim).

        Raises ItemExists if the first is there already, ItemMissing if a condition in ``extra`` failed.
        """
        actions: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": item,
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
            for item in items
        ]
        actions.extend(extra or [])
        try:
            self._client.transact_write_items(TransactItems=actions)  # type: ignore[arg-type]
        except ClientError as error:
            codes = cancellation_codes(error)
            if aws.error_code(error) == "TransactionCanceledException" and codes:
                if codes[0] == "ConditionalCheckFailed":
                    raise ItemExists() from error
                if "ConditionalCheckFailed" in codes[len(items) :]:
                    raise ItemMissing() from error
            raise
