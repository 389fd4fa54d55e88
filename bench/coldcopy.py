"""First copy after idle: a fresh executor worker process, from its start to its first copy done.

What a new Lambda execution environment of the executor costs before the follower's order is
placed (the runtime's own start excluded): interpreter start, ``import executor_handler`` (the init
phase our code controls) and the first invocation with its cold clients (boto3 client creation,
the first connection to each endpoint, the queue-owner lookup, the broker adapter). Lambda
SnapStart (docs/snapstart.md) would replace the first two parts by a restore.

Run as a child of ``python -m bench`` (``python -m bench.coldcopy --out FILE``): it starts its own
DynamoDB Local and moto (``bench.backends``), creates a group with one paper follower through the
admin handler, and per repeat sends one leader event through the ingest handler, receives the
follower queue's message as the event source mapping would, and spawns a fresh
``python`` worker that imports the executor handler and hands it that one-record batch. Times are
wall clock (``time.time()``, the same clock in both processes), from just before the worker is
spawned. The worker's environment is the handlers' one (tracing off, as in ``bench.overhead``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from bench.stats import median

REPO_ROOT = Path(__file__).resolve().parent.parent

_WORKER = """\
import json, sys, time
sys.path[:0] = {paths!r}
import executor_handler
imported = time.time()
from devstack.samples import Context
event = json.loads(sys.stdin.read())
result = executor_handler.handler(event, Context("executor", 512))
done = time.time()
sys.stdout.write(json.dumps({{"imported": imported, "done": done, "result": result}}))
"""


def _worker(event: dict[str, Any]) -> dict[str, float]:
    paths = [str(REPO_ROOT / "functions" / "executor"), str(REPO_ROOT / "layers" / "common"), str(REPO_ROOT)]
    env = dict(os.environ)
    # What Lambda itself sets (see bench/imports.py: outside Lambda the X-Ray SDK builds clients at import).
    env.update(
        {
            "AWS_LAMBDA_FUNCTION_NAME": "bench-executor",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
            "LAMBDA_TASK_ROOT": paths[0],
            "_HANDLER": "executor_handler.handler",
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    started = time.time()
    done = subprocess.run(
        [sys.executable, "-c", _WORKER.format(paths=paths)],
        input=json.dumps(event),
        env=env,
        cwd=str(REPO_ROOT),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"executor worker failed: {done.stderr.strip()[-1500:]}")
    reply = json.loads(done.stdout.strip().splitlines()[-1])
    if reply["result"].get("batchItemFailures"):
        raise RuntimeError(f"the first copy failed: {reply['result']}")
    return {
        "import_ms": (reply["imported"] - started) * 1000,
        "first_copy_ms": (reply["done"] - started) * 1000,
        "handler_ms": (reply["done"] - reply["imported"]) * 1000,
    }


def run(repeats: int, ddb_endpoint: str, moto_endpoint: str) -> dict[str, Any]:
    from bench.backends import plain_client
    from bench.overhead import (
        _create_group,
        _follower_queues,
        _import_handlers,
        _prepare,
        _stdout_to_temp_file,
    )
    from devstack.samples import Context, alternating_market, http_api_event, sqs_record

    _prepare(ddb_endpoint, moto_endpoint)
    handlers = _import_handlers()
    samples: list[dict[str, float]] = []
    with _stdout_to_temp_file():
        group_id, token = _create_group(handlers.admin, 1)
        sqs = plain_client("sqs", moto_endpoint)
        [(url, arn)] = _follower_queues(sqs, moto_endpoint, 1)
        for index in range(repeats):
            event_id = f"cold-{uuid.uuid4().hex[:12]}"
            body = json.dumps(alternating_market(event_id, index))
            reply = handlers.ingest(
                http_api_event("POST", f"/groups/{group_id}/events", body, {"X-Webhook-Token": token}),
                Context("ingest", 512),
            )
            assert reply["statusCode"] == 202, reply
            messages = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=1, WaitTimeSeconds=2, AttributeNames=["All"]
            ).get("Messages", [])
            assert messages, f"nothing delivered to {url}"
            samples.append(_worker({"Records": [sqs_record(messages[0], arn, "us-east-1")]}))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=messages[0]["ReceiptHandle"])
    return {
        "first_copy_after_idle_ms": round(median([s["first_copy_ms"] for s in samples]), 1),
        "first_copy_import_ms": round(median([s["import_ms"] for s in samples]), 1),
        "first_copy_handler_ms": round(median([s["handler_ms"] for s in samples]), 1),
        "first_copy_runs": [{k: round(v, 1) for k, v in s.items()} for s in samples],
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.coldcopy")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args(argv)
    from bench.backends import Backends

    with Backends() as backends:
        result = run(args.repeats, backends.dynamodb_endpoint, backends.moto_endpoint)
    args.out.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
