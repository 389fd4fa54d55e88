"""The CLI's SigV4 signing (against botocore's own signer), its one-line errors for a deployed stack,
and the board's HTML (pure: v1 followers and v2 fields alike)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import botocore.auth
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tradecopier.board import render
from tradecopier.board.api_client import ApiClient, ApiError, SigV4Signer, _answer
from tradecopier_cli import main as cli_main
from tradecopier_cli import target

FROZEN = datetime(2031, 3, 4, 14, 30, 0, tzinfo=UTC)
URL = "https://abc123.execute-api.eu-west-1.amazonaws.com/groups/g-1/followers/ACC%3A1/lock?x=1"
CREDS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "session-token")


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: FROZEN.replace(tzinfo=None))


def _botocore_signed(method: str, url: str, body: bytes, headers: dict[str, str]) -> dict[str, str]:
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers))
    SigV4Auth(CREDS, "execute-api", "eu-west-1").add_auth(request)
    return dict(request.headers.items())


@pytest.mark.usefixtures("frozen_clock")
def test_sigv4_headers_are_botocores_own() -> None:
    body = b'{"reason": "daily loss"}'
    headers = {"accept": "application/json", "content-type": "application/json"}
    ours = SigV4Signer(CREDS, "eu-west-1").headers("POST", URL, body, headers)
    theirs = _botocore_signed("POST", URL, body, headers)
    assert ours == theirs
    assert ours["Authorization"].startswith(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20310304/eu-west-1/execute-api/aws4_request, "
    )
    assert ours["X-Amz-Date"] == "20310304T143000Z" and ours["X-Amz-Security-Token"] == "session-token"
    other = SigV4Signer(CREDS, "eu-west-1").headers("POST", URL, b'{"reason": "other"}', headers)
    assert other["Authorization"] != ours["Authorization"]  # the signature covers the body


class RecordingPool:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        self.calls.append({"method": method, "url": url, **kwargs})
        return type("Resp", (), {"status": 200, "data": b'{"ok": true}'})()


@pytest.mark.usefixtures("frozen_clock")
def test_the_client_sends_exactly_the_signed_request() -> None:
    pool = RecordingPool()
    client = ApiClient("https://abc123.execute-api.eu-west-1.amazonaws.com/", SigV4Signer(CREDS, "eu-west-1"))
    client.pool = pool  # type: ignore[assignment]
    assert client.request(
        "POST", "/groups/g-1/followers/ACC%3A1/lock", {"reason": "daily loss"}, {"x": 1}
    ) == {"ok": True}
    (call,) = pool.calls
    assert call["url"] == URL
    assert call["headers"] == _botocore_signed(
        "POST", URL, call["body"], {"accept": "application/json", "content-type": "application/json"}
    )


def test_api_errors_become_one_readable_line() -> None:
    with pytest.raises(ApiError) as raised:
        _answer(
            422,
            b'{"error": {"code": "validation_error", "message": "bad", "details": '
            b'[{"loc": ["body", "multipler"], "msg": "Extra inputs are not permitted"}]}}',
        )
    assert str(raised.value) == "validation_error: bad multipler: Extra inputs are not permitted (HTTP 422)"
    with pytest.raises(ApiError) as gateway:
        _answer(404, b'{"message":"Not Found"}')
    assert gateway.value.route_missing and gateway.value.code == "not_found"
    with pytest.raises(ApiError) as forbidden:
        _answer(403, b'{"message":"Forbidden"}')
    assert (forbidden.value.code, forbidden.value.route_missing) == ("forbidden", False)


class _Cfn:
    def __init__(self, error: ClientError | None = None, stacks: list[dict[str, Any]] | None = None) -> None:
        self.error, self.stacks = error, stacks

    def describe_stacks(self, StackName: str) -> dict[str, Any]:
        if self.error is not None:
            raise self.error
        return {"Stacks": self.stacks or []}


def _with_cfn(monkeypatch: pytest.MonkeyPatch, cfn: _Cfn) -> None:
    import boto3

    monkeypatch.setattr(boto3.session.Session, "client", lambda self, name, **_: cfn)


@pytest.mark.parametrize(
    ("code", "message", "expected"),
    [
        ("ExpiredToken", "The security token included in the request is expired", "credentials are expired"),
        ("ValidationError", "Stack with id prod does not exist", "stack prod not found in eu-west-1"),
        ("AccessDenied", "not allowed", "cannot read stack prod: AccessDenied: not allowed"),
    ],
)
def test_a_deployed_stack_that_cannot_be_used_is_one_line(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    code: str,
    message: str,
    expected: str,
) -> None:
    error = ClientError({"Error": {"Code": code, "Message": message}}, "DescribeStacks")
    _with_cfn(monkeypatch, _Cfn(error=error))
    assert cli_main.main(["--stack", "prod", "--region", "eu-west-1", "status"]) == 4
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expected in err and "Traceback" not in err


def test_a_stack_resolves_to_its_api_url_with_a_signer(monkeypatch: pytest.MonkeyPatch) -> None:
    outputs = [{"OutputKey": "ApiUrl", "OutputValue": "https://abc.execute-api.eu-west-1.amazonaws.com/"}]
    _with_cfn(monkeypatch, _Cfn(stacks=[{"Outputs": outputs, "StackStatus": "CREATE_COMPLETE"}]))
    client = target.deployed("prod", "eu-west-1")
    assert client.base_url == "https://abc.execute-api.eu-west-1.amazonaws.com"
    assert isinstance(client.signer, SigV4Signer) and client.signer.region == "eu-west-1"


# -- the board -----------------------------------------------------------------------------------
def _data(*followers: dict[str, Any]) -> dict[str, Any]:
    return {
        "generated_at": "2031-03-04T14:30:00+00:00",
        "groups": [
            {
                "group_id": "g-1",
                "name": "Funded",
                "leader": {"account_id": "LEAD", "broker": "paper"},
                "followers": list(followers),
            }
        ],
    }


V1 = {
    "account_id": "EVAL-1",
    "broker": "paper",
    "multiplier": 2,
    "max_qty": None,
    "state": "active",
    "positions": [{"symbol": "NQZ6", "qty": 4}],
    "last_copy": {"event_id": "L 42", "status": "placed", "qty": 4, "symbol": "NQZ6", "latency_ms": 87},
}


def test_the_board_shows_a_v1_follower_and_links_its_copy_to_the_event() -> None:
    html = render.page(_data(V1), link_base="http://127.0.0.1:3000", refresh_seconds=2)
    assert 'data-account="EVAL-1" data-state="active"' in html
    assert 'href="http://127.0.0.1:3000/groups/g-1/events/L%2042"' in html
    assert "NQZ6 +4" in html and "87 ms" in html and "setTimeout" in html


def test_locked_and_liquidate_only_stand_out_with_v2_figures() -> None:
    locked = {
        "account_id": "EVAL-2",
        "broker": "tradovate",
        "state": "locked",
        "lock_reason": "risk: daily loss",
        "locked_until": "2031-03-04T23:00:00Z",
        "positions": None,
        "last_copy": None,
        "connection": {"status": "auth_failed"},
        "sync": {"status": "out_of_sync", "symbols_out_of_sync": ["NQZ6", "ESZ6"]},
        "risk": {"daily_loss_limit": 1000, "trailing_drawdown": 2000, "max_trades_per_day": 3},
        "risk_status": {
            "session_pnl": -1020.5,
            "drawdown_floor": 48000,
            "balance": 48979.5,
            "trades_today": 2,
        },
    }
    liquidating = {"account_id": "EVAL-3", "state": "liquidate_only", "positions": [], "last_copy": None}
    html = render.widget(_data(locked, liquidating))
    assert 'class="follower state-locked sync-out_of_sync"' in html
    assert 'class="follower state-liquidate_only sync-none"' in html
    assert "tr.state-locked td{background" in html and "<script" not in html  # a widget runs no script
    for shown in (
        "risk: daily loss",
        "until 2031-03-04T23:00:00Z",
        "tradovate · auth_failed",
        '<td class="sync"><span class="bad">out of sync NQZ6, ESZ6</span></td>',
        'data-sync="out_of_sync"',
        "tr.sync-out_of_sync td.sync{background",
        "P&amp;L -1,020.50 / -1,000.00<br>floor 48,000.00 (balance 48,979.50)<br>trades 2/3",
        "liquidate only",
    ):
        assert shown in html, shown
    assert 'data-account="EVAL-3" data-state="liquidate_only" data-sync="none"' in html


def test_status_rows_show_sync_and_risk_headroom() -> None:
    from tradecopier_cli.output import _status_row

    follower = {
        "account_id": "EVAL-1",
        "sync": {"status": "in_sync", "symbols_out_of_sync": []},
        "risk": {"max_trades_per_day": 3},
        "risk_status": {"session_pnl": 250, "trades_today": 1},
        "positions": [],
    }
    row = _status_row(follower)
    assert row[3:7] == ["in sync", "x1", "flat", "P&L +250.00; trades 1/3"]
    drifted = _status_row({**follower, "sync": {"status": "out_of_sync", "symbols_out_of_sync": ["NQZ6"]}})
    assert drifted[3] == "[red]out of sync NQZ6[/]"
    assert _status_row({"account_id": "V1"})[3] == "-" and _status_row({"account_id": "V1"})[6] == "-"


def test_the_board_escapes_what_users_typed() -> None:
    evil = {**V1, "account_id": "<img src=x onerror=alert(1)>"}
    html = render.board(_data(evil))
    assert "<img" not in html and "&lt;img" in html
