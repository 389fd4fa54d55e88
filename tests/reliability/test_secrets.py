"""Secrets (RELIABILITY.md, "Secrets"): webhook tokens and broker credentials.

Webhook tokens: ≥ 256 random bits, shown once, stored only as their SHA-256, compared in constant
time, rotatable, and absent from every log line (Powertools JSON on stdout, botocore's DEBUG log,
anything on fd 1/2), every table item, every queued message and every later API answer.

Broker credentials (``tradecopier.brokers.credentials``): read from Secrets Manager (moto), cached
per execution environment with a TTL, never in ``os.environ`` or logs, with errors the executor
already knows how to treat.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import logging
import os
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from devstack.samples import market
from tests.pipeline import Pipeline
from tests.reliability.helpers import hooked
from tradecopier import aws
from tradecopier.brokers import credentials as creds
from tradecopier.brokers.base import BrokerRejected, BrokerUnreachable
from tradecopier.observability import logger
from tradecopier.settings import ExecutorSettings

# --- webhook tokens ------------------------------------------------------------------------------


def scan_all(client: Any, table: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": table}
    while True:
        page = client.scan(**kwargs)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


class LogCapture:
    """Everything logged while a test runs, at DEBUG: the copier's Powertools JSON lines (its
    handler's stream, bound at import, is redirected here) and every other logger (botocore's
    request and response dumps, Powertools' own modules, moto, ...) through the root logger."""

    def __init__(self, caplog: pytest.LogCaptureFixture) -> None:
        self._caplog = caplog
        self.buffer = io.StringIO()
        self.filters: list[Callable[[logging.LogRecord], bool]] = []

    def text(self) -> str:
        return self.buffer.getvalue() + "\n" + self._caplog.text

    def clear(self) -> None:
        """Forgets what was logged so far (a test's own setup, e.g. creating a secret)."""
        self.buffer.seek(0)
        self.buffer.truncate()
        self._caplog.clear()

    def exclude(self, logger_name: str, message_start: str) -> None:
        """Leaves out one known line (each exclusion has its own xfail test naming the bug)."""

        def keep(record: logging.LogRecord) -> bool:
            return not (record.name == logger_name and record.getMessage().startswith(message_start))

        self._caplog.handler.addFilter(keep)  # the handler outlives the test: removed at teardown
        self.filters.append(keep)


@pytest.fixture
def all_logs(caplog: pytest.LogCaptureFixture) -> Iterator[LogCapture]:
    capture = LogCapture(caplog)
    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    previous_stream = handler.setStream(capture.buffer)
    previous_level = logger.log_level
    logger.setLevel("DEBUG")
    caplog.set_level(logging.DEBUG)  # root: botocore, urllib3, Powertools' modules, moto, ...
    try:
        yield capture
    finally:
        logger.setLevel(previous_level)
        handler.setStream(previous_stream)
        for keep in capture.filters:
            caplog.handler.removeFilter(keep)


def test_webhook_tokens_are_256_bit_random_and_stored_only_as_their_hash(
    pipeline: Pipeline, pipeline_env: Any, dynamodb_local_client: Any, figures: Counter[str]
) -> None:
    tokens = {}
    for n in range(5):
        group_id, token = pipeline.create_group(leader=f"LEAD-{n}")
        tokens[group_id] = token
        assert len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))) >= 32  # ≥ 256 bits
    assert len(set(tokens.values())) == len(tokens)
    items = scan_all(dynamodb_local_client, pipeline_env.copier)
    stored = {item["group_id"]["S"]: item["token_hash"]["S"] for item in items if item["sk"]["S"] == "META"}
    assert stored == {g: hashlib.sha256(t.encode()).hexdigest() for g, t in tokens.items()}
    text = json.dumps(items)
    assert not [t for t in tokens.values() if t in text]
    figures["tokens_checked"] += len(tokens)
    figures["items_scanned"] += len(items)


def _runs(values: list[str]) -> list[str]:
    """``values`` with each run of equal neighbours made one."""
    return [v for i, v in enumerate(values) if i == 0 or values[i - 1] != v]


def test_webhook_token_never_reaches_logs_tables_queues_or_answers_during_a_full_copy(
    pipeline: Pipeline,
    pipeline_env: Any,
    dynamodb_local_client: Any,
    all_logs: LogCapture,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    figures: Counter[str],
) -> None:
    comparisons: list[tuple[str, str]] = []
    real_compare = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        comparisons.append((a, b))
        return real_compare(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    executed: list[dict[str, Any]] = []
    real_executor = pipeline.executor

    def executor(event: dict[str, Any], context: Any) -> dict[str, Any]:
        executed.append(event)  # the SQS records exactly as the executor receives them
        return real_executor(event, context)

    pipeline.executor = executor
    answers: list[Any] = []

    group_id, token = pipeline.create_group()
    pipeline.add_follower(group_id, "EVAL-1")
    answers.append(pipeline.send(group_id, token, **market("E-header")).body)  # token in the header
    answers.append(  # token in the body (TradingView)
        pipeline.call("POST", f"/groups/{group_id}/events", {**market("E-body"), "token": token}).body
    )
    bad = pipeline.call("POST", f"/groups/{group_id}/events", {**market("E-bad", qty=0), "token": token})
    assert bad.status == 422  # a validation error must not echo the body's token back or log it
    answers.append(bad.body)
    wrong = pipeline.call(
        "POST", f"/groups/{group_id}/events", market("E-x"), {"X-Webhook-Token": token[::-1]}
    )
    assert wrong.status == 401
    pipeline.deliver()
    rotated = pipeline.call("POST", f"/groups/{group_id}/token/rotate")
    new_token = rotated.body["webhook_token"]
    assert pipeline.send(group_id, token, **market("E-old")).status == 401
    answers.append(pipeline.send(group_id, new_token, **market("E-new")).body)
    pipeline.deliver()
    for event_id in ("E-header", "E-body", "E-new"):
        copy = pipeline.copies(group_id, event_id)["EVAL-1"]
        assert copy["status"] == "placed", copy
    answers += [
        pipeline.call("GET", f"/groups/{group_id}").body,
        pipeline.call("GET", f"/groups/{group_id}/events").body,
        pipeline.call("GET", "/groups").body,
    ]

    captured = capfd.readouterr()
    logs = all_logs.text() + captured.out + captured.err
    assert "event accepted" in logs and "copy recorded" in logs  # the capture does see the copier
    assert "GetItem" in logs or "BatchGetItem" in logs  # ... and botocore's DEBUG dumps
    items = json.dumps(
        scan_all(dynamodb_local_client, pipeline_env.copier)
        + scan_all(dynamodb_local_client, pipeline_env.paper)
    )
    messages = json.dumps(executed)
    for secret in (token, new_token):
        assert secret not in logs
        assert secret not in items
        assert secret not in messages
        assert secret not in json.dumps(answers)
    assert hashlib.sha256(new_token.encode()).hexdigest() in items  # only the hash is stored
    # Every ingest compared hashes with hmac.compare_digest (constant time), the wrong ones too.
    sent = [token, token, token[::-1], token, new_token]  # the 422 is refused before any token check
    expected = [hashlib.sha256(t.encode()).hexdigest() for t in sent]
    compared = [a for a, _ in comparisons]
    # Ingest checks against its cached group, and checks again after a fresh read when the token is
    # not the cached group's or the group changed since (a rotation): once or twice per request.
    assert _runs(compared) == _runs(expected) and len(expected) <= len(compared) <= 2 * len(expected)
    figures["log_chars_scanned"] += len(logs)
    figures["requests_with_token"] += len(sent)
    figures["token_leaks"] += 0


def test_webhook_token_in_the_body_is_not_logged_by_the_resolver_at_debug(
    pipeline: Pipeline, all_logs: LogCapture, figures: Counter[str]
) -> None:
    group_id, token = pipeline.create_group()
    all_logs.clear()
    reply = pipeline.call("POST", f"/groups/{group_id}/events", {**market("E-tv"), "token": token})
    assert reply.status == 202
    figures["requests_with_token"] += 1
    assert token not in all_logs.text()


# --- broker credentials --------------------------------------------------------------------------

SECRET_VALUE = "hunter2-" + uuid.uuid4().hex  # never appears anywhere but in Secrets Manager


@pytest.fixture
def secretsmanager(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    creds.clear_cache()
    client = boto3.client("secretsmanager")
    yield client
    creds.clear_cache()


def _prefix() -> str:
    return f"t{uuid.uuid4().hex[:8]}"


def _put(client: Any, prefix: str, account_id: str, values: dict[str, Any] | str) -> str:
    name = creds.secret_name(prefix, account_id)
    text = values if isinstance(values, str) else json.dumps(values)
    try:
        client.create_secret(Name=name, SecretString=text)
    except client.exceptions.ResourceExistsException:
        client.put_secret_value(SecretId=name, SecretString=text)
    return name


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_credentials_come_from_secrets_manager_cached_with_a_ttl(
    secretsmanager: Any, figures: Counter[str]
) -> None:
    prefix, clock, calls = _prefix(), Clock(), Counter[str]()
    _put(secretsmanager, prefix, "TOPSTEP:123", {"username": "trader", "api_key": SECRET_VALUE})
    assert creds.secret_name(prefix, "TOPSTEP:123") == f"{prefix}/brokers/TOPSTEP+123"
    client = boto3.client("secretsmanager")

    def count(**_: Any) -> None:
        calls["GetSecretValue"] += 1

    store = creds.CredentialsStore(prefix, ttl_seconds=300, client=client, clock=clock)
    with hooked(client, "before-call.secrets-manager.GetSecretValue", count):
        first = store.get("TOPSTEP:123")
        assert first.api_key is not None and first.api_key.get_secret_value() == SECRET_VALUE
        for _ in range(50):  # the hot path: no Secrets Manager call within the TTL
            assert store.get("TOPSTEP:123") is first
        assert calls["GetSecretValue"] == 1
        _put(secretsmanager, prefix, "TOPSTEP:123", {"username": "trader", "api_key": "rotated"})
        clock.now += 299
        assert store.get("TOPSTEP:123") is first
        clock.now += 2  # past the TTL: the rotated value is read
        assert store.get("TOPSTEP:123").api_key.get_secret_value() == "rotated"  # type: ignore[union-attr]
        store.forget("TOPSTEP:123")  # e.g. the broker refused them: read again at once
        store.get("TOPSTEP:123")
        assert calls["GetSecretValue"] == 3
    figures["credential_reads"] += 53
    figures["secrets_manager_calls"] += calls["GetSecretValue"]


def test_credentials_default_store_uses_the_stack_prefix_and_is_cached_per_environment(
    secretsmanager: Any,
) -> None:
    prefix = _prefix()
    _put(secretsmanager, prefix, "EVAL-1", {"username": "u", "password": SECRET_VALUE})
    settings = ExecutorSettings(copier_table_name="copier", paper_table_name="paper", resource_prefix=prefix)
    first = creds.broker_credentials("EVAL-1", settings)
    assert first.password is not None and first.password.get_secret_value() == SECRET_VALUE
    assert creds.broker_credentials("EVAL-1", settings) is first
    assert creds.credentials_store(prefix) is creds.credentials_store(prefix)


def test_credentials_never_reach_env_logs_reprs_or_errors(
    secretsmanager: Any,
    all_logs: LogCapture,
    capfd: pytest.CaptureFixture[str],
    figures: Counter[str],
) -> None:
    prefix = _prefix()
    _put(secretsmanager, prefix, "EVAL-1", {"username": "u", "password": SECRET_VALUE, "app_id": "copier"})
    _put(secretsmanager, prefix, "TYPO-1", {"username": "u", "pasword": SECRET_VALUE})  # unknown key
    _put(secretsmanager, prefix, "JUNK-1", f"password={SECRET_VALUE}")  # not JSON
    _put(secretsmanager, prefix, "LIST-1", json.dumps([SECRET_VALUE]))  # not an object
    all_logs.clear()  # creating the secrets above is the test's doing, not the copier's
    capfd.readouterr()
    store = creds.CredentialsStore(prefix)
    credentials = store.get("EVAL-1")
    shown = [
        repr(credentials),
        str(credentials),
        credentials.model_dump_json(),
        str(credentials.model_dump()),
    ]
    errors: list[BaseException] = []
    for account_id in ("TYPO-1", "JUNK-1", "LIST-1"):
        with pytest.raises(creds.CredentialsInvalid) as raised:
            store.get(account_id)
        assert isinstance(raised.value, BrokerRejected)  # a business "no": recorded, not retried
        errors.append(raised.value)
        logger.exception("adapter could not log in", exc_info=raised.value)  # as an adapter would
    assert "pasword" in str(errors[0])  # the error says what is wrong ...
    secretsmanager.list_secrets(MaxResults=1)  # any other call: its response body is logged
    captured = capfd.readouterr()
    everything = "\n".join(
        [
            all_logs.text(),
            captured.out,
            captured.err,
            *shown,
            *(str(e) for e in errors),
            *(repr(e) for e in errors),
        ]
    )
    assert SECRET_VALUE not in everything  # ... never what the value was
    assert all(e.__cause__ is None and (e.__context__ is None or e.__suppress_context__) for e in errors)
    assert SECRET_VALUE not in "".join(os.environ.values())
    assert "Response body" in all_logs.text()  # botocore's DEBUG dumps are on, just not for the secret
    figures["log_chars_scanned"] += len(everything)
    figures["credential_leaks"] += 0


def test_credentials_errors_missing_is_rejected_unreachable_is_transient_and_stale_beats_none(
    secretsmanager: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix, clock = _prefix(), Clock()
    _put(secretsmanager, prefix, "EVAL-1", {"api_key": "k", "api_secret": SECRET_VALUE})
    store = creds.CredentialsStore(prefix, ttl_seconds=60, clock=clock)
    with pytest.raises(creds.CredentialsMissing) as missing:
        store.get("NOBODY-1")
    assert isinstance(missing.value, BrokerRejected) and "does not exist" in str(missing.value)

    cached = store.get("EVAL-1")
    down = boto3.client(
        "secretsmanager", endpoint_url="http://127.0.0.1:9", config=aws.config_for("secretsmanager")
    )
    monkeypatch.setattr(store, "_client", down)  # Secrets Manager unreachable from now on
    clock.now += 61
    assert store.get("EVAL-1") is cached  # expired, but better than failing the copy
    with pytest.raises(creds.CredentialsUnavailable) as unreachable:
        store.get("OTHER-1")  # nothing cached: transient, so the executor retries then locks
    assert isinstance(unreachable.value, BrokerUnreachable)


def test_stored_credentials_never_reach_answers_logs_or_tables(
    pipeline: Any, pipeline_env: Any, all_logs: LogCapture, capfd: pytest.CaptureFixture[str]
) -> None:
    """PUT/GET credentials (every secret field of both brokers), a bad PUT, the connection check
    and a copy through a Tradovate follower whose broker is down: no secret anywhere."""
    values = {
        "tradovate": {
            "broker": "tradovate",
            "api_url": "http://127.0.0.1:9/v1",
            "username": "user-" + SECRET_VALUE,
            "password": "pw-" + SECRET_VALUE,
            "app_id": "copier",
            "cid": "cid-" + SECRET_VALUE,
            "sec": "sec-" + SECRET_VALUE,
            "broker_account": "DEMO1",
        },
        "projectx": {
            "broker": "projectx",
            "api_url": "https://api.topstepx.com",
            "username": "user-" + SECRET_VALUE,
            "api_key": "key-" + SECRET_VALUE,
            "broker_account": "PX1",
        },
    }
    answers = []
    for account_id, body in (("TV-S", values["tradovate"]), ("PX-S", values["projectx"])):
        answers.append(pipeline.call("PUT", f"/accounts/{account_id}/credentials", body).body)
        answers.append(pipeline.call("GET", f"/accounts/{account_id}/credentials").body)
    answers.append(pipeline.call("PUT", "/accounts/TV-X/credentials", {**values["tradovate"], "x": 1}).body)
    answers.append(
        pipeline.call("PUT", "/accounts/TV-X/credentials", {**values["tradovate"], "cid": []}).body
    )
    answers.append(pipeline.call("GET", "/accounts/TV-S/connection").body)
    group_id, token = pipeline.create_group()
    pipeline.add_follower(group_id, "TV-S", broker="tradovate")
    pipeline.send(group_id, token, **market("E-s1"))
    pipeline.deliver()
    answers.append(pipeline.call("GET", f"/groups/{group_id}/events/E-s1").body)
    captured = capfd.readouterr()
    tables = json.dumps(scan_all(boto3.client("dynamodb"), pipeline_env.copier), default=str)
    everything = "\n".join([json.dumps(answers), all_logs.text(), captured.out, captured.err, tables])
    at = everything.find(SECRET_VALUE)
    assert at < 0, everything[max(0, at - 600) : at + 100]
    assert "DEMO1" in everything  # the metadata is shown


def test_shared_tradovate_tokens_never_reach_answers_logs_metrics_or_tables_unsealed(
    pipeline: Any,
    pipeline_env: Any,
    moto_endpoint: str,
    all_logs: LogCapture,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The access token shared through the copier table (``brokers/tradovate/lease.py``): a
    connection check, a copy, a 401 and its re-login, at DEBUG — no token value (nor its base64,
    as a KMS request would carry it) in any answer, log line, metric or table item."""
    from devstack.brokers.tradovate import FakeTradovate
    from tradecopier.brokers.registry import clear_cache
    from tradecopier.logic.services import reset_services

    key = boto3.client("kms", endpoint_url=moto_endpoint).create_key()["KeyMetadata"]["Arn"]
    monkeypatch.setenv("BROKER_TOKEN_KEY_ID", key)
    reset_services()
    clear_cache()
    fake = FakeTradovate()
    user = fake.add_user("alice", "pw-1", app_id="copier", cid=8, sec="s3cr3t")
    fake.add_account(user, "DEMO3701228")
    fake.start()
    try:
        symbol = str(fake.contract("NQ")["name"])
        fake.set_market_price(symbol, 21450.25)
        body = {
            "broker": "tradovate",
            "api_url": fake.base_url,
            "username": "alice",
            "password": "pw-1",
            "app_id": "copier",
            "cid": 8,
            "sec": "s3cr3t",
            "broker_account": "DEMO3701228",
        }
        answers = [pipeline.call("PUT", "/accounts/TV-T/credentials", body).body]
        answers.append(pipeline.call("GET", "/accounts/TV-T/connection").body)
        group_id, token = pipeline.create_group()
        pipeline.add_follower(group_id, "TV-T", broker="tradovate")
        pipeline.send(group_id, token, **market("E-t1", symbol=symbol))
        pipeline.deliver()
        fake.expire_tokens()  # the next call gets a 401: one re-login, a new token shared
        pipeline.send(group_id, token, **market("E-t2", "L-t2", symbol=symbol))
        pipeline.deliver()
        for event_id in ("E-t1", "E-t2"):
            answers.append(pipeline.call("GET", f"/groups/{group_id}/events/{event_id}").body)
        issued = list(fake._tokens)  # every access token the fake handed out
    finally:
        fake.stop()
        clear_cache()
    assert len(issued) >= 2 and all(a["copies"][0]["status"] == "placed" for a in answers[-2:]), answers
    captured = capfd.readouterr()
    tables = json.dumps(scan_all(boto3.client("dynamodb"), pipeline_env.copier), default=str)
    everything = "\n".join([json.dumps(answers), all_logs.text(), captured.out, captured.err, tables])
    assert "TVTOKEN#" in tables  # the item is there, sealed
    for value in issued:
        for form in (value, base64.b64encode(value.encode()).decode()):
            at = everything.find(form)
            assert at < 0, everything[max(0, at - 600) : at + 100]


def test_projectx_and_tradovate_secrets_never_leave_secrets_manager_on_copies_through_the_fakes(
    pipeline: Any,
    pipeline_env: Any,
    all_logs: LogCapture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """ProjectX's ``api_key`` and Tradovate's ``password`` / ``sec``, each holding a unique marker:
    credentials PUT and GET, the connection check, copies placed through both fakes, a refused
    login with a wrong secret, at DEBUG — the marker is in no answer, log line (the copier's JSON,
    botocore's and urllib3's dumps), metric (EMF on stdout), nor any item of either table."""
    from devstack.brokers.projectx import FakeProjectX
    from devstack.brokers.tradovate import FakeTradovate
    from tradecopier.brokers.registry import clear_cache

    api_key, password, sec = (f"{kind}-{SECRET_VALUE}" for kind in ("key", "pw", "sec"))
    clear_cache()
    px, tv = FakeProjectX(), FakeTradovate()
    px.add_user("px-user", api_key)
    px_account = px.add_account("px-user", "PRAC-V2-SECRETS-1", auto_oco=True)
    tv_user = tv.add_user("tv-user", password, app_id="copier", cid=8, sec=sec)
    tv.add_account(tv_user, "DEMO-SECRETS-1")
    px_url, tv_url = px.start(), tv.start()
    try:
        tv_symbol = str(tv.contract("NQ")["name"])
        tv.set_market_price(tv_symbol, 21450.25)
        bodies = {
            "PX-S": {
                "broker": "projectx",
                "api_url": px_url,
                "username": "px-user",
                "api_key": api_key,
                "broker_account": str(px.account(px_account)["name"]),
            },
            "TV-S": {
                "broker": "tradovate",
                "api_url": tv_url,
                "username": "tv-user",
                "password": password,
                "app_id": "copier",
                "cid": 8,
                "sec": sec,
                "broker_account": "DEMO-SECRETS-1",
            },
            "TV-BAD": {  # a refused login: the wrong secret is not echoed either
                "broker": "tradovate",
                "api_url": tv_url,
                "username": "tv-user",
                "password": f"wrong-{SECRET_VALUE}",
                "app_id": "copier",
                "cid": 8,
                "sec": sec,
                "broker_account": "DEMO-SECRETS-1",
            },
        }
        answers: list[Any] = []
        for account_id, body in bodies.items():
            answers.append(pipeline.call("PUT", f"/accounts/{account_id}/credentials", body).body)
            answers.append(pipeline.call("GET", f"/accounts/{account_id}/credentials").body)
            answers.append(pipeline.call("GET", f"/accounts/{account_id}/connection").body)
        assert [a["status"] for a in answers[2::3]] == ["connected", "connected", "auth_failed"], answers
        group_id, token = pipeline.create_group()
        for account_id, broker in (("PX-S", "projectx"), ("TV-S", "tradovate")):
            pipeline.add_follower(group_id, account_id, broker=broker)
        pipeline.send(group_id, token, **market("E-s1", symbol=tv_symbol))  # NQ front month at both
        pipeline.deliver()
        copies = pipeline.copies(group_id, "E-s1")
        assert {a: c["status"] for a, c in copies.items()} == {"PX-S": "placed", "TV-S": "placed"}, copies
        answers += [copies, pipeline.call("GET", f"/groups/{group_id}").body]
        answers += [pipeline.call("GET", f"/accounts/{a}/orders").body for a in ("PX-S", "TV-S")]
    finally:
        px.stop()
        tv.stop()
        clear_cache()
    captured = capfd.readouterr()
    assert "CopiesPlaced" in captured.out  # the metrics were flushed where this test reads
    assert "POST /api/Auth/loginKey" in all_logs.text() or "loginKey" in all_logs.text()
    client = boto3.client("dynamodb")
    tables = json.dumps(
        scan_all(client, pipeline_env.copier) + scan_all(client, pipeline_env.paper), default=str
    )
    everything = "\n".join([json.dumps(answers), all_logs.text(), captured.out, captured.err, tables])
    at = everything.find(SECRET_VALUE)
    assert at < 0, everything[max(0, at - 600) : at + 100]
    assert "PRAC-V2-SECRETS-1" in everything and "DEMO-SECRETS-1" in everything  # metadata is shown
