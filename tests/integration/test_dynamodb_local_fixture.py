"""The DynamoDB Local fixtures give real tables with template.yaml's schema."""

from __future__ import annotations

from typing import TYPE_CHECKING

import boto3

from tests.conftest import CopierTables

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def test_copier_tables_match_template_schema(
    dynamodb_local_client: DynamoDBClient, copier_tables: CopierTables
) -> None:
    copier = dynamodb_local_client.describe_table(TableName=copier_tables.copier)["Table"]
    assert copier["TableStatus"] == "ACTIVE"
    assert [(k["AttributeName"], k["KeyType"]) for k in copier["KeySchema"]] == [
        ("pk", "HASH"),
        ("sk", "RANGE"),
    ]
    assert copier["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    (gsi,) = copier["GlobalSecondaryIndexes"]
    assert gsi["IndexName"] == "gsi1"
    assert [(k["AttributeName"], k["KeyType"]) for k in gsi["KeySchema"]] == [
        ("gsi1pk", "HASH"),
        ("gsi1sk", "RANGE"),
    ]
    assert gsi["Projection"] == {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["group_id", "event_id"]}
    ttl = dynamodb_local_client.describe_time_to_live(TableName=copier_tables.copier)
    assert ttl["TimeToLiveDescription"]["TimeToLiveStatus"] == "ENABLED"
    assert ttl["TimeToLiveDescription"]["AttributeName"] == "expires_at"

    paper = dynamodb_local_client.describe_table(TableName=copier_tables.paper)["Table"]
    assert [k["AttributeName"] for k in paper["KeySchema"]] == ["pk", "sk"]
    assert "GlobalSecondaryIndexes" not in paper


def test_copier_env_points_boto3_at_dynamodb_local(copier_env: CopierTables) -> None:
    # No endpoint_url: boto3 itself reads AWS_ENDPOINT_URL_DYNAMODB, as the handlers' clients will.
    client = boto3.client("dynamodb")
    client.put_item(
        TableName=copier_env.copier,
        Item={
            "pk": {"S": "GROUP#g1"},
            "sk": {"S": "FOLLOWER#a1"},
            "gsi1pk": {"S": "ACCOUNT#a1"},
            "gsi1sk": {"S": "GROUP#g1"},
        },
        ConditionExpression="attribute_not_exists(pk)",
    )
    item = client.get_item(
        TableName=copier_env.copier,
        Key={"pk": {"S": "GROUP#g1"}, "sk": {"S": "FOLLOWER#a1"}},
        ConsistentRead=True,
    )["Item"]
    assert item["gsi1pk"] == {"S": "ACCOUNT#a1"}
    by_account = client.query(
        TableName=copier_env.copier,
        IndexName="gsi1",
        KeyConditionExpression="gsi1pk = :a",
        ExpressionAttributeValues={":a": {"S": "ACCOUNT#a1"}},
    )
    assert by_account["Count"] == 1
