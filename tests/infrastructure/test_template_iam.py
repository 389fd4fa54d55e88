"""template.yaml: least-privilege IAM, HTTP API authorisation, throttling and the route contract.

Pure tests: the template is parsed with PyYAML (short-form tags -> long form), and additionally
translated to CloudFormation with AWS's own SAM translator (what ``sam deploy`` runs) to check what
SAM generates from it. Each check is a function that returns a list of problems, so the tests below
can also prove that a broken template is caught (the ``*_catches_*`` tests mutate a copy).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest

from tests.infrastructure.conftest import parsed_template

# ---------------------------------------------------------------------------------------------------
# The contract (API.md). Adding a route to the template without adding it here fails the tests, and
# so does dropping one. "iam": SigV4-authorised by API Gateway; "none": open at the gateway.
IAM = "iam"
OPEN = "none"
API_ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/health"): OPEN,
    ("POST", "/groups/{group_id}/events"): OPEN,  # ingest: the webhook token is checked in code
    # The machine-readable form of the public contract (generated from the routes); no data in it.
    ("GET", "/openapi.json"): OPEN,
    ("POST", "/groups"): IAM,
    ("GET", "/groups"): IAM,
    ("GET", "/groups/{group_id}"): IAM,
    ("DELETE", "/groups/{group_id}"): IAM,
    ("POST", "/groups/{group_id}/followers"): IAM,
    ("GET", "/groups/{group_id}/followers/{account_id}"): IAM,
    ("PATCH", "/groups/{group_id}/followers/{account_id}"): IAM,
    ("DELETE", "/groups/{group_id}/followers/{account_id}"): IAM,
    ("POST", "/groups/{group_id}/followers/{account_id}/lock"): IAM,
    ("POST", "/groups/{group_id}/followers/{account_id}/unlock"): IAM,
    ("GET", "/groups/{group_id}/events"): IAM,
    ("GET", "/groups/{group_id}/events/{event_id}"): IAM,
    ("POST", "/groups/{group_id}/token/rotate"): IAM,
    ("GET", "/accounts/{account_id}/positions"): IAM,
    ("GET", "/accounts/{account_id}/orders"): IAM,
    ("PUT", "/accounts/{account_id}/credentials"): IAM,
    ("GET", "/accounts/{account_id}/credentials"): IAM,
    ("DELETE", "/accounts/{account_id}/credentials"): IAM,
    ("GET", "/accounts/{account_id}/connection"): IAM,
    ("GET", "/risk/presets"): IAM,
    ("POST", "/groups/{group_id}/preview"): IAM,
    ("POST", "/groups/{group_id}/followers/{account_id}/risk/reset"): IAM,
    ("GET", "/groups/{group_id}/sync"): IAM,
    ("POST", "/groups/{group_id}/sync"): IAM,
    ("GET", "/groups/{group_id}/followers/{account_id}/sync-history"): IAM,
    ("GET", "/groups/{group_id}/positions"): IAM,
}

# Actions that may be granted on Resource "*" because AWS offers no resource-level permission for
# them (Service Authorization Reference, AWS Lambda), each with why it is acceptable here.
RESOURCE_WILDCARD_ALLOWED: dict[str, str] = {
    # The mapping does not exist before the call, so there is no ARN to name; the statement must
    # instead pin the target function with the lambda:FunctionArn condition key (see below).
    "lambda:CreateEventSourceMapping": "no resource type; bounded by lambda:FunctionArn",
    # Read-only listing of mapping metadata (idempotent provisioning looks mappings up by queue).
    "lambda:ListEventSourceMappings": "no resource type; read-only",
}
# Condition keys that must accompany an action granted on Resource "*".
REQUIRED_CONDITION_KEYS: dict[str, str] = {
    "lambda:CreateEventSourceMapping": "lambda:FunctionArn",
}
# AWS managed policies SAM attaches by itself (checked on the translated template).
ALLOWED_MANAGED_POLICIES: dict[str, str] = {
    # Every SAM function: CreateLogStream/PutLogEvents for its own logs (and EMF metrics).
    "AWSLambdaBasicExecutionRole": "added by SAM to every function",
    # Tracing: Active. xray:PutTraceSegments/PutTelemetryRecords have no resource-level permission.
    "AWSXrayWriteOnlyAccess": "added by SAM for Tracing: Active",
}

FUNCTION_TYPE = "AWS::Serverless::Function"


# ---------------------------------------------------------------------------------------------------
# helpers


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _render(value: Any) -> str:
    """A readable string for a resource / condition value (intrinsics kept symbolic)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((fn, arg),) = value.items()
        if fn == "Fn::Sub":
            return arg if isinstance(arg, str) else str(arg[0])
        if fn == "Fn::GetAtt":
            return "${" + (".".join(arg) if isinstance(arg, list) else str(arg)) + "}"
        if fn == "Ref":
            return "${" + str(arg) + "}"
        if fn == "Fn::Join":
            return str(arg[0]).join(_render(p) for p in arg[1])
    return repr(value)


def _functions(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for logical_id, resource in (template.get("Resources") or {}).items():
        if isinstance(resource, dict) and resource.get("Type") == FUNCTION_TYPE:
            yield logical_id, resource.get("Properties") or {}


def _param_default(template: dict[str, Any], value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return ((template.get("Parameters") or {}).get(value["Ref"]) or {}).get("Default")
    return value


# ---------------------------------------------------------------------------------------------------
# checks (each returns a list of problems; empty = fine)


def statement_problems(where: str, statement: Any) -> list[str]:
    if not isinstance(statement, dict):
        return [f"{where}: statement is not a mapping: {statement!r}"]
    problems: list[str] = []
    for forbidden in ("NotAction", "NotResource"):
        if forbidden in statement:
            problems.append(f"{where}: {forbidden} grants everything else; list what is needed")
    if statement.get("Effect") != "Allow":
        return problems  # a Deny can only narrow
    actions = [a for a in _as_list(statement.get("Action", [])) if isinstance(a, str)]
    if not actions:
        problems.append(f"{where}: no Action")
    problems.extend(f"{where}: wildcard action {action!r}" for action in actions if "*" in action)
    resources = [_render(r) for r in _as_list(statement.get("Resource", []))]
    if not resources:
        problems.append(f"{where}: no Resource")
    condition_keys = _condition_keys(statement)
    for resource in resources:
        if resource == "*":
            problems.extend(_all_resources_problems(where, actions, condition_keys))
        else:
            problems.extend(_resource_problems(where, resource))
    return problems


def _condition_keys(statement: dict[str, Any]) -> set[str]:
    return {
        key
        for block in (statement.get("Condition") or {}).values()
        if isinstance(block, dict)
        for key in block
    }


def _all_resources_problems(where: str, actions: list[str], condition_keys: set[str]) -> list[str]:
    """Actions on Resource '*': only those that allow nothing narrower, with their condition."""
    problems: list[str] = []
    for action in actions:
        if action not in RESOURCE_WILDCARD_ALLOWED:
            problems.append(f"{where}: {action} on Resource '*' (not in RESOURCE_WILDCARD_ALLOWED)")
        required = REQUIRED_CONDITION_KEYS.get(action)
        if required and required not in condition_keys:
            problems.append(f"{where}: {action} on Resource '*' without a {required} condition")
    return problems


def _resource_problems(where: str, resource: str) -> list[str]:
    """An ARN must name its service, region, account and some resource; else a GetAtt/Ref."""
    # ${AWS::Partition} etc. contain "::": make them plain words before splitting the ARN.
    parts = re.sub(r"\$\{AWS::(\w+)\}", lambda m: m.group(1).lower(), resource).split(":")
    if resource.startswith("arn:") and len(parts) >= 6:
        problems: list[str] = []
        service, region, account, rest = parts[2], parts[3], parts[4], ":".join(parts[5:])
        if "*" in service or "*" in region or "*" in account:
            problems.append(f"{where}: {resource!r} wildcards the service, region or account")
        if rest.strip("*/: ") == "":
            problems.append(f"{where}: {resource!r} names no resource (all of the service)")
        return problems
    if not resource.startswith("${"):
        return [f"{where}: resource {resource!r} is neither an ARN nor a GetAtt/Ref"]
    return []


def policy_problems(template: dict[str, Any]) -> list[str]:
    """Every function's Policies must be explicit policy documents of checked statements."""
    problems: list[str] = []
    globals_policies = ((template.get("Globals") or {}).get("Function") or {}).get("Policies")
    if globals_policies:
        problems.append("Globals.Function.Policies: grant per function, not to all of them")
    functions = list(_functions(template))
    if not functions:
        problems.append("no AWS::Serverless::Function in the template")
    for logical_id, props in functions:
        for key in ("Role", "PermissionsBoundary"):
            if key in props:
                problems.append(f"{logical_id}: {key} bypasses the checked Policies")
        policies = props.get("Policies", [])
        for index, policy in enumerate(_as_list(policies)):
            where = f"{logical_id}.Policies[{index}]"
            if isinstance(policy, str):
                problems.append(f"{where}: managed policy {policy!r}; write explicit statements")
            elif not isinstance(policy, dict) or "Statement" not in policy:
                name = next(iter(policy)) if isinstance(policy, dict) and policy else policy
                problems.append(f"{where}: SAM policy template / non-document {name!r}; write statements")
            else:
                for s_index, statement in enumerate(_as_list(policy["Statement"])):
                    sid = statement.get("Sid", s_index) if isinstance(statement, dict) else s_index
                    problems.extend(statement_problems(f"{where}.{sid}", statement))
    return problems


def route_table(template: dict[str, Any]) -> tuple[dict[tuple[str, str], str], list[str]]:
    """(method, path) -> "iam" | "none" as declared by the HttpApi events, plus problems."""
    problems: list[str] = []
    resources = template.get("Resources") or {}
    api = (resources.get("HttpApi") or {}).get("Properties") or {}
    api_auth = api.get("Auth") or {}
    default = api_auth.get("DefaultAuthorizer")
    if not (api_auth.get("EnableIamAuthorizer") is True and default == "AWS_IAM"):
        problems.append("HttpApi.Auth must set EnableIamAuthorizer: true and DefaultAuthorizer: AWS_IAM")
    routes: dict[tuple[str, str], str] = {}
    for logical_id, props in _functions(template):
        for event_id, event in (props.get("Events") or {}).items():
            if not isinstance(event, dict) or event.get("Type") not in ("HttpApi", "Api"):
                continue
            where = f"{logical_id}.Events.{event_id}"
            eprops = event.get("Properties") or {}
            if event["Type"] != "HttpApi" or eprops.get("ApiId") != {"Ref": "HttpApi"}:
                problems.append(f"{where}: must be an HttpApi event on ApiId !Ref HttpApi (no implicit API)")
            key = (str(eprops.get("Method", "")).upper(), str(eprops.get("Path", "")))
            if key in routes:
                problems.append(f"{where}: duplicate route {key}")
            authorizer = (eprops.get("Auth") or {}).get("Authorizer", default)
            routes[key] = (
                OPEN if authorizer == "NONE" else IAM if authorizer == "AWS_IAM" else str(authorizer)
            )
    return routes, problems


def route_problems(template: dict[str, Any]) -> list[str]:
    routes, problems = route_table(template)
    for key, expected in API_ROUTES.items():
        if key not in routes:
            problems.append(f"route {key[0]} {key[1]} of API.md is missing from the template")
        elif routes[key] != expected:
            problems.append(
                f"route {key[0]} {key[1]}: authorisation {routes[key]!r}, contract says {expected!r}"
            )
    for key in routes.keys() - API_ROUTES.keys():
        problems.append(f"route {key[0]} {key[1]} is not in the contract (API_ROUTES)")
    return problems


def throttling_problems(template: dict[str, Any]) -> list[str]:
    api = ((template.get("Resources") or {}).get("HttpApi") or {}).get("Properties") or {}
    settings = api.get("DefaultRouteSettings") or {}
    problems = []
    for key in ("ThrottlingBurstLimit", "ThrottlingRateLimit"):
        value = _param_default(template, settings.get(key))
        try:
            ok = float(value) > 0
        except (TypeError, ValueError):
            ok = False
        if not ok:
            problems.append(f"HttpApi.DefaultRouteSettings.{key} must be a positive number (got {value!r})")
    return problems


# ---------------------------------------------------------------------------------------------------
# tests: the real template


def test_every_function_policy_is_least_privilege(template: dict[str, Any]) -> None:
    assert policy_problems(template) == []


def test_http_api_stage_is_throttled(template: dict[str, Any]) -> None:
    assert throttling_problems(template) == []


def test_routes_match_the_contract_and_their_authorisation(template: dict[str, Any]) -> None:
    assert route_problems(template) == []


def test_ingest_and_health_are_open_and_every_admin_route_is_iam(template: dict[str, Any]) -> None:
    routes, _ = route_table(template)
    assert routes[("POST", "/groups/{group_id}/events")] == OPEN
    assert routes[("GET", "/health")] == OPEN
    admin = {
        k: v
        for k, v in routes.items()
        if k not in {("POST", "/groups/{group_id}/events"), ("GET", "/health"), ("GET", "/openapi.json")}
    }
    assert admin and set(admin.values()) == {IAM}


def test_the_ingest_route_is_served_by_the_ingest_function_only(template: dict[str, Any]) -> None:
    by_function = {
        (str(e["Properties"]["Method"]).upper(), e["Properties"]["Path"]): logical_id
        for logical_id, props in _functions(template)
        for e in (props.get("Events") or {}).values()
        if e.get("Type") == "HttpApi"
    }
    assert by_function[("POST", "/groups/{group_id}/events")] == "IngestFunction"
    assert {f for k, f in by_function.items() if k != ("POST", "/groups/{group_id}/events")} == {
        "AdminFunction"
    }
    assert "Events" not in dict(_functions(template))["ExecutorFunction"]


# ---------------------------------------------------------------------------------------------------
# tests: the checks can fail (a broken template is caught)


def _statements(template: dict[str, Any], function: str) -> list[dict[str, Any]]:
    props = dict(_functions(template))[function]
    return props["Policies"][0]["Statement"]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ({"Effect": "Allow", "Action": "sqs:*", "Resource": "arn:aws:sqs:us-east-1:1:q"}, "wildcard action"),
        ({"Effect": "Allow", "Action": "*", "Resource": "arn:aws:sqs:us-east-1:1:q"}, "wildcard action"),
        (
            {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "*"},
            "not in RESOURCE_WILDCARD_ALLOWED",
        ),
        (
            {"Effect": "Allow", "Action": "lambda:CreateEventSourceMapping", "Resource": "*"},
            "without a lambda:FunctionArn",
        ),
        (
            {"Effect": "Allow", "Action": "sns:Publish", "Resource": {"Fn::Sub": "arn:aws:sns:*:*:x"}},
            "wildcards the service",
        ),
        (
            {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "arn:aws:sqs:us-east-1:1:*"},
            "names no resource",
        ),
        ({"Effect": "Allow", "NotAction": "iam:*", "Resource": "arn:aws:sqs:us-east-1:1:q"}, "NotAction"),
    ],
)
def test_policy_check_catches_wildcards(
    template: dict[str, Any], statement: dict[str, Any], expected: str
) -> None:
    _statements(template, "ExecutorFunction").append(statement)
    problems = policy_problems(template)
    assert any(expected in p for p in problems), problems


def test_policy_check_catches_sam_policy_templates_and_managed_policies(template: dict[str, Any]) -> None:
    props = dict(_functions(template))["IngestFunction"]
    props["Policies"].append({"DynamoDBCrudPolicy": {"TableName": {"Ref": "CopierTable"}}})
    props["Policies"].append("AmazonSQSFullAccess")
    problems = policy_problems(template)
    assert any("DynamoDBCrudPolicy" in p for p in problems), problems
    assert any("AmazonSQSFullAccess" in p for p in problems), problems


def test_route_check_catches_an_open_admin_route(template: dict[str, Any]) -> None:
    events = dict(_functions(template))["AdminFunction"]["Events"]
    create_group = next(
        e
        for e in events.values()
        if e["Properties"]["Path"] == "/groups" and e["Properties"]["Method"] == "POST"
    )
    create_group["Properties"]["Auth"] = {"Authorizer": "NONE"}
    assert any("POST /groups: authorisation 'none'" in p for p in route_problems(template))


def test_route_check_catches_an_iam_ingest_route_a_missing_route_and_an_extra_route(
    template: dict[str, Any],
) -> None:
    ingest = dict(_functions(template))["IngestFunction"]["Events"]
    next(iter(ingest.values()))["Properties"].pop("Auth")
    admin = dict(_functions(template))["AdminFunction"]["Events"]
    rotate = next(k for k, e in admin.items() if e["Properties"]["Path"].endswith("/token/rotate"))
    admin.pop(rotate)
    admin["Debug"] = {
        "Type": "HttpApi",
        "Properties": {"ApiId": {"Ref": "HttpApi"}, "Path": "/debug", "Method": "GET"},
    }
    problems = route_problems(template)
    assert any("POST /groups/{group_id}/events: authorisation 'iam'" in p for p in problems), problems
    assert any("token/rotate of API.md is missing" in p for p in problems), problems
    assert any("GET /debug is not in the contract" in p for p in problems), problems


def test_route_check_catches_an_api_without_iam_default(template: dict[str, Any]) -> None:
    template["Resources"]["HttpApi"]["Properties"].pop("Auth")
    assert any("EnableIamAuthorizer" in p for p in route_problems(template))


def test_throttling_check_catches_a_missing_limit(template: dict[str, Any]) -> None:
    template["Resources"]["HttpApi"]["Properties"]["DefaultRouteSettings"].pop("ThrottlingRateLimit")
    assert throttling_problems(template)
    template["Resources"]["HttpApi"]["Properties"].pop("DefaultRouteSettings")
    assert len(throttling_problems(template)) == 2


# ---------------------------------------------------------------------------------------------------
# tests: what SAM generates (the translator `sam deploy` uses), when it is installed


def _translate(sam_template: dict[str, Any]) -> dict[str, Any]:
    translator_mod = pytest.importorskip("samtranslator.translator.translator")
    parser_mod = pytest.importorskip("samtranslator.parser.parser")
    boto3 = pytest.importorskip("boto3")
    template = copy.deepcopy(sam_template)
    for resource in template["Resources"].values():
        props = resource.get("Properties") or {}
        for key in ("CodeUri", "ContentUri"):  # sam build/package would upload these
            if isinstance(props.get(key), str):
                props[key] = f"s3://example-bucket/{props[key]}"
    translator = translator_mod.Translator(
        None, parser_mod.Parser(), boto_session=boto3.session.Session(region_name="us-east-1")
    )
    return translator.translate(template, parameter_values={}, get_managed_policy_map=lambda: {})  # type: ignore[no-any-return]


@cache
def _translated() -> dict[str, Any]:
    return _translate(parsed_template())


def test_translated_routes_carry_the_expected_security() -> None:
    resources = _translated()["Resources"]
    body = resources["HttpApi"]["Properties"]["Body"]
    found: dict[tuple[str, str], str] = {}
    for path, methods in body["paths"].items():
        for method, operation in methods.items():
            schemes = {name for requirement in operation.get("security", []) for name in requirement}
            found[(method.upper(), path)] = (
                OPEN if schemes in (set(), {"NONE"}) else IAM if schemes == {"AWS_IAM"} else str(schemes)
            )
    assert found == API_ROUTES
    stage = next(r for r in resources.values() if r["Type"] == "AWS::ApiGatewayV2::Stage")
    assert {"ThrottlingBurstLimit", "ThrottlingRateLimit"} <= set(stage["Properties"]["DefaultRouteSettings"])


def test_translated_roles_have_only_checked_statements_and_expected_managed_policies() -> None:
    roles = {
        k: r["Properties"] for k, r in _translated()["Resources"].items() if r["Type"] == "AWS::IAM::Role"
    }
    # SchedulerFunctionEveryMinuteRole: the role SAM makes for EventBridge Scheduler to invoke it.
    assert set(roles) == {
        "IngestFunctionRole",
        "AdminFunctionRole",
        "ExecutorFunctionRole",
        "SchedulerFunctionRole",
        "SchedulerFunctionEveryMinuteRole",
        "ListenerTaskRole",  # EnableListener: the listener task's own role and its ECS agent's
        "ListenerExecutionRole",
        "ListenerScheduleRole",  # ListenerSchedule=trading-week: EventBridge Scheduler's, start/stop
        "BoardFunctionRole",
    }
    problems: list[str] = []
    for logical_id, role in roles.items():
        for arn in role.get("ManagedPolicyArns", []):
            name = _render(arn).rsplit("/", 1)[-1]
            if name not in ALLOWED_MANAGED_POLICIES:
                problems.append(f"{logical_id}: unexpected managed policy {_render(arn)}")
        for policy in role.get("Policies", []):
            for index, statement in enumerate(_as_list(policy["PolicyDocument"]["Statement"])):
                problems.extend(
                    statement_problems(f"{logical_id}.{policy['PolicyName']}[{index}]", statement)
                )
    assert problems == []


def _policy_statements(template: dict[str, Any], function: str) -> list[dict[str, Any]]:
    policies = template["Resources"][function]["Properties"]["Policies"]
    return [statement for policy in policies for statement in policy["Statement"]]


def test_broker_secrets_admin_writes_them_and_executor_only_reads_them(template: dict[str, Any]) -> None:
    """Credentials: only the admin function stores and deletes them, only under the stack's
    ``brokers/`` prefix; the executor and ingest never write them (ingest never reads them)."""

    def secret_actions(function: str) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {}
        for statement in _policy_statements(template, function):
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            for action in actions:
                if action.startswith("secretsmanager:"):
                    resource = statement["Resource"]
                    text = resource["Fn::Sub"] if isinstance(resource, dict) else str(resource)
                    found.setdefault(action, set()).add(text)
        return found

    admin, executor = secret_actions("AdminFunction"), secret_actions("ExecutorFunction")
    assert set(admin) == {
        "secretsmanager:CreateSecret",
        "secretsmanager:PutSecretValue",
        "secretsmanager:GetSecretValue",
        "secretsmanager:DeleteSecret",
    }
    assert set(executor) == {"secretsmanager:GetSecretValue"}
    assert not secret_actions("IngestFunction")
    for resources in (*admin.values(), *executor.values()):
        assert resources == {
            "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${AWS::StackName}/brokers/*"
        }


def _listener_statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    policies = template["Resources"]["ListenerTaskRole"]["Properties"]["Policies"]
    return [s for policy in policies for s in _as_list(policy["PolicyDocument"]["Statement"])]


def _listener_env(template: dict[str, Any]) -> dict[str, Any]:
    containers = template["Resources"]["ListenerTaskDefinition"]["Properties"]["ContainerDefinitions"]
    return {v["Name"]: v["Value"] for v in containers[0]["Environment"]}


def test_shared_broker_tokens_key_is_used_only_for_sealing_tokens(template: dict[str, Any]) -> None:
    """The Tradovate token item is sealed with the stack's token key: the admin and executor
    functions and the listener task (which hold the credentials anyway) may Encrypt/Decrypt with
    it, only with the token purpose in the encryption context; ingest never; nobody may use any
    other key."""

    def kms_statements(role: str) -> list[dict[str, Any]]:
        """KMS grants other than the alerts topic's data key (publishing to an encrypted topic)."""
        statements = (
            _listener_statements(template)
            if role == "ListenerTaskRole"
            else _policy_statements(template, role)
        )
        return [
            s
            for s in statements
            if any(str(a).startswith("kms:") for a in _as_list(s["Action"]))
            and s["Resource"] != {"Fn::GetAtt": ["AlertsKey", "Arn"]}
        ]

    for role in ("AdminFunction", "ExecutorFunction", "ListenerTaskRole"):
        (statement,) = kms_statements(role)
        assert sorted(_as_list(statement["Action"])) == ["kms:Decrypt", "kms:Encrypt"], role
        assert statement["Resource"] == {"Fn::GetAtt": ["BrokerTokensKey", "Arn"]}, role
        assert statement["Condition"] == {
            "StringEquals": {"kms:EncryptionContext:purpose": "tradovate-token"}
        }, role
        variables = (
            _listener_env(template)
            if role == "ListenerTaskRole"
            else template["Resources"][role]["Properties"]["Environment"]["Variables"]
        )
        assert variables["BROKER_TOKEN_KEY_ID"] == {"Fn::GetAtt": ["BrokerTokensKey", "Arn"]}, role
    assert not kms_statements("IngestFunction")
    key = template["Resources"]["BrokerTokensKey"]["Properties"]
    assert key["EnableKeyRotation"] is True


def test_the_board_only_reads_the_api(template: dict[str, Any]) -> None:
    """The dashboard widget's function: GET requests to this stack's API, and nothing else."""
    statements = _policy_statements(template, "BoardFunction")
    assert [(s["Action"], _render(s["Resource"])) for s in statements] == [
        (
            "execute-api:Invoke",
            "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${HttpApi}/*/GET/*",
        )
    ]
    assert "Events" not in template["Resources"]["BoardFunction"]["Properties"]  # no route of its own
    widgets = _dashboard_widgets(template)
    assert any(
        w["type"] == "custom" and w["properties"]["endpoint"] == "${BoardFunction.Arn}" for w in widgets
    )


def _dashboard_widgets(template: dict[str, Any]) -> list[dict[str, Any]]:
    import json

    body = template["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    text = re.sub(r"\$\{CopyLatencyP99AlarmMs\}", "1", body)
    widgets: list[dict[str, Any]] = json.loads(text)["widgets"]
    return widgets


def test_whoever_alerts_may_publish_to_the_alerts_topic_and_nowhere_else(template: dict[str, Any]) -> None:
    """tradecopier.alerts: the executor (locks, a broker lost), the scheduler (breaches, locks,
    lifts, drift) and the listener task (a leader stream down) publish to AlertsTopic with its key;
    the listener's table grant for the rate-limit ledger is PutItem on ALERT# items only."""
    listener = template["Resources"]["ListenerTaskRole"]["Properties"]["Policies"]
    roles = {
        "ExecutorFunction": _policy_statements(template, "ExecutorFunction"),
        "SchedulerFunction": _policy_statements(template, "SchedulerFunction"),
        "ListenerTaskRole": [s for policy in listener for s in policy["PolicyDocument"]["Statement"]],
    }
    for name, statements in roles.items():
        publish = [s for s in statements if "sns:Publish" in _as_list(s["Action"])]
        assert {"Ref": "AlertsTopic"} in [s["Resource"] for s in publish], name
        key = [s for s in statements if s["Resource"] == {"Fn::GetAtt": ["AlertsKey", "Arn"]}]
        assert [sorted(_as_list(s["Action"])) for s in key] == [["kms:Decrypt", "kms:GenerateDataKey"]], name
    (ledger,) = [s for s in roles["ListenerTaskRole"] if s.get("Sid") == "AlertLedger"]
    assert ledger["Action"] == "dynamodb:PutItem"
    assert ledger["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["ALERT#*"]}}
    containers = template["Resources"]["ListenerTaskDefinition"]["Properties"]["ContainerDefinitions"]
    env = {v["Name"]: v["Value"] for v in containers[0]["Environment"]}
    assert env["ALERTS_TOPIC_ARN"] == {"Ref": "AlertsTopic"}
    assert env["ALERT_WEBHOOK_URL"] == {"Ref": "AlertWebhookUrl"}


def test_the_listener_reaches_the_shared_tradovate_token_items_only_as_the_lease_needs(
    template: dict[str, Any],
) -> None:
    """brokers/tradovate/lease.py through ``TokenStore``: GetItem (read) and UpdateItem (lease,
    token, refusal, release, drop) on ``TVTOKEN#`` items, nothing else there; and no other table
    grant of the listener reaches them (every keyed grant is pinned by ``dynamodb:LeadingKeys``)."""
    table = {"Fn::GetAtt": ["CopierTable", "Arn"]}
    keyed = [
        s
        for s in _listener_statements(template)
        if any(str(a).startswith("dynamodb:") for a in _as_list(s["Action"]))
        and s["Resource"] == table  # (the groups Query names the table and its index: a list)
    ]
    by_keys = {
        tuple(s["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]): sorted(
            _as_list(s["Action"])
        )
        for s in keyed
    }
    assert len(by_keys) == len(keyed)  # every item grant of the table names its keys
    tokens = {
        keys: actions for keys, actions in by_keys.items() if any(k.startswith("TVTOKEN") for k in keys)
    }
    assert tokens == {("TVTOKEN#*",): ["dynamodb:GetItem", "dynamodb:UpdateItem"]}
