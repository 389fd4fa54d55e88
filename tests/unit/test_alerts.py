"""tradecopier.alerts: the message a trader reads, the chat formats, the rate limit, never a raise."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tradecopier.alerts import Alert, AlertKind, chat_payload, message, notify
from tradecopier.settings import AlertSettings

NOW = datetime(2031, 3, 4, 14, 30, tzinfo=UTC)
TOPIC = "arn:aws:sns:us-east-1:123456789012:copier-AlertsTopic"


class MemoryLedger:
    """claim_alert as CopierStore's: one per account+kind per interval."""

    def __init__(self) -> None:
        self.sent: dict[tuple[str, str], datetime] = {}

    def claim_alert(self, account_id: str, kind: str, now: datetime, min_interval_seconds: int) -> bool:
        last = self.sent.get((account_id, kind))
        if last is not None and last > now - timedelta(seconds=min_interval_seconds):
            return False
        self.sent[(account_id, kind)] = now
        return True


class Outbox:
    def __init__(self) -> None:
        self.published: list[tuple[str, str, str]] = []
        self.posted: list[tuple[str, dict[str, str]]] = []

    def publish(self, topic: str, subject: str, text: str) -> None:
        self.published.append((topic, subject, text))

    def post(self, url: str, payload: dict[str, str]) -> int:
        self.posted.append((url, payload))
        return 204


def _locked(account: str = "EVAL-1", **figures: Any) -> Alert:
    return Alert(AlertKind.FOLLOWER_LOCKED, account, "broker unreachable after retries", figures, "g-1")


def test_the_message_names_account_reason_figures_and_group() -> None:
    text = message(_locked(event="L-42", attempts=5))
    assert text == "EVAL-1 locked: broker unreachable after retries (event L-42, attempts 5) [group g-1]"


def test_the_message_never_carries_a_secret() -> None:
    alert = Alert(
        AlertKind.BROKER_DISCONNECTED,
        "EVAL-1",
        "login failed: password=hunter2 token: abc.def Bearer eyJhbGciOi",
        {"api_key": "K-123", "webhook_token": "T-9", "balance": "48,980.00"},
    )
    text = message(alert)
    for secret in ("hunter2", "abc.def", "eyJhbGciOi", "K-123", "T-9"):
        assert secret not in text
    assert "balance 48,980.00" in text and "broker disconnected" in text


def test_a_long_message_is_cut_to_one_short_line() -> None:
    text = message(Alert(AlertKind.RISK_BREACH, "EVAL-1", "x " * 400 + "\nsecond line"))
    assert len(text) == 300 and "\n" not in text


@pytest.mark.parametrize(
    ("url", "payload"),
    [
        ("https://discord.com/api/webhooks/1/abc", {"content": "hi"}),
        ("https://hooks.slack.com/services/T/B/X", {"text": "hi"}),
        ("https://chat.example.com/hook", {"text": "hi", "content": "hi"}),
    ],
)
def test_chat_payload_speaks_discord_and_slack(url: str, payload: dict[str, str]) -> None:
    assert chat_payload(url, "hi") == payload


def test_a_flapping_connection_alerts_once_per_interval() -> None:
    ledger, outbox = MemoryLedger(), Outbox()
    settings = AlertSettings(alerts_topic_arn=TOPIC, alert_webhook_url="https://hooks.slack.com/x")
    sent = [
        notify(
            _locked(),
            ledger=ledger,
            clock=lambda t=t: NOW + timedelta(seconds=t),
            settings=settings,
            publish=outbox.publish,
            post=outbox.post,
        )
        for t in (0, 10, 60, 299, 301)
    ]
    assert sent == [True, False, False, False, True]
    assert len(outbox.published) == 2 and len(outbox.posted) == 2
    topic, subject, text = outbox.published[0]
    assert (topic, subject) == (TOPIC, "Trade copier: EVAL-1 locked") and text.startswith("EVAL-1 locked")
    assert outbox.posted[0] == ("https://hooks.slack.com/x", {"text": text})
    # another account, or another kind, is not held back by the first
    assert notify(
        _locked("EVAL-2"),
        ledger=ledger,
        clock=lambda: NOW,
        settings=settings,
        publish=outbox.publish,
        post=outbox.post,
    )


def test_nowhere_to_send_sends_nothing_and_claims_nothing() -> None:
    ledger = MemoryLedger()
    assert not notify(_locked(), ledger=ledger, clock=lambda: NOW, settings=AlertSettings())
    assert ledger.sent == {}


def test_a_failing_destination_never_raises() -> None:
    def broken(*_: Any) -> Any:
        raise ConnectionError("down")

    settings = AlertSettings(alerts_topic_arn=TOPIC, alert_webhook_url="https://discord.com/api/webhooks/1/a")
    assert not notify(
        _locked(), ledger=MemoryLedger(), clock=lambda: NOW, settings=settings, publish=broken, post=broken
    )


def test_empty_settings_values_mean_none() -> None:
    settings = AlertSettings.from_env({"ALERTS_TOPIC_ARN": "", "ALERT_WEBHOOK_URL": ""})
    assert (settings.alerts_topic_arn, settings.alert_webhook_url) == (None, None)
