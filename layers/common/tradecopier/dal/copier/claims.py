"""Account claims: ``ACCOUNT#{account_id}`` / ``CLAIM``, the item that makes an account belong to
at most one group (written in the same transaction as the group or the follower)."""

from __future__ import annotations

from typing import Any

from tradecopier.dal.copier.keys import claim_key
from tradecopier.dal.copier.table import TableAccess
from tradecopier.dal.dynamodb import from_item, to_item
from tradecopier.domain.accounts import AccountClaim
from tradecopier.domain.enums import AccountRole


def claim_item(account_id: str, group_id: str, role: AccountRole) -> dict[str, Any]:
    return {
        **claim_key(account_id),
        **to_item({"account_id": account_id, "group_id": group_id, "role": role.value}),
    }


def claim_from(account_id: str, values: dict[str, Any]) -> AccountClaim:
    return AccountClaim(account_id=account_id, group_id=values["group_id"], role=AccountRole(values["role"]))


class ClaimStore(TableAccess):
    def get_claim(self, account_id: str) -> AccountClaim | None:
        item = self._client.get_item(TableName=self._table, Key=claim_key(account_id), ConsistentRead=True)
        if "Item" not in item:
            return None
        return claim_from(account_id, from_item(item["Item"]))
