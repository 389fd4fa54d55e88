"""The hot handlers' cold start imports only what their hot path uses (issue 19, item 3).

Each case imports a handler module in a fresh interpreter, set up as ``bench/imports.py`` sets up a
Lambda init (function code directory, then the layer, on ``sys.path``; the template's variables as
dummies), and asserts on ``sys.modules``: no timing, so it cannot flake under load.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from bench import imports

# Modules a handler must not import at init: what only other functions or other paths need.
NOT_AT_INIT: dict[str, tuple[str, ...]] = {
    "executor": (
        "tradecopier.brokers.tradovate",  # only when a follower is at Tradovate (registry imports it then)
        "tradecopier.brokers.projectx",
        "tradecopier.brokers.paper",  # likewise: only when a follower is a paper account
        "tradecopier.brokers.credentials",  # Secrets Manager: real brokers only
        "tradecopier.api",  # the HTTP face: ingest and admin
        "tradecopier.fanout.followers",  # provisioning: admin
        "tradecopier.fanout.topics",
        "aws_lambda_powertools.utilities.batch",  # replaced by tradecopier.logic.sqs_batch
        "aws_lambda_powertools.utilities.data_classes",  # every event source class, ~20-35 ms
        "aws_lambda_powertools.event_handler",
        "moto",
        *(BOTO3 := ("boto3", "s3transfer")),  # clients are botocore's (tradecopier.aws): no S3 transfers
    ),
    "ingest": (
        "tradecopier.brokers.tradovate",
        "tradecopier.brokers.paper",
        "tradecopier.brokers.registry",
        "tradecopier.api.admin_routes",
        "tradecopier.api.openapi",
        "tradecopier.fanout.followers",
        "tradecopier.fanout.topics",
        "tradecopier.logic.executor",
        "aws_lambda_powertools.utilities.batch",
        "moto",
        *BOTO3,
    ),
}


def _after_import(name: str, probe: str, traced: bool = False) -> Any:
    """What ``probe`` (code run after the handler's import; it prints JSON) prints, in a fresh
    interpreter set up as a Lambda init (``traced``: with tracing on, as ``Tracing: Active``)."""
    code_dir, module = imports.MODULES[name]
    paths = [str(code_dir), str(imports.LAYER)]
    program = f"import json, sys\nsys.path[:0] = {paths!r}\nimport {module}\n" + probe
    done = subprocess.run(
        [sys.executable, "-c", program],
        env=imports._env(name, traced=traced),
        cwd=str(imports.REPO_ROOT),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _modules_after_import(name: str) -> set[str]:
    return set(_after_import(name, "print(json.dumps(sorted(sys.modules)))\n"))


@pytest.mark.parametrize("name", sorted(NOT_AT_INIT))
def test_handler_init_imports_only_its_hot_path(name: str) -> None:
    loaded = _modules_after_import(name)
    assert f"{imports.MODULES[name][1]}" in loaded  # the probe did import the handler
    unwanted = sorted(
        module
        for module in loaded
        if any(module == banned or module.startswith(banned + ".") for banned in NOT_AT_INIT[name])
    )
    assert unwanted == []


def _settings_built_after_import(name: str) -> list[str]:
    probe = (
        "from pydantic import BaseModel\n"
        "from tradecopier import settings\n"
        "built = [n for n, c in vars(settings).items() if isinstance(c, type) and issubclass(c, BaseModel)\n"
        "         and c.__module__ == settings.__name__ and c.__pydantic_complete__]\n"
        "print(json.dumps(sorted(built)))\n"
    )
    return list(_after_import(name, probe))


@pytest.mark.parametrize(("name", "own"), [("executor", "ExecutorSettings"), ("ingest", "IngestSettings")])
def test_handler_init_builds_only_its_own_settings_model(name: str, own: str) -> None:
    assert _settings_built_after_import(name) == [own]  # read (and validated) at init; no other function's


def test_tracing_on_patches_the_clients_built_from_the_botocore_session() -> None:
    """With tracing on (``Tracing: Active``), Powertools' Tracer has the X-Ray SDK patch botocore at
    the handler's init; the clients ``tradecopier.aws`` builds from its botocore session are patched
    alike. Only botocore, as before (http.client stays unpatched): no other library is imported to
    be patched, and boto3 stays out."""
    probe = (
        "import botocore.client, http.client\n"
        "from tradecopier import aws\n"
        "client = aws.client('dynamodb')\n"
        "call = getattr(type(client), '_make_api_call')\n"  # the X-Ray SDK wraps it with wrapt
        "send = vars(http.client.HTTPConnection)['_send_request']\n"  # not patched by the default either
        "print(json.dumps([type(call).__name__, type(send).__name__,\n"
        "                  isinstance(client, botocore.client.BaseClient),\n"
        "                  sorted({'boto3', 'requests', 'sqlite3', 'httpx'} & set(sys.modules))]))\n"
    )
    assert _after_import("executor", probe, traced=True) == ["BoundFunctionWrapper", "function", True, []]
