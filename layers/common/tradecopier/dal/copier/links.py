"""Order links: ``LINK#{group_id}#{leader_order_id}`` / ``FOLLOWER#{account}``, the follower's order
that copies a leader order (read back by modify/cancel of that leader order; TTL).

The link of an ``order.placed`` copy is not written here: that copy's record *is* the link item
(``copies``: one conditional PutItem holds the outcome and, when an order was placed, the link
attributes below). What this module writes are the other links: a bracket's leg links (items of
their own: a bracket is more than one order), and a link that changes or is made by a later event
(a modify that replaced the follower order; an entry copied from a leader fill in copy mode
``fills``), which updates only the link attributes, never the copy record that may share the item.

The link's attributes are named apart from the copy record's (``link_broker_order_id``, not
``broker_order_id``): a later link update must not rewrite what the placed copy recorded.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tradecopier.dal.copier.keys import link_key
from tradecopier.dal.copier.table import TableAccess
from tradecopier.dal.dynamodb import to_attr, to_item
from tradecopier.domain.enums import Leg
from tradecopier.domain.orders import OrderLink

# The link's attributes (what the executor's one read projects of a link item).
LINK_FIELDS = (
    "link_broker_order_id",
    "link_client_order_id",
    "symbol",
    "leg",
    "parent_broker_order_id",
    "leg_order_ids",
)
_OPTIONAL = ("leg", "parent_broker_order_id", "leg_order_ids")
# BatchWriteItem takes 25 items; a bracket writes at most two leg links.
_BATCH_ATTEMPTS = 5


def has_link(values: dict[str, Any]) -> bool:
    """Whether an item at a link key holds a link (a copy record there may hold none: a skipped,
    rejected or still pending ``order.placed`` copy placed no follower order)."""
    return "link_broker_order_id" in values


def link_from(group_id: str, leader_order_id: str, account_id: str, values: dict[str, Any]) -> OrderLink:
    return OrderLink(
        group_id=group_id,
        leader_order_id=leader_order_id,
        account_id=account_id,
        broker_order_id=values["link_broker_order_id"],
        client_order_id=values["link_client_order_id"],
        symbol=values["symbol"],
        leg=Leg(values["leg"]) if "leg" in values else None,
        parent_broker_order_id=values.get("parent_broker_order_id"),
        leg_order_ids={Leg(leg): str(order_id) for leg, order_id in values.get("leg_order_ids", {}).items()},
    )


def link_values(link: OrderLink) -> dict[str, Any]:
    """The link's attributes (None: absent)."""
    return {
        "link_broker_order_id": link.broker_order_id,
        "link_client_order_id": link.client_order_id,
        "symbol": link.symbol,
        "leg": link.leg.value if link.leg else None,
        "parent_broker_order_id": link.parent_broker_order_id,
        "leg_order_ids": {leg.value: order_id for leg, order_id in link.leg_order_ids.items()} or None,
    }


class LinkStore(TableAccess):
    def put_link(self, link: OrderLink, moment: datetime) -> None:
        """Writes a link item of its own (a bracket leg's); it expires ``event_retention_days``
        after ``moment``."""
        self._client.put_item(TableName=self._table, Item=self._link_item(link, moment))

    def update_link(self, link: OrderLink, moment: datetime) -> None:
        """Sets the link's attributes on its item (creating it if absent), leaving any copy record
        there as it is: one UpdateItem."""
        values = link_values(link)
        present = {name: value for name, value in values.items() if value is not None}
        names = {f"#{name}": name for name in values}
        updates = ", ".join(f"#{name} = :{name}" for name in present)
        expression = f"SET {updates}, expires_at = :expires_at"
        removed = [f"#{name}" for name in _OPTIONAL if values[name] is None]
        if removed:
            expression += " REMOVE " + ", ".join(removed)
        self._client.update_item(
            TableName=self._table,
            Key=link_key(link.group_id, link.leader_order_id, link.account_id),
            UpdateExpression=expression,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={
                **{f":{name}": to_attr(value) for name, value in present.items()},
                ":expires_at": to_attr(self._expires_at(moment)),
            },
        )

    def write_links(self, links: list[OrderLink], moment: datetime) -> None:
        """The links a copy record does not carry: an entry's (leg None) by ``update_link``, bracket
        legs' as items of their own (one PutItem, or one BatchWriteItem for both legs)."""
        legs = [link for link in links if link.leg is not None]
        for link in links:
            if link.leg is None:
                self.update_link(link, moment)
        if legs:
            self.put_links(legs, moment)

    def put_links(self, links: list[OrderLink], moment: datetime) -> None:
        """Writes link items of their own in one BatchWriteItem (one PutItem for a single link)."""
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
            **to_item({**link_values(link), "expires_at": self._expires_at(moment)}),
        }
