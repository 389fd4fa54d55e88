"""Alerts a trader reads on a phone: one short line (account, what happened, the figures) to the
stack's alerts topic (e-mail) and to an optional chat webhook (Discord or Slack), at most one per
account and kind per interval, so a flapping connection does not flood anyone.

One call: ``notify(Alert(AlertKind.FOLLOWER_LOCKED, "EVAL-1", "broker unreachable", {...}), ledger=store)``.
It never raises (an alert must not break the copy path that sends it) and returns whether anything
went out. Nothing secret goes in: figures whose name sounds secret are dropped, and credentials-like
words in the reason are masked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any, Protocol
from urllib.parse import urlparse

from tradecopier.clock import Clock, utc_now
from tradecopier.observability import logger
from tradecopier.settings import AlertSettings

MAX_CHARS = 300
WEBHOOK_TIMEOUT_SECONDS = 3.0


class AlertKind(StrEnum):
    FOLLOWER_LOCKED = "follower_locked"
    FOLLOWER_LIQUIDATED = "follower_liquidated"
    RISK_BREACH = "risk_breach"
    OUT_OF_SYNC = "out_of_sync"
    BROKER_DISCONNECTED = "broker_disconnected"
    LEADER_DISCONNECTED = "leader_disconnected"
    FOLLOWER_UNLOCKED = "follower_unlocked"


TITLES = {
    AlertKind.FOLLOWER_LOCKED: "locked",
    AlertKind.FOLLOWER_LIQUIDATED: "liquidated",
    AlertKind.RISK_BREACH: "risk breach",
    AlertKind.OUT_OF_SYNC: "out of sync",
    AlertKind.BROKER_DISCONNECTED: "broker disconnected",
    AlertKind.LEADER_DISCONNECTED: "leader stream disconnected",
    AlertKind.FOLLOWER_UNLOCKED: "unlocked",
}
_SECRET_NAME = re.compile(r"(?i)token|password|secret|api_?key|\bsec\b|credential|authorization|cookie")
_SECRET_VALUE = re.compile(r"(?i)(bearer\s+|(?:token|password|api_?key|secret|sec)\s*[=:]\s*)[^\s,;)]+")


@dataclass(frozen=True)
class Alert:
    kind: AlertKind
    account_id: str
    reason: str
    figures: Mapping[str, Any] = field(default_factory=dict)
    group_id: str | None = None


class AlertLedger(Protocol):
    """Where sent alerts are remembered (``CopierStore.claim_alert``)."""

    def claim_alert(self, account_id: str, kind: str, now: datetime, min_interval_seconds: int) -> bool: ...


def message(alert: Alert) -> str:
    """``EVAL-1 locked: broker unreachable (event L-42, attempts 5) [group g-1]``, at most 300 chars."""
    figures = ", ".join(f"{k} {v}" for k, v in alert.figures.items() if not _SECRET_NAME.search(k))
    text = f"{alert.account_id} {TITLES[alert.kind]}: {alert.reason}"
    if figures:
        text += f" ({figures})"
    if alert.group_id:
        text += f" [group {alert.group_id}]"
    text = _SECRET_VALUE.sub(r"\1***", " ".join(text.split()))
    return text if len(text) <= MAX_CHARS else text[: MAX_CHARS - 1] + "…"


def chat_payload(webhook_url: str, text: str) -> dict[str, str]:
    """Discord's webhook takes ``content``, Slack's ``text``; an unknown host gets both."""
    host = (urlparse(webhook_url).hostname or "").lower()
    if host.endswith(("discord.com", "discordapp.com")):
        return {"content": text}
    if host.endswith("slack.com"):
        return {"text": text}
    return {"text": text, "content": text}


@lru_cache(maxsize=1)
def alert_settings() -> AlertSettings:
    return AlertSettings.from_env()


def notify(
    alert: Alert,
    *,
    ledger: AlertLedger,
    clock: Clock = utc_now,
    settings: AlertSettings | None = None,
    publish: Callable[[str, str, str], None] | None = None,
    post: Callable[[str, dict[str, str]], int] | None = None,
) -> bool:
    """Sends the alert where the settings say, unless one of its kind went out for the account lately."""
    try:
        settings = settings or alert_settings()
        if not (settings.alerts_topic_arn or settings.alert_webhook_url):
            return False
        if not _claimed(ledger, alert, clock(), settings.alert_min_interval_seconds):
            logger.info(
                "alert rate-limited", extra={"alert": alert.kind.value, "account_id": alert.account_id}
            )
            return False
        return _send(alert, settings, publish or _sns_publish, post or _webhook_post)
    except Exception:  # an alert never breaks what sends it
        logger.exception("alert not sent", extra={"alert": alert.kind.value, "account_id": alert.account_id})
        return False


def _claimed(ledger: AlertLedger, alert: Alert, now: datetime, interval: int) -> bool:
    try:
        return ledger.claim_alert(alert.account_id, alert.kind.value, now, interval)
    except Exception:  # the ledger down: better one alert too many than a silent lock
        logger.exception("alert ledger unavailable; sending anyway")
        return True


def _send(
    alert: Alert,
    settings: AlertSettings,
    publish: Callable[[str, str, str], None],
    post: Callable[[str, dict[str, str]], int],
) -> bool:
    text = message(alert)
    sent = False
    if settings.alerts_topic_arn:
        subject = f"Trade copier: {alert.account_id} {TITLES[alert.kind]}"[:100]
        try:
            publish(settings.alerts_topic_arn, subject, text)
            sent = True
        except Exception:
            logger.exception("alert not published to the topic")
    if settings.alert_webhook_url:
        try:
            status = post(settings.alert_webhook_url, chat_payload(settings.alert_webhook_url, text))
            sent = sent or 200 <= status < 300
            if not 200 <= status < 300:
                logger.warning("chat webhook refused the alert", extra={"status": status})
        except Exception:
            logger.exception("alert not posted to the chat webhook")
    return sent


def _sns_publish(topic_arn: str, subject: str, text: str) -> None:
    from tradecopier import aws

    aws.client("sns").publish(TopicArn=topic_arn, Subject=subject, Message=text)


def _webhook_post(url: str, payload: dict[str, str]) -> int:
    import urllib3

    resp = urllib3.request(
        "POST",
        url,
        body=json.dumps(payload).encode("utf-8"),
        headers={"content-type": "application/json"},
        timeout=WEBHOOK_TIMEOUT_SECONDS,
        retries=False,
    )
    return int(resp.status)
