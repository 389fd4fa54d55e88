"""End-to-end: the ``tradecopier`` CLI against the local stack, run as a user runs it (a child
process, ``python -m tradecopier_cli`` with the wrapper's PYTHONPATH), every command with ``--json``
parsed and checked, and every kind of bad input answered by one line and its exit code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from devstack.samples import market
from devstack.stack import LocalStack
from tests.e2e.conftest import Api, _free_port, uid

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADECOPIER_")}
    env["PYTHONPATH"] = f"{ROOT / 'cli'}:{ROOT / 'layers' / 'common'}"
    env.update(extra)
    return env


def run(
    *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tradecopier_cli", *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        env=env or cli_env(),
        timeout=60,
    )


class Cli:
    def __init__(self, url: str) -> None:
        self.url = url

    def __call__(
        self, *args: str, code: int = 0, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        done = run("--url", self.url, *args, stdin=stdin)
        assert done.returncode == code, f"{args} -> {done.returncode}\n{done.stdout}\n{done.stderr}"
        assert "Traceback" not in done.stderr
        return done

    def json(self, *args: str, stdin: str | None = None) -> Any:
        return json.loads(self(*args, "--json", stdin=stdin).stdout)


@pytest.fixture(scope="module")
def cli(stack: LocalStack) -> Cli:
    return Cli(stack.api_url)


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tradecopier: "), done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    return lines[0]


def test_groups_and_followers_through_the_cli(cli: Cli, api: Api) -> None:
    leader, e1, e2 = uid("LEAD"), uid("EVAL"), uid("EVAL")
    created = cli.json("groups", "create", "cli group", "--leader", leader)
    gid = created["group_id"]
    assert created["leader"]["account_id"] == leader and created["leader"]["broker"] == "paper"
    assert created["leader"].get("connection") is None and created["webhook_token"]  # paper: no status
    assert gid in [g["group_id"] for g in cli.json("groups", "list")["groups"]]

    added = cli.json("followers", "add", gid, e1, "--multiplier", "2", "--max-qty", "3")
    assert (added["account_id"], added["multiplier"], added["max_qty"]) == (e1, 2, 3)
    cli.json("followers", "add", gid, e2, "--field", 'rounding="floor"')
    changed = cli.json("followers", "set", gid, e1, "--rounding", "ceil", "--no-max-qty")
    assert (changed["rounding"], changed["max_qty"], changed["multiplier"]) == ("ceil", None, 2)
    locked = cli.json("followers", "lock", gid, e2, "--reason", "daily loss limit")
    assert (locked["state"], locked["lock_reason"]) == ("locked", "daily loss limit")
    shown = cli.json("groups", "show", gid)
    assert {f["account_id"]: f["state"] for f in shown["followers"]} == {e1: "active", e2: "locked"}
    assert cli.json("followers", "unlock", gid, e2)["state"] == "active"
    # people get a table, not JSON
    table = cli("groups", "show", gid).stdout
    assert e1 in table and "ceil" in table and not table.lstrip().startswith("{")

    assert cli.json("followers", "remove", gid, e2) == {"group_id": gid, "account_id": e2, "removed": True}
    assert [f["account_id"] for f in api.ok("GET", f"/groups/{gid}")["followers"]] == [e1]
    assert cli.json("groups", "delete", gid, "--yes")["deleted"] is True
    assert api.call("GET", f"/groups/{gid}").status_code == 404


def test_status_events_and_tail(cli: Cli, api: Api) -> None:
    gid, token, _ = api.group(name="cli status")
    e1, e2 = uid("EVAL"), uid("EVAL")
    api.follower(gid, e1, multiplier=2, max_delay_ms=None)  # a loaded test machine is not a stale copy
    api.follower(gid, e2)
    api.ok("POST", f"/groups/{gid}/followers/{e2}/lock", {"reason": "by hand"})

    lines: list[str] = []
    tail = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tradecopier_cli",
            "--url",
            cli.url,
            "tail",
            gid,
            "--json",
            "--interval",
            "0.3",
            "--timeout",
            "25",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(),
    )
    reader = threading.Thread(target=lambda: lines.extend(iter(tail.stdout.readline, "")), daemon=True)  # type: ignore[union-attr]
    reader.start()
    time.sleep(2)  # the tail has read what was there before (its first poll)
    event_id = uid("L-1")
    assert api.send(gid, token, market(event_id, "L-1", qty=1)).status_code == 202
    api.wait_final(gid, event_id, timeout=180)  # a fresh stack on a loaded machine warms up slowly
    deadline = time.monotonic() + 20
    while len(lines) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    tail.kill()
    tail.wait()
    seen = {(r["event_id"], r["account_id"], r["status"]) for r in map(json.loads, lines)}
    assert seen == {(event_id, e1, "placed"), (event_id, e2, "skipped")}, lines

    status = cli.json("status", gid)
    (group,) = status["groups"]
    rows = {f["account_id"]: f for f in group["followers"]}
    assert rows[e1]["state"] == "active" and rows[e2]["state"] == "locked"
    assert rows[e1]["positions"] == [{"symbol": "NQZ6", "qty": 2, "avg_price": pytest.approx(21450.25)}]
    assert rows[e1]["last_copy"]["event_id"] == event_id and rows[e1]["last_copy"]["status"] == "placed"
    assert rows[e2]["last_copy"]["status"] == "skipped"
    table = cli("status").stdout  # the table of every group
    assert e2 in table and "sync" in table and "risk" in table  # a narrow table wraps headers

    events = cli.json("events", gid)["events"]
    assert [e["event_id"] for e in events] == [event_id]
    one = cli.json("events", gid, event_id)
    assert {c["account_id"]: c["status"] for c in one["copies"]} == {e1: "placed", e2: "skipped"}


def test_preview_and_reset_through_the_cli(cli: Cli, api: Api) -> None:
    gid, _, _ = api.group(name="cli preview")
    e1, e2 = uid("EVAL"), uid("EVAL")
    api.follower(gid, e1)
    api.follower(gid, e2, risk={"max_position": 2, "max_trades_per_day": 5})
    done = run("--url", cli.url, "preview", gid, "--buy", "2", "NQZ6", "--json")
    assert done.returncode == 0, done.stderr
    copies = {c["account_id"]: c for c in json.loads(done.stdout)["copies"]}
    assert set(copies) == {e1, e2} and {c["action"] for c in copies.values()} == {"place"}
    done = run("--url", cli.url, "followers", "reset", gid, e1, "--json")
    assert done.returncode == 3 and "no risk rules" in one_line(done)  # nothing to reset: one line
    done = run("--url", cli.url, "followers", "reset", gid, e2, "--json")
    assert done.returncode == 0, done.stderr
    reset = json.loads(done.stdout)
    assert reset["account_id"] == e2 and reset["risk_status"]["trades_today"] == 0


def test_credentials_secrets_come_from_stdin_and_never_come_back(cli: Cli) -> None:
    account = uid("TV")
    secrets = {"password": "pw-very-secret", "sec": "sec-very-secret"}
    stored = cli.json(
        "credentials",
        "set",
        account,
        "--broker",
        "tradovate",
        "--username",
        "trader1",
        "--broker-account",
        "DEMO123",
        "--field",
        "environment=demo",
        "--field",
        "app_id=copier",
        "--field",
        "app_version=1.0",
        "--field",
        "cid=1234",
        stdin=json.dumps(secrets),
    )
    assert (stored["account_id"], stored["broker"], stored["broker_account"]) == (
        account,
        "tradovate",
        "DEMO123",
    )
    shown = cli("credentials", "show", account, "--json").stdout
    assert json.loads(shown)["account_id"] == account
    assert not any(s in shown for s in secrets.values())
    # a secret on the command line is refused before anything is sent
    done = run(
        "--url",
        cli.url,
        "credentials",
        "set",
        account,
        "--broker",
        "tradovate",
        "--username",
        "u",
        "--broker-account",
        "D",
        "--field",
        "password=oops",
    )
    assert done.returncode == 2 and "never taken from the command line" in one_line(done)
    assert cli.json("credentials", "delete", account) == {"account_id": account, "deleted": True}
    assert run("--url", cli.url, "credentials", "show", account).returncode == 3


def test_bad_input_is_one_line_and_an_exit_code(cli: Cli, stack: LocalStack) -> None:
    assert run("--url", cli.url, "status", "--bogus").returncode == 2
    assert "No such option" in one_line(run("--url", cli.url, "status", "--bogus"))
    missing = run("--url", cli.url, "groups", "show", "g-doesnotexist")
    assert missing.returncode == 3 and "not_found" in one_line(missing)
    refused = run("--url", cli.url, "followers", "add", uid("g"), "X", "--field", "multipler=2")
    assert refused.returncode in (1, 3) and one_line(refused)
    down = run("--url", f"http://127.0.0.1:{_free_port()}", "status")
    assert down.returncode == 4 and "is the stack running" in one_line(down)

    aws = cli_env(**stack.client_env)
    gone = run("--stack", "no-such-stack", "--region", "us-east-1", "status", env=aws)
    assert gone.returncode == 4 and "stack no-such-stack not found" in one_line(gone)
    cfn = stack.client("cloudformation")
    name = uid("not-a-copier")
    cfn.create_stack(
        StackName=name,
        TemplateBody=json.dumps(
            {"Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}}
        ),
    )
    try:
        bare = run("--stack", name, "--region", "us-east-1", "status", env=aws)
        assert bare.returncode == 4 and "has no ApiUrl output" in one_line(bare)
    finally:
        cfn.delete_stack(StackName=name)
