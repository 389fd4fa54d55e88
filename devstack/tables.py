"""Create the DynamoDB tables of template.yaml (AWS::DynamoDB::Table resources) in any endpoint.

Used by the test fixture ``copier_tables`` and by the local stack so that DynamoDB Local always
has exactly the key schema / GSIs / TTL that ``sam deploy`` would create.

    names = create_tables_from_template(client, Path("template.yaml"), name_suffix="t1")
    names["CopierTable"]  # -> "CopierTable-t1"
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

TABLE_TYPE = "AWS::DynamoDB::Table"
# CreateTable parameters copied verbatim from the CloudFormation resource when present.
_CREATE_TABLE_KEYS = (
    "KeySchema",
    "AttributeDefinitions",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
    "BillingMode",
    "ProvisionedThroughput",
    "StreamSpecification",
)


class CfnLoader(yaml.SafeLoader):
    """SafeLoader that turns CloudFormation short-form tags (!Ref, !Sub, !GetAtt, ...) into the
    long form ({"Ref": ...}, {"Fn::Sub": ...}, {"Fn::GetAtt": [...]})."""


def _construct_cfn_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:  # pragma: no cover - PyYAML has no other node kinds
        raise yaml.constructor.ConstructorError(None, None, f"unexpected node {node!r}", node.start_mark)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "Condition":
        return {"Condition": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        return {"Fn::GetAtt": value.split(".", 1)}
    return {f"Fn::{tag_suffix}": value}


CfnLoader.add_multi_constructor("!", _construct_cfn_tag)


def load_template(template_path: Path | str) -> dict[str, Any]:
    """Parse a CloudFormation / SAM YAML template, tolerating short-form intrinsic tags."""
    with open(template_path, encoding="utf-8") as fh:
        data = yaml.load(fh, Loader=CfnLoader)  # CfnLoader is a SafeLoader
    if not isinstance(data, dict):
        raise ValueError(f"{template_path}: not a CloudFormation template")
    return data


def table_definitions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Logical id -> Properties of every AWS::DynamoDB::Table resource, Refs to parameters resolved
    to their defaults."""
    params = {
        name: spec.get("Default")
        for name, spec in (template.get("Parameters") or {}).items()
        if isinstance(spec, dict)
    }
    out: dict[str, dict[str, Any]] = {}
    for logical_id, resource in (template.get("Resources") or {}).items():
        if isinstance(resource, dict) and resource.get("Type") == TABLE_TYPE:
            out[logical_id] = _resolve(resource.get("Properties") or {}, params, logical_id)
    return out


def _resolve(value: Any, params: dict[str, Any], where: str) -> Any:
    if isinstance(value, dict):
        if set(value) == {"Ref"} and isinstance(value["Ref"], str):
            name = value["Ref"]
            if params.get(name) is None:
                raise ValueError(f"{where}: cannot resolve Ref {name!r} locally (no parameter default)")
            return params[name]
        return {k: _resolve(v, params, where) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, params, where) for v in value]
    return value


def create_table(
    client: DynamoDBClient, table_name: str, properties: dict[str, Any], *, timeout: float = 30.0
) -> None:
    """CreateTable (+ UpdateTimeToLive) from one resource's Properties; waits until ACTIVE."""
    params: dict[str, Any] = {k: properties[k] for k in _CREATE_TABLE_KEYS if k in properties}
    params.setdefault(
        "BillingMode", "PROVISIONED" if "ProvisionedThroughput" in params else "PAY_PER_REQUEST"
    )
    client.create_table(TableName=table_name, **params)
    deadline = time.monotonic() + timeout
    while client.describe_table(TableName=table_name)["Table"]["TableStatus"] != "ACTIVE":
        if time.monotonic() > deadline:
            raise TimeoutError(f"table {table_name} not ACTIVE after {timeout:.0f}s")
        time.sleep(0.05)
    ttl = properties.get("TimeToLiveSpecification")
    if isinstance(ttl, dict) and str(ttl.get("Enabled")).lower() == "true":
        client.update_time_to_live(
            TableName=table_name,
            TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
        )


def create_tables_from_template(
    client: DynamoDBClient, template_path: Path | str, name_suffix: str, *, keep_existing: bool = False
) -> dict[str, str]:
    """Create every AWS::DynamoDB::Table of ``template_path``; returns logical id -> table name.

    Table names are ``{LogicalId}-{name_suffix}`` (the template's TableName is ignored, it is left to
    CloudFormation in the real stack), so each caller can get its own fresh set of tables.
    ``keep_existing`` (home mode, DynamoDB Local on disk): a table that already exists is kept as it is.
    """
    existing = set(client.list_tables().get("TableNames", [])) if keep_existing else set()
    names: dict[str, str] = {}
    for logical_id, properties in table_definitions(load_template(template_path)).items():
        table_name = f"{logical_id}-{name_suffix}" if name_suffix else logical_id
        if table_name not in existing:
            create_table(client, table_name, properties)
        names[logical_id] = table_name
    return names


def delete_tables(client: DynamoDBClient, table_names: list[str] | tuple[str, ...]) -> None:
    for name in table_names:
        with contextlib.suppress(client.exceptions.ResourceNotFoundException):
            client.delete_table(TableName=name)
