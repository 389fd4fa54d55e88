"""PUT/GET/DELETE /accounts/{id}/credentials (API.md v2): stored in Secrets Manager as
``<stack>/brokers/<account_id>``, never shown; bad input → 4xx with nothing stored;
``credentials_missing`` for a real-broker leader or follower without them."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from tests.integration.test_pipeline_rules import table_items
from tests.pipeline import Pipeline

SECRET = "pw-never-shown-7f3a"
TRADOVATE = {
    "broker": "tradovate",
    "environment": "demo",
    "api_url": None,
    "ws_url": None,
    "username": "trader1",
    "password": SECRET,
    "app_id": "copier",
    "app_version": "1.0",
    "cid": 1234,
    "sec": SECRET + "-sec",
    "device_id": None,
    "broker_account": "DEMO123456",
}
PROJECTX = {
    "broker": "projectx",
    "api_url": "https://api.topstepx.com",
    "rtc_url": "https://rtc.topstepx.com/hubs/user",
    "username": "trader1",
    "api_key": SECRET + "-key",
    "broker_account": "50KTC-V2-12345-678",
}
SHOWN = {"account_id", "broker", "broker_account", "api_url", "stored_at"}


def _secrets(prefix_env: Any = None) -> Any:
    return boto3.client("secretsmanager")


def _secret_names() -> list[str]:
    return sorted(s["Name"] for s in _secrets().list_secrets(MaxResults=100)["SecretList"])


def test_put_get_delete_tradovate_and_projectx(pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    prefix = os.environ["RESOURCE_PREFIX"]
    reply = pipeline.call("PUT", "/accounts/TV:1/credentials", TRADOVATE)
    assert reply.status == 200, reply.body
    assert set(reply.body) == SHOWN
    assert reply.body["broker"] == "tradovate" and reply.body["broker_account"] == "DEMO123456"
    assert reply.body["api_url"] == "https://demo.tradovateapi.com/v1"
    assert SECRET not in json.dumps(reply.body)
    stored = json.loads(_secrets().get_secret_value(SecretId=f"{prefix}/brokers/TV+1")["SecretString"])
    assert (
        stored["password"] == SECRET
        and stored["cid"] == 1234
        and stored["stored_at"] == reply.body["stored_at"]
    )

    got = pipeline.call("GET", "/accounts/TV:1/credentials")
    assert (got.status, got.body) == (200, reply.body)

    px = pipeline.call("PUT", "/accounts/PX-1/credentials", PROJECTX)
    assert px.status == 200 and px.body["api_url"] == "https://api.topstepx.com", px.body
    live = pipeline.call("PUT", "/accounts/TV:1/credentials", {**TRADOVATE, "environment": "live"})
    assert live.body["api_url"] == "https://live.tradovateapi.com/v1"
    custom = {**TRADOVATE, "api_url": "http://127.0.0.1:9/v1"}
    assert (
        pipeline.call("PUT", "/accounts/TV:1/credentials", custom).body["api_url"] == "http://127.0.0.1:9/v1"
    )

    assert pipeline.call("DELETE", "/accounts/TV:1/credentials").status == 204
    assert pipeline.call("GET", "/accounts/TV:1/credentials").status == 404
    assert pipeline.call("DELETE", "/accounts/TV:1/credentials").status == 404
    again = pipeline.call("PUT", "/accounts/TV:1/credentials", TRADOVATE)  # no recovery window
    assert again.status == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**TRADOVATE, "api_key": "x"}, "api_key"),  # a field Tradovate does not use
        ({**PROJECTX, "password": "x"}, "password"),  # ... nor ProjectX
        ({k: v for k, v in TRADOVATE.items() if k != "sec"}, "sec"),
        ({k: v for k, v in TRADOVATE.items() if k != "broker_account"}, "broker_account"),
        ({k: v for k, v in PROJECTX.items() if k != "api_url"}, "api_url"),
        ({**TRADOVATE, "api_url": "ftp://demo.tradovateapi.com/v1"}, "api_url"),
        ({**TRADOVATE, "api_url": "demo.tradovateapi.com/v1"}, "api_url"),
        ({**PROJECTX, "api_url": "javascript:alert(1)"}, "api_url"),
        ({**TRADOVATE, "environment": "staging"}, "environment"),
        ({**TRADOVATE, "broker": "alpaca"}, "broker"),
        ({**TRADOVATE, "broker": "paper"}, "broker"),
        ({**TRADOVATE, "password": ""}, "password"),
        ({**TRADOVATE, "cid": True}, "cid"),
    ],
)
def test_bad_credentials_bodies_are_422_and_store_nothing(
    pipeline: Pipeline, body: dict[str, Any], field: str
) -> None:
    before = _secret_names()
    reply = pipeline.call("PUT", "/accounts/TV-9/credentials", body)
    assert (reply.status, reply.body["error"]["code"]) == (422, "validation_error"), reply.body
    assert field in json.dumps(reply.body["error"].get("details", [])), reply.body
    assert SECRET not in json.dumps(reply.body)
    assert _secret_names() == before
    assert pipeline.call("GET", "/accounts/TV-9/credentials").status == 404


def test_malformed_and_bad_account_ids_store_nothing(pipeline: Pipeline) -> None:
    before = _secret_names()
    assert pipeline.call("PUT", "/accounts/TV-9/credentials", raw_body="{not json").status == 400
    bad = pipeline.call("PUT", "/accounts/bad%20id/credentials", TRADOVATE)
    assert (bad.status, bad.body["error"]["code"]) == (422, "validation_error")
    assert _secret_names() == before


def test_real_broker_leader_or_follower_needs_credentials_and_delete_is_409_while_used(
    pipeline: Pipeline, pipeline_env: Any
) -> None:
    before = table_items(pipeline_env.copier)
    leader = pipeline.call(
        "POST", "/groups", {"name": "g", "leader": {"account_id": "TV-L", "broker": "tradovate"}}
    )
    assert (leader.status, leader.body["error"]["code"]) == (422, "credentials_missing"), leader.body
    assert table_items(pipeline_env.copier) == before
    group_id, _ = pipeline.create_group()
    follower = pipeline.call(
        "POST", f"/groups/{group_id}/followers", {"account_id": "TV-F", "broker": "tradovate"}
    )
    assert (follower.status, follower.body["error"]["code"]) == (422, "credentials_missing")
    # credentials of another broker do not count
    assert pipeline.call("PUT", "/accounts/TV-F/credentials", PROJECTX).status == 200
    wrong = pipeline.call(
        "POST", f"/groups/{group_id}/followers", {"account_id": "TV-F", "broker": "tradovate"}
    )
    assert (wrong.status, wrong.body["error"]["code"]) == (422, "credentials_missing")
    assert "projectx" in wrong.body["error"]["message"]
    assert not pipeline.follower_queues()

    assert pipeline.call("PUT", "/accounts/TV-F/credentials", TRADOVATE).status == 200
    pipeline.add_follower(group_id, "TV-F", broker="tradovate")
    in_use = pipeline.call("DELETE", "/accounts/TV-F/credentials")
    assert (in_use.status, in_use.body["error"]["code"]) == (409, "account_in_use")
    assert pipeline.call("GET", "/accounts/TV-F/credentials").status == 200
    assert pipeline.call("DELETE", f"/groups/{group_id}/followers/TV-F").status == 204
    assert pipeline.call("DELETE", "/accounts/TV-F/credentials").status == 204
