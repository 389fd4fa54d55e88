"""Admin: groups, followers (with their queues), locks, the copy log and the broker's view."""

from __future__ import annotations

import secrets
from dataclasses import asdict
from typing import Any

from tradecopier.brokers.base import BrokerOrder, BrokerPosition
from tradecopier.brokers.registry import open_broker
from tradecopier.dal.copier import GroupItem, ItemExists, ItemMissing, StoredEvent
from tradecopier.dal.copier.followers import risk_state_values, risk_values
from tradecopier.domain.accounts import Account, Follower, FollowerSettings, Group
from tradecopier.domain.enums import BrokerName
from tradecopier.domain.errors import AccountInUse, NotFound, ProvisioningFailed
from tradecopier.domain.risk.engine import open_state
from tradecopier.domain.risk.presets import Preset, list_presets
from tradecopier.domain.risk.settings import RiskSettings
from tradecopier.fanout.errors import ProvisioningError
from tradecopier.fanout.names import follower_queue_name
from tradecopier.logic.services import Services
from tradecopier.logic.tokens import hash_token, new_token
from tradecopier.observability import MetricName, count, logger

_GROUP_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


def new_group_id() -> str:
    return "g-" + "".join(secrets.choice(_GROUP_ID_ALPHABET) for _ in range(12))


def _account_in_use(account_id: str) -> AccountInUse:
    return AccountInUse(f"account {account_id} already belongs to a group (as leader or follower)")


def create_group(services: Services, name: str, leader: Account) -> tuple[Group, str]:
    """Creates a group; returns it with its webhook token (shown once, stored only as a hash)."""
    group = Group(group_id=new_group_id(), name=name, leader=leader, created_at=services.clock())
    token = new_token()
    try:
        services.store.create_group(group, hash_token(token))
    except ItemExists as error:
        raise _account_in_use(leader.account_id) from error
    return group, token


def load_group(services: Services, group_id: str) -> GroupItem:
    group = services.store.get_group(group_id)
    if group is None:
        raise NotFound(f"group {group_id} does not exist")
    return group


def list_groups(services: Services) -> list[Group]:
    groups = (services.store.get_group(group_id) for group_id in services.store.list_group_ids())
    return [item.group for item in groups if item is not None]


def delete_group(services: Services, group_id: str) -> None:
    group = load_group(services, group_id)
    for follower in group.followers:
        remove_follower(services, group_id, follower.follower.account_id)
    _provision("remove group topics", lambda: services.topics.remove_group_topics(group.topic_arns))
    services.store.delete_group(group)


def rotate_token(services: Services, group_id: str) -> str:
    token = new_token()
    try:
        services.store.set_token_hash(group_id, hash_token(token))
    except ItemMissing as error:
        raise NotFound(f"group {group_id} does not exist") from error
    return token


def _provision(step: str, action: Any) -> Any:
    try:
        return action()
    except ProvisioningError as error:
        logger.error("provisioning failed", extra={"step": step, "error": str(error)})
        raise ProvisioningFailed(
            f"could not {step}: {error}; calling again resumes where it stopped"
        ) from error


def add_follower(services: Services, group_id: str, account: Account, settings: FollowerSettings) -> Follower:
    """Claims the account, then provisions the follower's queue, subscription and mapping.

    The claim comes first, in one transaction with the follower item, so two concurrent requests
    can never both win. Provisioning is resumable: if it fails, the same request again (same
    group and account) completes it instead of answering 409.
    """
    follower = Follower(
        account_id=account.account_id,
        broker=account.broker,
        **settings.model_dump(exclude={"risk"}),
        risk=settings.risk,
        risk_state=open_state(settings.risk, services.clock()) if settings.risk else None,
    )
    store = services.store
    try:
        store.create_follower(group_id, follower)
    except ItemMissing as error:
        raise NotFound(f"group {group_id} does not exist") from error
    except ItemExists as error:
        existing = load_group(services, group_id)
        unfinished = next(
            (
                item
                for item in existing.followers
                if item.follower.account_id == account.account_id and not item.provisioned
            ),
            None,
        )
        if unfinished is None:
            raise _account_in_use(account.account_id) from error
        store.update_follower_settings(group_id, account.account_id, _settings_values(settings))
        _set_risk(services, group_id, account.account_id, settings.risk)
    group = load_group(services, group_id)
    topic = _provision(
        "choose the group topic",
        lambda: services.topics.choose_topic_for_new_follower(group_id, group.topic_arns),
    )
    if topic.topic_arn not in group.topic_arns:
        store.set_topic_arns(group_id, [*group.topic_arns, topic.topic_arn])
    resources = _provision(
        "provision the follower queue",
        lambda: services.followers.ensure_follower(group_id, account.account_id, topic.topic_arn),
    )
    store.mark_provisioned(
        group_id,
        account.account_id,
        follower_queue_name(services.settings.resource_prefix, group_id, account.account_id),
        {key: str(value) for key, value in asdict(resources).items()},
    )
    return get_follower(services, group_id, account.account_id)


def _settings_values(settings: FollowerSettings) -> dict[str, Any]:
    values = settings.model_dump(mode="python", exclude={"risk"})
    return {key: (value.value if hasattr(value, "value") else value) for key, value in values.items()}


def get_follower(services: Services, group_id: str, account_id: str) -> Follower:
    group = load_group(services, group_id)
    for item in group.followers:
        if item.follower.account_id == account_id:
            return item.follower
    raise NotFound(f"account {account_id} is not a follower of group {group_id}")


def update_follower(services: Services, group_id: str, account_id: str, changes: dict[str, Any]) -> Follower:
    """Applies the fields the request named (``None`` clears ``max_qty`` / ``simulate``)."""
    changes = dict(changes)
    try:
        if "risk" in changes:
            _set_risk(services, group_id, account_id, changes.pop("risk"))
        if not changes:
            return get_follower(services, group_id, account_id)
        values = {key: (value.value if hasattr(value, "value") else value) for key, value in changes.items()}
        return services.store.update_follower_settings(group_id, account_id, values)
    except ItemMissing as error:
        raise NotFound(f"account {account_id} is not a follower of group {group_id}") from error


def _set_risk(services: Services, group_id: str, account_id: str, risk: RiskSettings | None) -> None:
    """New rules keep the follower's risk state (its session, trades and high-water mark), or start
    one now; ``None`` removes the rules and the state. Raises ItemMissing."""
    first_state = risk_state_values(open_state(risk, services.clock())) if risk else ""
    services.store.set_follower_risk(group_id, account_id, risk_values(risk), first_state)


def risk_presets() -> list[Preset]:
    return list(list_presets())


def remove_follower(services: Services, group_id: str, account_id: str) -> None:
    """Tears down the mapping, subscription and queues, then releases the account.

    Deliveries stop first; copies still pending for this follower are then marked skipped, so the
    copy log never shows a copy that will not come.
    """
    get_follower(services, group_id, account_id)
    _provision("remove the follower queue", lambda: services.followers.remove_follower(group_id, account_id))
    queue_name = follower_queue_name(services.settings.resource_prefix, group_id, account_id)
    services.store.delete_follower(group_id, account_id, queue_name)
    services.store.skip_pending_copies_of_removed(
        group_id, account_id, "follower was removed from the group before this copy"
    )


def lock_follower(services: Services, group_id: str, account_id: str, reason: str) -> Follower:
    try:
        follower = services.store.lock_follower(group_id, account_id, reason)
    except ItemMissing as error:
        raise NotFound(f"account {account_id} is not a follower of group {group_id}") from error
    count(MetricName.FOLLOWERS_LOCKED)
    return follower


def unlock_follower(services: Services, group_id: str, account_id: str) -> Follower:
    """Copying resumes with the next event; skipped or failed copies are not replayed."""
    try:
        return services.store.unlock_follower(group_id, account_id)
    except ItemMissing as error:
        raise NotFound(f"account {account_id} is not a follower of group {group_id}") from error


def get_event(services: Services, group_id: str, event_id: str) -> StoredEvent:
    load_group(services, group_id)
    stored = services.store.get_event(group_id, event_id)
    if stored is None:
        raise NotFound(f"event {event_id} was not accepted in group {group_id}")
    return stored


def list_events(services: Services, group_id: str, limit: int) -> list[StoredEvent]:
    load_group(services, group_id)
    return services.store.list_events(group_id, limit)


def _account_broker(services: Services, account_id: str) -> Any:
    claim = services.store.get_claim(account_id)
    broker, simulate = BrokerName.PAPER, None
    if claim is not None:
        group = services.store.get_group(claim.group_id)
        if group is not None and group.group.leader.account_id == account_id:
            broker = group.group.leader.broker
        elif group is not None:
            follower = next(
                (f.follower for f in group.followers if f.follower.account_id == account_id), None
            )
            if follower is not None:
                broker, simulate = follower.broker, follower.simulate
    return open_broker(account_id, broker, simulate, services.settings)


def account_positions(services: Services, account_id: str) -> list[BrokerPosition]:
    return [position for position in _account_broker(services, account_id).positions() if position.qty != 0]


def account_orders(services: Services, account_id: str) -> list[BrokerOrder]:
    return list(_account_broker(services, account_id).orders())
