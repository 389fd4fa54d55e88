"""``ListenerSchedule``: the listener runs the CME trading week only, and its alarm stays truthful.

With ``trading-week`` (the default), EventBridge Scheduler sets the listener service's desired count
to 1 at ``ListenerStartCron`` and to 0 at ``ListenerStopCron`` (universal ECS target, no function of
ours), turns the stream-down alarm's actions off at the stop and, at ``ListenerRearmCron``, resets it
to OK and turns them on again, so a listener that failed to start still alarms. The service then
carries no ``DesiredCount`` (a stack update must not undo the schedule); with ``always`` it is 1 and
none of the schedule's resources exist. docs/cost.md says why and what it saves.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.infrastructure.conftest import parsed_template

SCHEDULE_RESOURCES = {
    "ListenerScheduleRole",
    "ListenerStartSchedule",
    "ListenerStopSchedule",
    "ListenerAlarmQuietSchedule",
    "ListenerAlarmResetSchedule",
    "ListenerAlarmRearmSchedule",
}


def _resources() -> dict[str, Any]:
    resources: dict[str, Any] = parsed_template()["Resources"]
    return resources


def _schedules() -> dict[str, dict[str, Any]]:
    return {lid: r for lid, r in _resources().items() if r["Type"] == "AWS::Scheduler::Schedule"}


def _sub(value: Any) -> str:
    """The string of a ``Fn::Sub`` (or a plain string)."""
    if isinstance(value, dict) and set(value) == {"Fn::Sub"}:
        sub = value["Fn::Sub"]
        return str(sub if isinstance(sub, str) else sub[0])
    return str(value)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _call(schedule: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """(cron parameter, ``service:operation`` of the universal target, its input with ${...} kept)."""
    properties = schedule["Properties"]
    target = properties["Target"]
    operation = _sub(target["Arn"]).split(":aws-sdk:", 1)[1]
    body = json.loads(_sub(target["Input"]))
    return properties["ScheduleExpression"]["Ref"], operation, body


def test_the_defaults_are_the_cme_week_in_central_time() -> None:
    parameters = parsed_template()["Parameters"]
    assert parameters["ListenerSchedule"]["Default"] == "trading-week"
    assert sorted(parameters["ListenerSchedule"]["AllowedValues"]) == ["always", "trading-week"]
    assert parameters["ListenerScheduleTimezone"]["Default"] == "America/Chicago"
    assert parameters["ListenerStartCron"]["Default"] == "cron(45 16 ? * SUN *)"  # 15 min before the open
    assert parameters["ListenerStopCron"]["Default"] == "cron(0 17 ? * FRI *)"  # after the weekly close
    assert parameters["ListenerRearmCron"]["Default"] == "cron(0 17 ? * SUN *)"
    for name in ("ListenerStartCron", "ListenerStopCron", "ListenerRearmCron"):
        pattern = parameters[name]["AllowedPattern"]
        assert re.fullmatch(pattern, parameters[name]["Default"])
        assert not re.fullmatch(pattern, "rate(1 day)")  # a rate would drift off the trading week
    assert parsed_template()["Conditions"]["ListenerScheduled"] == {
        "Fn::And": [
            {"Condition": "ListenerEnabled"},
            {"Fn::Equals": [{"Ref": "ListenerSchedule"}, "trading-week"]},
        ]
    }


def test_every_schedule_resource_exists_only_when_the_listener_is_scheduled() -> None:
    scheduled = {lid for lid, r in _resources().items() if r.get("Condition") == "ListenerScheduled"}
    assert scheduled == SCHEDULE_RESOURCES
    assert set(_schedules()) == SCHEDULE_RESOURCES - {"ListenerScheduleRole"}


def test_the_schedules_start_and_stop_the_listener_service_and_quiet_its_alarm_between() -> None:
    calls = {_call(schedule)[:2]: _call(schedule)[2] for schedule in _schedules().values()}
    service = {"Cluster": "${ListenerCluster}", "Service": "${ListenerService.Name}"}
    alarm = "${ListenerStreamsDownAlarm}"
    assert calls == {
        ("ListenerStartCron", "ecs:updateService"): {**service, "DesiredCount": 1},
        ("ListenerStopCron", "ecs:updateService"): {**service, "DesiredCount": 0},
        ("ListenerStopCron", "cloudwatch:disableAlarmActions"): {"AlarmNames": [alarm]},
        ("ListenerRearmCron", "cloudwatch:setAlarmState"): {
            "AlarmName": alarm,
            "StateValue": "OK",
            "StateReason": "scheduled listener start: re-armed",
        },
        ("ListenerRearmCron", "cloudwatch:enableAlarmActions"): {"AlarmNames": [alarm]},
    }
    for schedule in _schedules().values():
        properties = schedule["Properties"]
        assert properties["ScheduleExpressionTimezone"] == {"Ref": "ListenerScheduleTimezone"}
        assert properties["FlexibleTimeWindow"] == {"Mode": "OFF"}  # on the minute, not "within"
        assert properties["Target"]["RoleArn"] == {"Fn::GetAtt": ["ListenerScheduleRole", "Arn"]}
        assert properties["Target"]["RetryPolicy"]["MaximumRetryAttempts"] > 0


def test_the_schedule_role_may_only_scale_the_listener_and_touch_its_alarm() -> None:
    role = _resources()["ListenerScheduleRole"]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert "aws:SourceAccount" in trust["Condition"]["StringEquals"]
    statements = [s for policy in role["Policies"] for s in policy["PolicyDocument"]["Statement"]]
    granted = {
        (action, json.dumps(statement["Resource"], sort_keys=True))
        for statement in statements
        for action in _as_list(statement["Action"])
    }
    alarm = json.dumps({"Fn::GetAtt": ["ListenerStreamsDownAlarm", "Arn"]})
    assert granted == {
        ("ecs:UpdateService", json.dumps({"Ref": "ListenerService"})),  # Ref: the service's ARN
        ("cloudwatch:DisableAlarmActions", alarm),
        ("cloudwatch:EnableAlarmActions", alarm),
        ("cloudwatch:SetAlarmState", alarm),
    }


@pytest.mark.parametrize("scheduled", [True, False])
def test_a_scheduled_service_has_no_desired_count_for_a_stack_update_to_reset(scheduled: bool) -> None:
    desired = _resources()["ListenerService"]["Properties"]["DesiredCount"]
    condition, when_scheduled, when_always = desired["Fn::If"]
    assert condition == "ListenerScheduled"
    assert (when_scheduled if scheduled else when_always) == ({"Ref": "AWS::NoValue"} if scheduled else 1)


def test_the_alarm_the_schedule_quiets_is_the_stream_down_alarm_that_breaches_on_silence() -> None:
    alarm = _resources()["ListenerStreamsDownAlarm"]["Properties"]
    assert alarm["MetricName"] == "ListenerStreamsDown"
    assert alarm["TreatMissingData"] == "breaching"  # why the quiet window is needed at all
    assert alarm["OKActions"] and alarm["AlarmActions"]
