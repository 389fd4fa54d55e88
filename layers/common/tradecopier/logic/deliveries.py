"""From an SQS record of a follower queue to a copy: the executor's record handler."""

from __future__ import annotations

from collections.abc import Callable

from tradecopier.brokers.base import BrokerAccount
from tradecopier.brokers.registry import open_broker
from tradecopier.domain.accounts import Follower
from tradecopier.domain.events import AcceptedEvent
from tradecopier.logic.executor import CopyDeferred, CopyRetry, Delivery, copy_event, give_up, no_deadline
from tradecopier.logic.risk import starting_balance
from tradecopier.logic.services import Services, executor_services
from tradecopier.logic.sqs_batch import SqsRecord
from tradecopier.observability import logger
from tradecopier.settings import ExecutorSettings

# Set on a copy sent again by home mode's restart (devstack.restore): its first SQS delivery may
# not be its first try, so the executor asks the broker before it trusts a "stale" or "at target".
REDRIVEN_ATTRIBUTE = "redriven"

# queue name → (group_id, account_id). A queue's owner never changes (its name is derived from
# both), so the lookup is cached for the life of the execution environment.
_queue_owners: dict[str, tuple[str, str]] = {}


def _queue_owner(services: Services[ExecutorSettings], queue_arn: str) -> tuple[str, str] | None:
    queue_name = queue_arn.rsplit(":", 1)[-1]
    owner = _queue_owners.get(queue_name)
    if owner is None:
        owner = services.store.queue_owner(queue_name)
        if owner is not None:
            _queue_owners[queue_name] = owner
    return owner


def copy_record(record: SqsRecord, remaining_s: Callable[[], float] = no_deadline) -> None:
    """Copies one delivered event. Raising makes SQS deliver it (and the rest of the batch) again;
    when the broker asked for a longer wait, no earlier than it asked. ``remaining_s``: the seconds
    left in the invocation (the executor sleeps a short broker wait inline only within them)."""
    services = executor_services()
    accepted = AcceptedEvent.model_validate_json(record.body)
    logger.set_correlation_id(accepted.event.event_id)
    owner = _queue_owner(services, record.event_source_arn)
    if owner is None:
        logger.warning(
            "queue has no follower any more (removed); dropping", extra={"queue": record.event_source_arn}
        )
        return
    group_id, account_id = owner
    logger.append_keys(group_id=group_id, account_id=account_id, event_type=accepted.event.type)
    delivery = Delivery(
        group_id=group_id,
        account_id=account_id,
        accepted=accepted,
        attempt=record.approximate_receive_count,
        max_attempts=services.settings.follower_max_receive_count,
        remaining_s=remaining_s,
        redriven=record.string_attribute(REDRIVEN_ATTRIBUTE) == "true",
    )

    def broker_for(follower: Follower) -> BrokerAccount:
        balance = starting_balance(follower)
        if balance is None:  # no rules: the broker as before
            return open_broker(follower.account_id, follower.broker, follower.simulate, services.settings)
        return open_broker(
            follower.account_id, follower.broker, follower.simulate, services.settings, balance
        )

    try:
        copy_event(delivery, store=services.store, open_broker=broker_for, clock=services.clock)
    except CopyDeferred as deferred:
        from tradecopier.fanout.redelivery import come_back_after

        come_back_after(record.event_source_arn, record.receipt_handle, deferred.retry_after)
        raise
    except CopyRetry:
        raise
    except Exception as error:
        if not delivery.is_last_attempt:
            raise
        give_up(error, delivery, services.store, services.clock)
