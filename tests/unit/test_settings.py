"""Each function's settings: built from its environment, and a missing or invalid variable is refused
at start with an error naming the variable (not a ``KeyError`` or an empty default on first use)."""

from __future__ import annotations

import pytest

from tradecopier.settings import (
    AdminSettings,
    ExecutorSettings,
    IngestSettings,
    Settings,
    SettingsError,
)

INGEST_ENV = {"COPIER_TABLE_NAME": "copier", "EVENT_RETENTION_DAYS": "7"}
EXECUTOR_ENV = {
    "COPIER_TABLE_NAME": "copier",
    "PAPER_TABLE_NAME": "paper",
    "RESOURCE_PREFIX": "stack",
    "FOLLOWER_MAX_RECEIVE_COUNT": "3",
}
ADMIN_ENV = {
    **EXECUTOR_ENV,
    "EXECUTOR_FUNCTION_NAME": "stack-executor",
    "ALERTS_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:alerts",
    "FOLLOWER_QUEUE_VISIBILITY_SECONDS": "45",
    "FOLLOWER_MAX_CONCURRENCY": "4",
}
# Variables of the other functions (and of the rest of the process) are not this function's business.
NOISE = {"POWERTOOLS_SERVICE_NAME": "trade-copier", "LOG_LEVEL": "INFO", "UNRELATED": "x"}


def test_ingest_settings_from_a_valid_environment() -> None:
    settings = IngestSettings.from_env({**INGEST_ENV, **NOISE, "PAPER_TABLE_NAME": "paper"})
    assert settings == IngestSettings(copier_table_name="copier", event_retention_days=7)
    assert settings.max_body_bytes == 16 * 1024


def test_ingest_settings_name_the_missing_table_variable() -> None:
    with pytest.raises(SettingsError, match=r"^IngestSettings: COPIER_TABLE_NAME is not set$"):
        IngestSettings.from_env(NOISE)


def test_executor_settings_from_a_valid_environment() -> None:
    settings = ExecutorSettings.from_env({**EXECUTOR_ENV, **NOISE})
    assert settings == ExecutorSettings(
        copier_table_name="copier",
        paper_table_name="paper",
        resource_prefix="stack",
        follower_max_receive_count=3,
    )
    assert settings.event_retention_days == 30


def test_executor_settings_name_every_missing_variable() -> None:
    env = {key: value for key, value in EXECUTOR_ENV.items() if key != "RESOURCE_PREFIX"}
    with pytest.raises(SettingsError, match=r"^ExecutorSettings: RESOURCE_PREFIX is not set$"):
        ExecutorSettings.from_env(env)
    with pytest.raises(SettingsError) as raised:
        ExecutorSettings.from_env({})
    assert str(raised.value) == (
        "ExecutorSettings: COPIER_TABLE_NAME is not set; PAPER_TABLE_NAME is not set; "
        "RESOURCE_PREFIX is not set"
    )


def test_admin_settings_from_a_valid_environment() -> None:
    settings = AdminSettings.from_env({**ADMIN_ENV, **NOISE})
    assert settings == AdminSettings(
        copier_table_name="copier",
        paper_table_name="paper",
        resource_prefix="stack",
        executor_function_name="stack-executor",
        alerts_topic_arn="arn:aws:sns:us-east-1:123456789012:alerts",
        follower_queue_visibility_seconds=45,
        follower_max_receive_count=3,
        follower_max_concurrency=4,
    )


def test_admin_settings_name_the_missing_executor_function() -> None:
    env = {key: value for key, value in ADMIN_ENV.items() if key != "EXECUTOR_FUNCTION_NAME"}
    with pytest.raises(SettingsError, match=r"^AdminSettings: EXECUTOR_FUNCTION_NAME is not set$"):
        AdminSettings.from_env(env)


def test_admin_settings_without_an_alerts_topic_mean_no_dlq_alarms() -> None:
    env = {key: value for key, value in ADMIN_ENV.items() if key != "ALERTS_TOPIC_ARN"}
    assert AdminSettings.from_env(env).alerts_topic_arn is None


def test_an_out_of_range_value_is_refused_naming_the_variable_and_the_value() -> None:
    with pytest.raises(SettingsError, match=r"^AdminSettings: FOLLOWER_MAX_CONCURRENCY='1': .*greater than"):
        AdminSettings.from_env({**ADMIN_ENV, "FOLLOWER_MAX_CONCURRENCY": "1"})


def test_each_function_reads_only_its_own_fields() -> None:
    base = set(Settings.model_fields)
    assert set(IngestSettings.model_fields) == base | {"max_body_bytes"}
    assert set(ExecutorSettings.model_fields) == base | {
        "paper_table_name",
        "resource_prefix",
        "follower_max_receive_count",
        "broker_token_key_id",
        "alerts_topic_arn",  # the lock after the last attempt alerts (tradecopier.alerts)
        "alert_webhook_url",
        "alert_min_interval_seconds",
    }
    assert set(AdminSettings.model_fields) > set(ExecutorSettings.model_fields) | {"max_body_bytes"}


def test_settings_are_frozen_and_refuse_unknown_fields() -> None:
    settings = IngestSettings(copier_table_name="copier")
    with pytest.raises(ValueError, match="frozen"):
        settings.copier_table_name = "other"  # type: ignore[misc]
    with pytest.raises(ValueError, match="paper_table_name"):
        IngestSettings(copier_table_name="copier", paper_table_name="paper")  # type: ignore[call-arg]
