"""The alert rate limit in DynamoDB Local, and the executor's lock after its last attempt alerting."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.integration.test_clock import FOLLOWER, GROUP, LATER, _accepted, _delivery, fixed, settings, store
from tradecopier import alerts
from tradecopier.dal.copier import CopierStore
from tradecopier.logic.executor import give_up

__all__ = ["settings", "store"]  # the fixtures, shared with test_clock


def test_the_ledger_lets_one_alert_through_per_interval(store: CopierStore) -> None:
    claims = [
        store.claim_alert("EVAL-1", "follower_locked", LATER + timedelta(seconds=s), 300) for s in (0, 1, 300)
    ]
    assert claims == [True, False, True]
    assert store.claim_alert("EVAL-1", "risk_breach", LATER, 300)
    assert store.claim_alert("EVAL-2", "follower_locked", LATER, 300)


def test_a_follower_locked_after_its_last_attempt_is_alerted_once(
    store: CopierStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    posted: list[tuple[str, dict[str, str]]] = []
    monkeypatch.setenv("ALERT_WEBHOOK_URL", "https://discord.com/api/webhooks/1/abc")
    monkeypatch.setattr(alerts, "_webhook_post", lambda url, payload: posted.append((url, payload)) or 204)
    alerts.alert_settings.cache_clear()
    try:
        accepted = _accepted()
        store.put_event(accepted, [FOLLOWER])
        give_up(RuntimeError("broker down"), _delivery(accepted, attempt=3), store, fixed)
        store.put_event(_accepted("E-2"), [FOLLOWER])
        give_up(RuntimeError("broker down"), _delivery(_accepted("E-2"), attempt=3), store, fixed)
    finally:
        alerts.alert_settings.cache_clear()
    assert len(posted) == 1, posted  # the second lock within the interval is held back
    text = posted[0][1]["content"]
    assert text.startswith(f"{FOLLOWER} locked: copy of event E-1 failed after 3 attempts")
    assert f"[group {GROUP}]" in text and "attempts 3" in text
