"""template.yaml gives each function exactly the variables of its settings model.

A function's environment is Globals' ``Environment`` plus its own. Every required field of its model
(``tradecopier.settings``) must be set there, or the function fails its cold start; every variable
besides Powertools' must be a field of the model, or it is configuration nothing reads.
"""

from __future__ import annotations

from typing import Any

import pytest

from tradecopier.settings import (
    AdminSettings,
    BoardSettings,
    ExecutorSettings,
    IngestSettings,
    SchedulerSettings,
    Settings,
)

FUNCTION_SETTINGS: dict[str, type[Settings]] = {
    "IngestFunction": IngestSettings,
    "AdminFunction": AdminSettings,
    "ExecutorFunction": ExecutorSettings,
    "SchedulerFunction": SchedulerSettings,
    "BoardFunction": BoardSettings,
}
POWERTOOLS_VARIABLES = {
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
    "POWERTOOLS_LOGGER_LOG_EVENT",
    "LOG_LEVEL",
}


def _variables(properties: dict[str, Any]) -> dict[str, Any]:
    return dict(((properties.get("Environment") or {}).get("Variables")) or {})


def function_environment(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    globals_fn = (template.get("Globals") or {}).get("Function") or {}
    own = template["Resources"][logical_id].get("Properties") or {}
    return {**_variables(globals_fn), **_variables(own)}


def settings_problems(template: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    functions = {
        lid for lid, res in template["Resources"].items() if res.get("Type") == "AWS::Serverless::Function"
    }
    if functions != set(FUNCTION_SETTINGS):
        problems.append(f"functions {sorted(functions)} != settings models for {sorted(FUNCTION_SETTINGS)}")
    for logical_id in sorted(functions & set(FUNCTION_SETTINGS)):
        model = FUNCTION_SETTINGS[logical_id]
        given = set(function_environment(template, logical_id)) - POWERTOOLS_VARIABLES
        fields = {name.upper(): info for name, info in model.model_fields.items()}
        for variable in sorted(name for name, info in fields.items() if info.is_required()):
            if variable not in given:
                problems.append(f"{logical_id}: {variable} is required by {model.__name__} but not set")
        for variable in sorted(given - set(fields)):
            problems.append(f"{logical_id}: {variable} is not a field of {model.__name__}")
    return problems


def test_each_function_gets_exactly_the_variables_of_its_settings(template: dict[str, Any]) -> None:
    assert settings_problems(template) == []


def test_the_executor_gives_up_after_as_many_receives_as_the_admin_configures(
    template: dict[str, Any],
) -> None:
    # The executor locks a follower on the last attempt; the queue's maxReceiveCount is the admin's.
    admin = function_environment(template, "AdminFunction")
    executor = function_environment(template, "ExecutorFunction")
    assert executor["FOLLOWER_MAX_RECEIVE_COUNT"] == admin["FOLLOWER_MAX_RECEIVE_COUNT"]
    assert executor["PAPER_TABLE_NAME"] == admin["PAPER_TABLE_NAME"]
    assert executor["RESOURCE_PREFIX"] == admin["RESOURCE_PREFIX"]
    scheduler = function_environment(template, "SchedulerFunction")  # it flattens the same accounts
    assert scheduler["PAPER_TABLE_NAME"] == executor["PAPER_TABLE_NAME"]
    assert scheduler["RESOURCE_PREFIX"] == executor["RESOURCE_PREFIX"]


@pytest.mark.parametrize(
    ("logical_id", "variable", "problem"),
    [
        ("AdminFunction", "EXECUTOR_FUNCTION_NAME", "is required by AdminSettings but not set"),
        ("ExecutorFunction", "RESOURCE_PREFIX", "is required by ExecutorSettings but not set"),
        ("SchedulerFunction", "PAPER_TABLE_NAME", "is required by SchedulerSettings but not set"),
    ],
)
def test_check_catches_a_missing_required_variable(
    template: dict[str, Any], logical_id: str, variable: str, problem: str
) -> None:
    del template["Resources"][logical_id]["Properties"]["Environment"]["Variables"][variable]
    assert settings_problems(template) == [f"{logical_id}: {variable} {problem}"]


def test_check_catches_a_variable_no_setting_reads(template: dict[str, Any]) -> None:
    template["Globals"]["Function"]["Environment"]["Variables"]["EXECUTOR_FUNCTION_NAME"] = "x"
    assert settings_problems(template) == [
        "BoardFunction: EXECUTOR_FUNCTION_NAME is not a field of BoardSettings",
        "ExecutorFunction: EXECUTOR_FUNCTION_NAME is not a field of ExecutorSettings",
        "IngestFunction: EXECUTOR_FUNCTION_NAME is not a field of IngestSettings",
        "SchedulerFunction: EXECUTOR_FUNCTION_NAME is not a field of SchedulerSettings",
    ]
