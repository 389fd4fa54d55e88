"""The group item's ``version`` (see ``groups``): the transaction actions that bump and check it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from tradecopier.dal.copier.keys import group_key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef


def version_bump(table: str, group_id: str) -> TransactWriteItemTypeDef:
    """The transaction action that bumps the group's ``version`` (only while the group exists)."""
    action = {
        "Update": {
            "TableName": table,
            "Key": group_key(group_id),
            "UpdateExpression": "ADD version :one",
            "ConditionExpression": "attribute_exists(pk)",
            "ExpressionAttributeValues": {":one": {"N": "1"}},
        }
    }
    return cast("TransactWriteItemTypeDef", action)


def version_check(table: str, group_id: str, version: int) -> TransactWriteItemTypeDef:
    """The transaction action that holds only while the group is still at ``version``."""
    if version == 0:  # never bumped: the attribute is absent
        condition: dict[str, Any] = {
            "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(version)"
        }
    else:
        condition = {
            "ConditionExpression": "version = :version",
            "ExpressionAttributeValues": {":version": {"N": str(version)}},
        }
    check = {"ConditionCheck": {"TableName": table, "Key": group_key(group_id), **condition}}
    return cast("TransactWriteItemTypeDef", check)
