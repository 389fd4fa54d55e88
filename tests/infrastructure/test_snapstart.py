"""``EnableSnapStart``: SnapStart on the executor, and the mappings then invoke its alias.

SnapStart only applies to published versions, so the executor always gets a version and an alias
(``AutoPublishAlias``, which SAM cannot make conditional); the parameter decides whether that
version is snapshotted and whether the admin function points the follower mappings (and the IAM
condition that pins them) at the alias or at the unqualified function. See docs/snapstart.md.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.infrastructure.conftest import parsed_template
from tests.infrastructure.test_template_iam import _translated


def _resolve(value: Any, snapstart_on: bool) -> Any:
    """``value`` with every ``Fn::If`` on SnapStartOn decided (other intrinsics kept)."""
    if isinstance(value, dict):
        if set(value) == {"Fn::If"} and value["Fn::If"][0] == "SnapStartOn":  # others are kept
            _, when_true, when_false = value["Fn::If"]
            return _resolve(when_true if snapstart_on else when_false, snapstart_on)
        return {key: _resolve(item, snapstart_on) for key, item in value.items()}
    if isinstance(value, list):
        return [_resolve(item, snapstart_on) for item in value]
    return value


def _function_arn_conditions(resources: dict[str, Any]) -> list[Any]:
    found = []
    for policy in resources["AdminFunctionRole"]["Properties"]["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            condition = statement.get("Condition", {}).get("ArnEquals", {})
            if "lambda:FunctionArn" in condition:
                found.append(condition["lambda:FunctionArn"])
    return found


def test_the_parameter_is_off_by_default() -> None:
    parameter = parsed_template()["Parameters"]["EnableSnapStart"]
    assert parameter["Default"] == "false"
    assert sorted(parameter["AllowedValues"]) == ["false", "true"]
    condition = parsed_template()["Conditions"]["SnapStartOn"]
    assert condition == {"Fn::Equals": [{"Ref": "EnableSnapStart"}, "true"]}


@pytest.mark.parametrize("on", [True, False])
def test_snapstart_applies_to_the_published_executor_version_and_the_mappings_follow(on: bool) -> None:
    resources = _resolve(_translated()["Resources"], on)
    executor = resources["ExecutorFunction"]["Properties"]
    assert executor["SnapStart"] == {"ApplyOn": "PublishedVersions" if on else "None"}

    aliases = [lid for lid, r in resources.items() if r["Type"] == "AWS::Lambda::Alias"]
    versions = [lid for lid, r in resources.items() if r["Type"] == "AWS::Lambda::Version"]
    assert len(aliases) == 1 and len(versions) == 1  # the executor's only (ingest/admin: $LATEST)
    alias, version = resources[aliases[0]], resources[versions[0]]
    assert alias["Properties"]["FunctionName"] == {"Ref": "ExecutorFunction"}
    assert alias["Properties"]["FunctionVersion"] == {"Fn::GetAtt": [versions[0], "Version"]}
    assert version["Properties"]["FunctionName"] == {"Ref": "ExecutorFunction"}
    # Toggling the parameter must replace the version (a new one is snapshotted), code unchanged.
    assert "${EnableSnapStart}" in version["Properties"]["Description"]["Fn::Sub"]

    target = resources["AdminFunction"]["Properties"]["Environment"]["Variables"]["EXECUTOR_FUNCTION_NAME"]
    pinned = _function_arn_conditions(resources)
    assert len(pinned) == 2  # create, and update/delete, of the mappings
    if on:
        assert target == {"Ref": aliases[0]}  # Ref of an alias is its ARN
        assert pinned == [{"Ref": aliases[0]}] * 2
    else:
        assert target == {"Ref": "ExecutorFunction"}
        assert pinned == [{"Fn::GetAtt": ["ExecutorFunction", "Arn"]}] * 2
