"""The dashboard and the alarms of template.yaml agree with the metric catalogue.

``tradecopier.observability`` names every custom metric (namespace TradeCopier, exactly one
dimension service=trade-copier). A dashboard widget or alarm that names a metric the code never
emits, or with another dimension set, shows nothing forever; a catalogued metric missing from the
dashboard is invisible. Both are caught here. Each check returns a list of problems so that the
``*_catches_*`` tests can prove a broken template fails.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from typing import Any

from tests.infrastructure.conftest import REPO_ROOT

try:
    from tradecopier import observability
except ModuleNotFoundError:  # pragma: no cover - pytest's pythonpath normally provides layers/common
    sys.path.insert(0, str(REPO_ROOT / "layers" / "common"))
    from tradecopier import observability
from tradecopier.domain.risk.rules import RiskRule

CATALOGUE = {name.value for name in observability.MetricName}
NAMESPACE = observability.NAMESPACE
SERVICE = observability.SERVICE
DIMENSIONS = {"service": SERVICE}

# Alarms the operator relies on: metric name -> statistic (AWS::CloudWatch::Alarm on TradeCopier).
REQUIRED_ALARMS = {
    "CopiesFailed": "Sum",
    "FollowersLocked": "Sum",
    "CopyLatency": "p99",
    "FollowersLiquidated": "Sum",
    "FollowersOutOfSync": "Maximum",
    "ListenerStreamsDown": "Maximum",  # a leader stream the listener should hold is down
}
# The one metric with a second dimension: RiskLocks by rule, whose values the code fixes.
RULE_DIMENSION = {"RiskLocks": ("rule", {rule.value for rule in RiskRule})}
# No data is healthy (no copies, no events) except where silence is the failure: a listener that
# reports nothing is not holding its streams.
MISSING_DATA = {"ListenerStreamsDown": "breaching"}


@dataclass(frozen=True)
class MetricRef:
    where: str
    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]


# ---------------------------------------------------------------------------------------------------
# reading the template


def _resources_of_type(template: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return {
        k: r
        for k, r in (template.get("Resources") or {}).items()
        if isinstance(r, dict) and r.get("Type") == type_
    }


def _substitute(text: str) -> str:
    """Resolve a Fn::Sub string well enough to parse it: ${!Literal} -> ${Literal}, every other
    ${...} -> 1 (valid both inside a JSON string and as a JSON number)."""
    text = re.sub(r"\$\{!([^}]*)\}", "\x00{\\1}", text)
    text = re.sub(r"\$\{[^}]*\}", "1", text)
    return text.replace("\x00", "$")


def dashboard_bodies(template: dict[str, Any]) -> dict[str, Any]:
    """Logical id -> parsed DashboardBody of every AWS::CloudWatch::Dashboard."""
    bodies: dict[str, Any] = {}
    for logical_id, resource in _resources_of_type(template, "AWS::CloudWatch::Dashboard").items():
        raw = (resource.get("Properties") or {}).get("DashboardBody")
        if isinstance(raw, dict) and "Fn::Sub" in raw:
            sub = raw["Fn::Sub"]
            raw = sub if isinstance(sub, str) else sub[0]
        if not isinstance(raw, str):
            raise AssertionError(f"{logical_id}: DashboardBody must be a JSON string or !Sub of one")
        bodies[logical_id] = json.loads(_substitute(raw))
    return bodies


def dashboard_metrics(body: dict[str, Any], where: str) -> tuple[list[MetricRef], list[str], list[str]]:
    """(metric references, expressions, problems) of one dashboard body."""
    refs: list[MetricRef] = []
    expressions: list[str] = []
    problems: list[str] = []
    for w_index, widget in enumerate(body.get("widgets", [])):
        if widget.get("type") != "metric":
            continue
        props = widget.get("properties") or {}
        title = f"{where} widget {w_index} ({props.get('title', '')})"
        for row in props.get("metrics", []):
            if row and isinstance(row[0], dict):
                expressions.append(str(row[0].get("expression", "")))
                continue
            fields = [f for f in row if isinstance(f, str)]
            if any(f in (".", "...") for f in fields):
                problems.append(f"{title}: '.'/'...' shorthand in {row}; write metric rows out in full")
                continue
            if len(fields) < 2 or len(fields) % 2:
                problems.append(f"{title}: cannot read metric row {row}")
                continue
            dims = tuple(zip(fields[2::2], fields[3::2], strict=True))
            refs.append(MetricRef(title, fields[0], fields[1], dims))
    return refs, expressions, problems


def alarm_metrics(template: dict[str, Any]) -> tuple[list[MetricRef], list[str], list[str]]:
    refs: list[MetricRef] = []
    expressions: list[str] = []
    problems: list[str] = []

    def dims_of(value: Any) -> tuple[tuple[str, str], ...]:
        return tuple(
            (str(d.get("Name")), d.get("Value") if isinstance(d.get("Value"), str) else repr(d.get("Value")))
            for d in value or []
        )

    for logical_id, resource in _resources_of_type(template, "AWS::CloudWatch::Alarm").items():
        props = resource.get("Properties") or {}
        if "MetricName" in props:
            refs.append(
                MetricRef(
                    logical_id,
                    str(props.get("Namespace")),
                    str(props["MetricName"]),
                    dims_of(props.get("Dimensions")),
                )
            )
        for query in props.get("Metrics", []) or []:
            if "Expression" in query:
                expressions.append(str(query["Expression"]))
            metric = (query.get("MetricStat") or {}).get("Metric")
            if metric:
                refs.append(
                    MetricRef(
                        logical_id,
                        str(metric.get("Namespace")),
                        str(metric.get("MetricName")),
                        dims_of(metric.get("Dimensions")),
                    )
                )
        if "MetricName" not in props and not props.get("Metrics"):
            problems.append(f"{logical_id}: alarm names no metric")
    return refs, expressions, problems


# ---------------------------------------------------------------------------------------------------
# checks


def custom_metric_problems(refs: list[MetricRef], expressions: list[str]) -> list[str]:
    problems = []
    for ref in refs:
        if ref.namespace != NAMESPACE:
            continue
        if ref.name not in CATALOGUE:
            problems.append(
                f"{ref.where}: {NAMESPACE}/{ref.name} is not in tradecopier.observability.MetricName"
            )
        if ref.name in RULE_DIMENSION:
            key, values = RULE_DIMENSION[ref.name]
            dims = dict(ref.dimensions)
            if len(ref.dimensions) != 2 or dims.get("service") != SERVICE or dims.get(key) not in values:
                problems.append(f"{ref.where}: {NAMESPACE}/{ref.name} dimensions {ref.dimensions}")
            continue
        if dict(ref.dimensions) != DIMENSIONS or len(ref.dimensions) != 1:
            problems.append(
                f"{ref.where}: {NAMESPACE}/{ref.name} dimensions {ref.dimensions}, "
                f"the code emits {DIMENSIONS}"
            )
    for expression in expressions:
        if NAMESPACE in expression:
            problems.append(f"expression {expression!r} reads {NAMESPACE}: name custom metrics explicitly")
    return problems


def all_problems(template: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    bodies = dashboard_bodies(template)
    if len(bodies) != 1:
        problems.append(f"expected one dashboard, found {sorted(bodies)}")
    on_dashboard: set[str] = set()
    for logical_id, body in bodies.items():
        refs, expressions, found = dashboard_metrics(body, logical_id)
        problems += found + custom_metric_problems(refs, expressions)
        on_dashboard |= {r.name for r in refs if r.namespace == NAMESPACE}
    for name in sorted(CATALOGUE - on_dashboard):
        problems.append(f"catalogued metric {name} is not on the dashboard")
    refs, expressions, found = alarm_metrics(template)
    problems += found + custom_metric_problems(refs, expressions)
    return problems


def required_alarm_problems(template: dict[str, Any]) -> list[str]:
    problems = []
    alarms = _resources_of_type(template, "AWS::CloudWatch::Alarm")
    for name, stat in REQUIRED_ALARMS.items():
        matching = [
            (k, a["Properties"])
            for k, a in alarms.items()
            if a["Properties"].get("Namespace") == NAMESPACE and a["Properties"].get("MetricName") == name
        ]
        if not matching:
            problems.append(f"no alarm on {NAMESPACE}/{name}")
        for logical_id, props in matching:
            if stat not in (props.get("Statistic"), props.get("ExtendedStatistic")):
                problems.append(f"{logical_id}: statistic should be {stat}")
            if {"Ref": "AlertsTopic"} not in props.get("AlarmActions", []):
                problems.append(f"{logical_id}: does not notify AlertsTopic")
            expected = MISSING_DATA.get(name, "notBreaching")
            if props.get("TreatMissingData") != expected:
                problems.append(f"{logical_id}: TreatMissingData should be {expected}")
    return problems


# ---------------------------------------------------------------------------------------------------
# tests: the real template


def test_the_catalogue_is_what_the_functions_are_configured_with(template: dict[str, Any]) -> None:
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == NAMESPACE
    assert env["POWERTOOLS_SERVICE_NAME"] == SERVICE


def test_dashboard_and_alarms_name_only_catalogued_metrics_and_show_all_of_them(
    template: dict[str, Any],
) -> None:
    assert all_problems(template) == []


def test_required_alarms_exist_and_notify(template: dict[str, Any]) -> None:
    assert required_alarm_problems(template) == []


def test_dashboard_watches_follower_queues_and_dlqs_by_stack_prefix(template: dict[str, Any]) -> None:
    raw = template["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    searches = re.findall(r"SEARCH\('([^']*)'", raw)
    assert any(
        "ApproximateNumberOfMessagesVisible" in s and "${AWS::StackName}-f" in s and "AND dlq" in s
        for s in searches
    )
    assert any(
        "ApproximateNumberOfMessagesVisible" in s and "${AWS::StackName}-f" in s and "NOT dlq" in s
        for s in searches
    )
    assert any("ApproximateAgeOfOldestMessage" in s and "${AWS::StackName}-f" in s for s in searches)


# ---------------------------------------------------------------------------------------------------
# tests: the checks can fail


def _set_body(template: dict[str, Any], transform: Any) -> None:
    props = template["Resources"]["Dashboard"]["Properties"]
    props["DashboardBody"]["Fn::Sub"] = transform(props["DashboardBody"]["Fn::Sub"])


def test_check_catches_an_unknown_metric_on_the_dashboard(template: dict[str, Any]) -> None:
    _set_body(template, lambda b: b.replace('"CopiesPlaced"', '"CopiesPlacedTotal"', 1))
    problems = all_problems(template)
    assert any("CopiesPlacedTotal is not in tradecopier" in p for p in problems), problems
    assert any("CopiesPlaced is not on the dashboard" in p for p in problems), problems


def test_check_catches_a_wrong_dimension_and_shorthand(template: dict[str, Any]) -> None:
    _set_body(
        template,
        lambda b: b.replace(
            '"CopiesSkipped", "service", "trade-copier"', '"CopiesSkipped", "service", "${AWS::StackName}"'
        ),
    )
    _set_body(template, lambda b: b.replace('["TradeCopier", "CopiesRejected"', '[".", "CopiesRejected"'))
    problems = all_problems(template)
    assert any("CopiesSkipped dimensions" in p for p in problems), problems
    assert any("shorthand" in p for p in problems), problems


def test_check_catches_a_custom_metric_read_by_search(template: dict[str, Any]) -> None:
    _set_body(template, lambda b: b.replace("{AWS/SQS,QueueName}", "{TradeCopier,service}", 1))
    assert any("name custom metrics explicitly" in p for p in all_problems(template))


def test_check_catches_a_wrong_alarm_metric_and_a_missing_alarm(template: dict[str, Any]) -> None:
    template["Resources"]["CopiesFailedAlarm"]["Properties"]["MetricName"] = "CopyFailures"
    template["Resources"]["FollowersLockedAlarm"]["Properties"]["Dimensions"] = []
    problems = all_problems(template)
    assert any("CopyFailures is not in tradecopier" in p for p in problems), problems
    assert any("FollowersLocked dimensions ()" in p for p in problems), problems
    assert any("no alarm on TradeCopier/CopiesFailed" in p for p in required_alarm_problems(template))


def test_check_catches_an_alarm_that_does_not_notify(template: dict[str, Any]) -> None:
    props = template["Resources"]["CopyLatencyP99Alarm"]["Properties"]
    props["AlarmActions"] = []
    props["TreatMissingData"] = "breaching"
    problems = required_alarm_problems(template)
    assert any("does not notify" in p for p in problems) and any("TreatMissingData" in p for p in problems)


# The rules whose breach flattens and locks a follower (loss rules and the clock): each is a line.
BREACHING_RULES = {RiskRule.DAILY_LOSS_LIMIT, RiskRule.TRAILING_DRAWDOWN, RiskRule.FLAT_BY}


def test_dashboard_shows_risk_locks_by_every_breaching_rule_beside_followers_liquidated(
    template: dict[str, Any],
) -> None:
    refs = [
        ref for name, body in dashboard_bodies(template).items() for ref in dashboard_metrics(body, name)[0]
    ]
    shown = {dict(ref.dimensions).get("rule") for ref in refs if ref.name == "RiskLocks"}
    assert {rule.value for rule in BREACHING_RULES} <= shown
    assert any(ref.name == "FollowersLiquidated" for ref in refs)
