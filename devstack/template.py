"""template.yaml -> CloudFormation (AWS's SAM translator) -> resources in moto + DynamoDB Local.

What ``sam deploy`` does, locally:

1. ``package``: zip every function's ``CodeUri`` and layer's ``ContentUri`` into a (moto) S3 bucket
   and point the template at the objects, as ``sam package`` does (the translator only takes S3).
2. ``translate``: ``samtranslator`` turns the SAM template into plain CloudFormation.
3. the ``AWS::DynamoDB::Table`` resources are created in DynamoDB Local (``devstack.tables``) and
   dropped from the CloudFormation template; every ``Ref``/``GetAtt``/``Sub`` that named them is
   replaced by the DynamoDB Local table's name / ARN, so nothing can reach moto's DynamoDB.
4. moto's CloudFormation creates the rest (functions, layers, roles, topics, ...). Resource types
   moto has no model for (``AWS::ApiGatewayV2::*``) are skipped by moto; the HTTP API's routes are
   read from the translated template instead (``http_routes``) and served by ``devstack.apigw``.

The handlers then run with the environment moto resolved for each function (its
``GetFunctionConfiguration``), i.e. the template's Globals + function ``Environment`` with every
intrinsic resolved to the local resources.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import re
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack.tables import load_template

CODE_BUCKET = "devstack-code"
TABLE_TYPE = "AWS::DynamoDB::Table"
_SKIP_DIRS = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".aws-sam", "node_modules"}
_SUB_TOKEN = re.compile(r"\$\{([A-Za-z0-9_:]+)(?:\.([A-Za-z0-9_.]+))?\}")


class TemplateError(RuntimeError):
    """The template cannot be run locally (with the reason, in one sentence)."""


@dataclass
class Artifact:
    key: str  # S3 key in CODE_BUCKET
    path: Path  # local directory it was zipped from
    kind: str  # "function" | "layer"
    logical_id: str
    build_method: str | None = None


@dataclass
class FunctionSpec:
    """One AWS::Lambda::Function as the local runtime needs it."""

    logical_id: str
    name: str = ""
    arn: str = ""
    handler: str = ""
    runtime: str = ""
    code_dir: Path = field(default_factory=Path)
    layer_dirs: list[Path] = field(default_factory=list)
    timeout: int = 3
    memory_mb: int = 128
    environment: dict[str, str] = field(default_factory=dict)


@dataclass
class Route:
    """One HTTP API route, e.g. method "POST", path "/groups/{group_id}/events"."""

    method: str  # upper case, or "ANY"
    path: str  # "/x/{y}", "/{proxy+}" or "$default"
    function_logical_id: str

    @property
    def route_key(self) -> str:
        return "$default" if self.path == "$default" else f"{self.method} {self.path}"


@dataclass
class Translated:
    sam: dict[str, Any]
    cfn: dict[str, Any]
    artifacts: dict[str, Artifact]


# ---------------------------------------------------------------------------------------------
# package + translate


def _zip_dir(path: Path) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for root, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
            for name in sorted(files):
                if name.endswith((".pyc", ".pyo")):
                    continue
                full = Path(root) / name
                zf.write(full, full.relative_to(path).as_posix())
    return buf.getvalue()


def _is_local_uri(value: Any) -> bool:
    return isinstance(value, str) and not value.startswith("s3://")


def package(sam: dict[str, Any], base_dir: Path) -> dict[str, Artifact]:
    """Rewrites local CodeUri/ContentUri to s3://CODE_BUCKET/<key> (in place); returns the artifacts."""
    artifacts: dict[str, Artifact] = {}
    globals_fn = (sam.get("Globals") or {}).get("Function") or {}
    global_code = globals_fn.get("CodeUri")
    for logical_id, res in (sam.get("Resources") or {}).items():
        if not isinstance(res, dict):
            continue
        props = res.setdefault("Properties", {})
        if res.get("Type") == "AWS::Serverless::Function":
            if "InlineCode" in props:
                continue
            uri = props.get("CodeUri", global_code)
            if uri is None or not _is_local_uri(uri):
                raise TemplateError(
                    f"{logical_id}: CodeUri must be a local directory to run locally (got {uri!r})."
                )
            key = f"functions/{logical_id}.zip"
            artifacts[key] = Artifact(key, (base_dir / uri).resolve(), "function", logical_id)
            props["CodeUri"] = f"s3://{CODE_BUCKET}/{key}"
        elif res.get("Type") == "AWS::Serverless::LayerVersion":
            uri = props.get("ContentUri")
            if not _is_local_uri(uri):
                raise TemplateError(f"{logical_id}: ContentUri must be a local directory (got {uri!r}).")
            key = f"layers/{logical_id}.zip"
            method = (res.get("Metadata") or {}).get("BuildMethod")
            artifacts[key] = Artifact(key, (base_dir / uri).resolve(), "layer", logical_id, method)
            props["ContentUri"] = f"s3://{CODE_BUCKET}/{key}"
    for art in artifacts.values():
        if not art.path.is_dir():
            raise TemplateError(f"{art.logical_id}: code directory {art.path} does not exist.")
    return artifacts


class _NoManagedPolicies:
    """The translator maps managed policy names to ARNs through IAM; locally no lookup is made."""

    def load(self) -> dict[str, str]:
        return {}


def translate(template_path: Path) -> Translated:
    """Loads, packages and translates template.yaml (needs AWS_DEFAULT_REGION set)."""
    from samtranslator.translator.transform import transform

    sam = load_template(template_path)
    artifacts = package(sam, template_path.parent)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            cfn = transform(json.loads(json.dumps(sam)), {}, _NoManagedPolicies())
        except Exception as exc:  # InvalidDocumentException carries the list of causes
            causes = getattr(exc, "causes", None) or []
            detail = "; ".join(str(getattr(c, "message", c)) for c in causes) or str(exc)
            raise TemplateError(f"the SAM translator rejected {template_path}: {detail}") from exc
    return Translated(sam=sam, cfn=cfn, artifacts=artifacts)


def upload_artifacts(s3: Any, artifacts: dict[str, Artifact]) -> None:
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
        s3.create_bucket(Bucket=CODE_BUCKET)
    for art in artifacts.values():
        s3.put_object(Bucket=CODE_BUCKET, Key=art.key, Body=_zip_dir(art.path))


# ---------------------------------------------------------------------------------------------
# replace resources that live elsewhere (DynamoDB Local) by literal values


def table_logical_ids(cfn: dict[str, Any]) -> list[str]:
    return [lid for lid, r in (cfn.get("Resources") or {}).items() if r.get("Type") == TABLE_TYPE]


def substitute(value: Any, values: dict[str, dict[str, str]]) -> Any:
    """Replaces Ref/GetAtt/Sub references to the logical ids in ``values`` by literals.

    ``values[logical_id]`` maps "Ref" and attribute names ("Arn", "StreamArn", ...) to strings.
    """
    if isinstance(value, list):
        return [substitute(v, values) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((key, arg),) = value.items()
        if key == "Ref" and isinstance(arg, str) and arg in values:
            return values[arg]["Ref"]
        if key == "Fn::GetAtt":
            parts = arg.split(".", 1) if isinstance(arg, str) else list(arg)
            if parts and parts[0] in values:
                attr = parts[1] if len(parts) > 1 else ""
                if attr not in values[parts[0]]:
                    raise TemplateError(f"GetAtt {parts[0]}.{attr} has no local value.")
                return values[parts[0]][attr]
        if key == "Fn::Sub":
            if isinstance(arg, str):
                return {"Fn::Sub": _sub_string(arg, values, set())}
            if isinstance(arg, list) and len(arg) == 2:
                local_vars = set((arg[1] or {}).keys())
                return {"Fn::Sub": [_sub_string(arg[0], values, local_vars), substitute(arg[1], values)]}
    return {k: substitute(v, values) for k, v in value.items()}


def _sub_string(text: str, values: dict[str, dict[str, str]], local_vars: set[str]) -> str:
    def repl(match: re.Match[str]) -> str:
        name, attr = match.group(1), match.group(2)
        if name in local_vars or name not in values:
            return match.group(0)
        return values[name][attr or "Ref"]

    return _SUB_TOKEN.sub(repl, text)


def drop_resources(cfn: dict[str, Any], values: dict[str, dict[str, str]]) -> dict[str, Any]:
    """A copy of ``cfn`` without the resources in ``values``, references to them made literal."""
    out: dict[str, Any] = substitute(json.loads(json.dumps(cfn)), values)
    resources = out.get("Resources") or {}
    for lid in values:
        resources.pop(lid, None)
    for res in resources.values():
        deps = res.get("DependsOn")
        if isinstance(deps, str) and deps in values:
            del res["DependsOn"]
        elif isinstance(deps, list):
            res["DependsOn"] = [d for d in deps if d not in values]
    return out


# ---------------------------------------------------------------------------------------------
# read back what the local runtime needs


def _fn_arn_targets(value: Any) -> Iterator[str]:
    """Logical ids named as ``${X.Arn}`` / GetAtt X.Arn inside an integration URI."""
    if isinstance(value, dict):
        if "Fn::Sub" in value:
            text = value["Fn::Sub"] if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"][0]
            for m in _SUB_TOKEN.finditer(text):
                if m.group(2) == "Arn":
                    yield m.group(1)
        elif "Fn::GetAtt" in value:
            arg = value["Fn::GetAtt"]
            yield (arg.split(".")[0] if isinstance(arg, str) else arg[0])
        else:
            for v in value.values():
                yield from _fn_arn_targets(v)
    elif isinstance(value, list):
        for v in value:
            yield from _fn_arn_targets(v)


def http_routes(cfn: dict[str, Any]) -> list[Route]:
    """The routes of every AWS::ApiGatewayV2::Api in the translated template (OpenAPI Body)."""
    routes: list[Route] = []
    for lid, res in (cfn.get("Resources") or {}).items():
        if res.get("Type") != "AWS::ApiGatewayV2::Api":
            continue
        props = res.get("Properties") or {}
        body = props.get("Body")
        if body is None:
            raise TemplateError(f"{lid}: only HTTP APIs defined inline (Body) can be served locally.")
        for path, ops in (body.get("paths") or {}).items():
            for op_name, op in (ops or {}).items():
                if not isinstance(op, dict) or "x-amazon-apigateway-integration" not in op:
                    continue
                method = "ANY" if op_name == "x-amazon-apigateway-any-method" else op_name.upper()
                targets = list(_fn_arn_targets(op["x-amazon-apigateway-integration"].get("uri")))
                if not targets:
                    raise TemplateError(f"{lid}: route {method} {path} has no Lambda integration.")
                routes.append(Route(method, path, targets[0]))
    return routes


def scheduled_functions(cfn: dict[str, Any]) -> dict[str, str]:
    """Schedule logical id -> the function it invokes, for each AWS::Scheduler::Schedule (SAM's
    ``ScheduleV2`` events) whose target is a function of the template."""
    found: dict[str, str] = {}
    for lid, res in (cfn.get("Resources") or {}).items():
        if res.get("Type") != "AWS::Scheduler::Schedule":
            continue
        arn = ((res.get("Properties") or {}).get("Target") or {}).get("Arn")
        if isinstance(arn, dict) and isinstance(arn.get("Fn::GetAtt"), list):
            found[lid] = str(arn["Fn::GetAtt"][0])
    return found


def function_specs(cfn: dict[str, Any], artifacts: dict[str, Artifact]) -> dict[str, FunctionSpec]:
    """Code dir, layers, handler, runtime, timeout, memory of each AWS::Lambda::Function."""
    resources = cfn.get("Resources") or {}
    by_key = {a.key: a for a in artifacts.values()}
    specs: dict[str, FunctionSpec] = {}
    for lid, res in resources.items():
        if res.get("Type") != "AWS::Lambda::Function":
            continue
        props = res.get("Properties") or {}
        code = props.get("Code") or {}
        art = by_key.get(code.get("S3Key", ""))
        if art is None:
            continue  # inline code: not run locally
        layer_dirs: list[Path] = []
        for layer in props.get("Layers") or []:
            ref = layer.get("Ref") if isinstance(layer, dict) else None
            content = ((resources.get(ref) or {}).get("Properties") or {}).get("Content") or {}
            layer_art = by_key.get(content.get("S3Key", ""))
            if layer_art is None:
                continue  # a layer from elsewhere (ARN): not available locally
            python_dir = layer_art.path / "python"
            use_root = (layer_art.build_method or "").startswith("python") or not python_dir.is_dir()
            layer_dirs.append(layer_art.path if use_root else python_dir)
        specs[lid] = FunctionSpec(
            logical_id=lid,
            handler=str(props.get("Handler", "")),
            runtime=str(props.get("Runtime", "")),
            code_dir=art.path,
            layer_dirs=layer_dirs,
            timeout=int(props.get("Timeout", 3)),
            memory_mb=int(props.get("MemorySize", 128)),
        )
    return specs


def quiet_moto_cloudformation() -> None:
    """moto logs a warning per unsupported resource type; ``create_stack`` reports them instead."""
    logging.getLogger("moto.cloudformation.parsing").setLevel(logging.ERROR)
    logging.getLogger("moto").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message="Tried to parse .* not supported by moto")


def create_stack(cfn_client: Any, stack_name: str, cfn: dict[str, Any]) -> dict[str, Any]:
    """CreateStack in moto; returns the description plus a per-resource report of what moto did."""
    quiet_moto_cloudformation()
    cfn_client.create_stack(
        StackName=stack_name,
        TemplateBody=json.dumps(cfn),
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    stack = cfn_client.describe_stacks(StackName=stack_name)["Stacks"][0]
    if stack["StackStatus"] != "CREATE_COMPLETE":
        raise TemplateError(f"moto could not create the stack: {stack.get('StackStatusReason')}")
    created = {
        r["LogicalResourceId"]: r
        for r in cfn_client.describe_stack_resources(StackName=stack_name)["StackResources"]
        if r.get("LogicalResourceId")
    }
    report: dict[str, str] = {}
    for lid, res in (cfn.get("Resources") or {}).items():
        got = created.get(lid)
        if got is None:
            report[lid] = f"{res.get('Type')}: skipped by moto (no CloudFormation model)"
        else:
            report[lid] = f"{res.get('Type')}: {got.get('PhysicalResourceId') or 'created'}"
    return {"stack": stack, "resources": created, "report": report}
