"""Order links: ``LINK#{group_id}#{leader_order_id}`` / ``FOLLOWER#{account}``, the follower's order
that copies a leader order (written per placed copy, read back by modify/cancel; TTL)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tradecopier.dal.copier.keys import link_key
from tradecopier.dal.copier.table import TableAccess
from tradecopier.dal.dynamodb import to_item
from tradecopier.domain.enums import Leg
from tradecopier.domain.orders import OrderLink

# What the executor's one read projects of a link item.
LINK_FIELDS = (
    "broker_order_id",
    "client_order_id",
    "symbol",
    "leg",
    "parent_broker_order_id",
    "leg_order_ids",
)
# BatchWriteItem takes 25 items; a bracket writes at most three links.
_BATCH_ATTEMPTS = 5


def link_from(group_id: str, leader_order_id: str, account_id: str, values: dict[str, Any]) -> OrderLink:
    return OrderLink(
        group_id=group_id,
        leader_order_id=leader_order_id,
        account_id=account_id,
        broker_order_id=values["broker_order_id"],
        client_order_id=values["client_order_id"],
        symbol=values["symbol"],
        leg=Leg(values["leg"]) if "leg" in values else None,
        parent_broker_order_id=values.get("parent_broker_order_id"),
        leg_order_ids={Leg(leg): str(order_id) for leg, order_id in values.get("leg_order_ids", {}).items()},
    )


class LinkStore(TableAccess):
    def put_link(self, link: OrderLink, moment: datetime) -> None:
        """Writes the link; it expires ``event_retention_days`` after ``moment``."""
        self._client.put_item(TableName=self._table, Item=self._link_item(link, moment))

    def put_links(self, links: list[OrderLink], moment: datetime) -> None:
        """Writes an entry's link with its bracket legs' links in one BatchWriteItem."""
        if len(links) == 1:
            self.put_link(links[0], moment)
            return
        requests: list[Any] = [{"PutRequest": {"Item": self._link_item(link, moment)}} for link in links]
        for _ in range(_BATCH_ATTEMPTS):
            answer = self._client.batch_write_item(RequestItems={self._table: requests})
            requests = list(answer.get("UnprocessedItems", {}).get(self._table, []))
            if not requests:
                return
        raise RuntimeError(f"{len(requests)} order link(s) not written after {_BATCH_ATTEMPTS} attempts")

    def _link_item(self, link: OrderLink, moment: datetime) -> dict[str, Any]:
        return {
            **link_key(link.group_id, link.leader_order_id, link.account_id),
            **to_item(
                {
                    "broker_order_id": link.broker_order_id,
                    "client_order_id": link.client_order_id,
                    "symbol": link.symbol,
                    "leg": link.leg.value if link.leg else None,
                    "parent_broker_order_id": link.parent_broker_order_id,
                    "leg_order_ids": {leg.value: order_id for leg, order_id in link.leg_order_ids.items()}
                    or None,
                    "expires_at": self._expires_at(moment),
                }
            ),
        }
