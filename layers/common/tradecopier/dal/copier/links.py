"""Order links: ``LINK#{group_id}#{leader_order_id}`` / ``FOLLOWER#{account}``, the follower's order
that copies a leader order (written per placed copy, read back by modify/cancel; TTL)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tradecopier.dal.copier.keys import link_key
from tradecopier.dal.copier.table import TableAccess
from tradecopier.dal.dynamodb import to_item
from tradecopier.domain.orders import OrderLink


def link_from(group_id: str, leader_order_id: str, account_id: str, values: dict[str, Any]) -> OrderLink:
    return OrderLink(
        group_id=group_id,
        leader_order_id=leader_order_id,
        account_id=account_id,
        broker_order_id=values["broker_order_id"],
        client_order_id=values["client_order_id"],
        symbol=values["symbol"],
    )


class LinkStore(TableAccess):
    def put_link(self, link: OrderLink, moment: datetime) -> None:
        """Writes the link; it expires ``event_retention_days`` after ``moment``."""
        self._client.put_item(
            TableName=self._table,
            Item={
                **link_key(link.group_id, link.leader_order_id, link.account_id),
                **to_item(
                    {
                        "broker_order_id": link.broker_order_id,
                        "client_order_id": link.client_order_id,
                        "symbol": link.symbol,
                        "expires_at": self._expires_at(moment),
                    }
                ),
            },
        )
