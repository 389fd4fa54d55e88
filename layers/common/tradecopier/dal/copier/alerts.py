"""Alert ledger: ``ALERT#{account_id}`` / ``ALERT#{kind}``, when that alert was last sent.

One conditional PutItem decides whether an alert goes out: it succeeds only if none of that kind
was sent for the account within the interval, so a flapping connection alerts once per interval
even when many execution environments see it at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from botocore.exceptions import ClientError

from tradecopier.dal.copier.keys import alert_key, iso
from tradecopier.dal.copier.table import TableAccess, is_condition_failure


class AlertLedgerStore(TableAccess):
    def claim_alert(self, account_id: str, kind: str, now: datetime, min_interval_seconds: int) -> bool:
        """True if this alert may be sent now (and records it as sent); False if one was sent lately."""
        try:
            self._client.put_item(
                TableName=self._table,
                Item={
                    **alert_key(account_id, kind),
                    "sent_at": {"S": iso(now)},
                    "expires_at": {"N": str(int((now + timedelta(days=1)).timestamp()))},
                },
                ConditionExpression="attribute_not_exists(pk) OR sent_at <= :cutoff",
                ExpressionAttributeValues={
                    ":cutoff": {"S": iso(now - timedelta(seconds=min_interval_seconds))}
                },
            )
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise
        return True
