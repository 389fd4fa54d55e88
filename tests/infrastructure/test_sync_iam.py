"""Sync's writes are allowed where they happen: ingest updates the leader's position item, the
executor updates a follower's ``sync`` field after a copy, the admin function (the sync routes)
reads and writes the sync items and places catch-ups on paper accounts."""

from __future__ import annotations

from typing import Any

import pytest


def _table_actions(template: dict[str, Any], function: str, table: str) -> set[str]:
    found: set[str] = set()
    for policy in template["Resources"][function]["Properties"].get("Policies", []):
        for statement in policy.get("Statement", []) if isinstance(policy, dict) else []:
            resources = statement.get("Resource", [])
            resources = resources if isinstance(resources, list) else [resources]
            if any(table in str(resource) for resource in resources):
                actions = (
                    statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                )
                found.update(actions)
    return found


@pytest.mark.parametrize(
    ("function", "table", "needed"),
    [
        ("IngestFunction", "CopierTable", {"dynamodb:UpdateItem"}),
        ("ExecutorFunction", "CopierTable", {"dynamodb:UpdateItem"}),
        ("AdminFunction", "CopierTable", {"dynamodb:Query", "dynamodb:UpdateItem", "dynamodb:PutItem"}),
        ("AdminFunction", "PaperBrokerTable", {"dynamodb:PutItem", "dynamodb:UpdateItem"}),
        (
            "SchedulerFunction",
            "CopierTable",
            {"dynamodb:Query", "dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:PutItem"},
        ),
        ("SchedulerFunction", "PaperBrokerTable", {"dynamodb:PutItem", "dynamodb:UpdateItem"}),
    ],
)
def test_sync_writes_are_allowed(
    template: dict[str, Any], function: str, table: str, needed: set[str]
) -> None:
    assert needed <= _table_actions(template, function, table)
