"""Admin: groups, followers (with their queues), locks, the copy log and the broker's view."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

from tradecopier.brokers.base import (
    BrokerAccessDenied,
    BrokerError,
    BrokerOrder,
    BrokerPosition,
    BrokerRejected,
    BrokerUnreachable,
)
from tradecopier.brokers.credentials import CredentialsMissing as CredentialsMissingAtBroker
from tradecopier.brokers.credentials import CredentialsStore, StoredCredentials, credentials_store, describe
from tradecopier.brokers.registry import open_broker
from tradecopier.dal.copier import GroupItem, ItemExists, ItemMissing, StoredEvent
from tradecopier.dal.copier.followers import risk_state_values, risk_values
from tradecopier.domain.accounts import (
    Account,
    ConnectionState,
    Follower,
    FollowerSettings,
    Group,
    Leader,
)
from tradecopier.domain.enums import AccountRole, BrokerName
from tradecopier.domain.errors import (
    AccountInUse,
    BrokerUnavailable,
    CredentialsMissing,
    NotFound,
    ProvisioningFailed,
)
from tradecopier.domain.risk.engine import open_state
from tradecopier.domain.risk.presets import Preset, list_presets
from tradecopier.domain.risk.settings import RiskSettings
from tradecopier.fanout.errors import ProvisioningError
from tradecopier.fanout.names import follower_queue_name
from tradecopier.logic.services import AdminServices
from tradecopier.logic.tokens import hash_token, new_token
from tradecopier.observability import MetricName, count, logger

_GROUP_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


def new_group_id() -> str:
    return "g-" + "".join(secrets.choice(_GROUP_ID_ALPHABET) for _ in range(12))


def _account_in_use(account_id: str) -> AccountInUse:
    return AccountInUse(f"account {account_id} already belongs to a group (as leader or follower)")


def create_group(services: AdminServices, name: str, leader: Account) -> tuple[Group, str]:
    """Creates a group; returns it with its webhook token (shown once, stored only as a hash)."""
    require_credentials(services, leader)
    group = Group(
        group_id=new_group_id(), name=name, leader=Leader(**dict(leader)), created_at=services.clock()
    )
    token = new_token()
    try:
        services.store.create_group(group, hash_token(token))
    except ItemExists as error:
        raise _account_in_use(leader.account_id) from error
    return group, token


def load_group(services: AdminServices, group_id: str) -> GroupItem:
    group = services.store.get_group(group_id)
    if group is None:
        raise NotFound(f"group {group_id} does not exist")
    return group


def list_groups(services: AdminServices) -> list[Group]:
    groups = (services.store.get_group(group_id) for group_id in services.store.list_group_ids())
    return [item.group for item in groups if item is not None]


def delete_group(services: AdminServices, group_id: str) -> None:
    group = load_group(services, group_id)
    for follower in group.followers:
        remove_follower(services, group_id, follower.follower.account_id)
    _provision("remove group topics", lambda: services.topics.remove_group_topics(group.topic_arns))
    services.store.delete_group(group)


def rotate_token(services: AdminServices, group_id: str) -> str:
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


def add_follower(
    services: AdminServices, group_id: str, account: Account, settings: FollowerSettings
) -> Follower:
    """Claims the account, then provisions the follower's queue, subscription and mapping.

    The claim comes first, in one transaction with the follower item, so two concurrent requests
    can never both win. Provisioning is resumable: if it fails, the same request again (same
    group and account) completes it instead of answering 409.
    """
    require_credentials(services, account)
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


def get_follower(services: AdminServices, group_id: str, account_id: str) -> Follower:
    group = load_group(services, group_id)
    for item in group.followers:
        if item.follower.account_id == account_id:
            return item.follower
    raise NotFound(f"account {account_id} is not a follower of group {group_id}")


def update_follower(
    services: AdminServices, group_id: str, account_id: str, changes: dict[str, Any]
) -> Follower:
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


def _set_risk(services: AdminServices, group_id: str, account_id: str, risk: RiskSettings | None) -> None:
    """New rules keep the follower's risk state (its session, trades and high-water mark), or start
    one now; ``None`` removes the rules and the state. Raises ItemMissing."""
    first_state = risk_state_values(open_state(risk, services.clock())) if risk else ""
    services.store.set_follower_risk(group_id, account_id, risk_values(risk), first_state)


def risk_presets() -> list[Preset]:
    return list(list_presets())


def remove_follower(services: AdminServices, group_id: str, account_id: str) -> None:
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


def lock_follower(services: AdminServices, group_id: str, account_id: str, reason: str) -> Follower:
    try:
        follower = services.store.lock_follower(group_id, account_id, reason)
    except ItemMissing as error:
        raise NotFound(f"account {account_id} is not a follower of group {group_id}") from error
    count(MetricName.FOLLOWERS_LOCKED)
    return follower


def unlock_follower(services: AdminServices, group_id: str, account_id: str) -> Follower:
    """Copying resumes with the next event; skipped or failed copies are not replayed."""
    try:
        return services.store.unlock_follower(group_id, account_id)
    except ItemMissing as error:
        raise NotFound(f"account {account_id} is not a follower of group {group_id}") from error


def get_event(services: AdminServices, group_id: str, event_id: str) -> StoredEvent:
    load_group(services, group_id)
    stored = services.store.get_event(group_id, event_id)
    if stored is None:
        raise NotFound(f"event {event_id} was not accepted in group {group_id}")
    return stored


def list_events(services: AdminServices, group_id: str, limit: int) -> list[StoredEvent]:
    load_group(services, group_id)
    return services.store.list_events(group_id, limit)


def _account_broker(services: AdminServices, account_id: str) -> Any:
    """The account's adapter: its broker as its group says (leader or follower), else as its
    stored credentials say, else paper."""
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
    else:
        try:
            stored = _credentials(services).find(account_id)
        except BrokerError:  # Secrets Manager down: an unclaimed account reads as paper
            stored = None
        if stored is not None and stored.broker in set(BrokerName):
            broker = BrokerName(stored.broker)
    return broker, open_broker(account_id, broker, simulate, services.settings)


def _from_broker(services: AdminServices, account_id: str, read: Callable[[Any], Any]) -> Any:
    """``read(adapter)``; a real broker that cannot answer (down, or refusing us) is a 502."""
    broker_name = BrokerName.PAPER
    try:
        broker_name, broker = _account_broker(services, account_id)
        return read(broker)
    except BrokerUnreachable as error:
        raise BrokerUnavailable(f"the broker of {account_id} could not be reached: {error}") from None
    except (BrokerRejected, BrokerAccessDenied) as error:
        if not broker_name.is_real:
            raise
        raise BrokerUnavailable(
            f"the {broker_name} broker of {account_id} refused to answer: {error}"
        ) from None
    except Exception as error:
        # A real broker's answer we could not read (or its URL we could not use) is the broker's
        # failure to answer, never our 500; it is logged with the account.
        if not broker_name.is_real:
            raise
        logger.exception("reading the broker failed", extra={"account_id": account_id})
        raise BrokerUnavailable(
            f"the {broker_name} broker of {account_id} gave no usable answer ({type(error).__name__})"
        ) from None


def account_positions(services: AdminServices, account_id: str) -> list[BrokerPosition]:
    positions: list[BrokerPosition] = _from_broker(services, account_id, lambda broker: broker.positions())
    return [position for position in positions if position.qty != 0]


def account_orders(services: AdminServices, account_id: str) -> list[BrokerOrder]:
    return list(_from_broker(services, account_id, lambda broker: broker.orders()))


# --- broker credentials (API.md v2) ------------------------------------------------------------


def _credentials(services: AdminServices) -> CredentialsStore:
    return credentials_store(services.settings.resource_prefix)


def require_credentials(services: AdminServices, account: Account) -> None:
    """A real-broker account needs credentials stored for that broker before it joins a group."""
    if not account.broker.is_real:
        return
    stored = _credentials(services).find(account.account_id)
    if stored is None:
        raise CredentialsMissing(
            f"account {account.account_id} is on {account.broker}: store its credentials first "
            f"(PUT /accounts/{account.account_id}/credentials)"
        )
    if stored.broker != account.broker.value:
        raise CredentialsMissing(
            f"the credentials stored for {account.account_id} are for {stored.broker}, not {account.broker}"
        )


def put_credentials(services: AdminServices, account_id: str, values: dict[str, Any]) -> StoredCredentials:
    stored = _credentials(services).put(account_id, values)
    if stored.broker == BrokerName.TRADOVATE.value and stored.api_url is None:
        from tradecopier.brokers.tradovate.config import rest_url

        return replace(stored, api_url=rest_url(values.get("environment"), None))
    return stored


def get_credentials(services: AdminServices, account_id: str) -> StoredCredentials:
    credentials = _credentials(services).find(account_id)
    if credentials is None:
        raise NotFound(f"no credentials stored for account {account_id}")
    stored = describe(account_id, credentials)
    if stored.broker == BrokerName.TRADOVATE.value and stored.api_url is None:
        from tradecopier.brokers.tradovate.config import rest_url

        return replace(stored, api_url=rest_url(credentials.environment, None))
    return stored


def delete_credentials(services: AdminServices, account_id: str) -> None:
    claim = services.store.get_claim(account_id)
    if claim is not None:
        raise AccountInUse(
            f"account {account_id} is used by group {claim.group_id}: remove it from the group first"
        )
    if not _credentials(services).delete(account_id):
        raise NotFound(f"no credentials stored for account {account_id}")


@dataclass(frozen=True, slots=True)
class ConnectionStatus:
    broker: BrokerName
    status: str
    detail: str | None


def check_connection(services: AdminServices, account_id: str) -> ConnectionStatus:
    """A live check now: log in (cached token or anew) and find the broker account. A real-broker
    account in a group keeps the answer as its last known status (its Follower or Group view)."""
    checked = _check_connection(services, account_id)
    if checked.broker.is_real:
        remember_connection(services, account_id, checked)
    return checked


def remember_connection(services: AdminServices, account_id: str, checked: ConnectionStatus) -> None:
    claim = services.store.get_claim(account_id)
    if claim is None:
        return
    state = ConnectionState(
        status=checked.status,  # type: ignore[arg-type]
        checked_at=services.clock(),
        detail=checked.detail,
    )
    if claim.role is AccountRole.LEADER:
        services.store.record_leader_connection(claim.group_id, state)
    else:
        services.store.record_follower_connection(claim.group_id, account_id, state)


def _check_connection(services: AdminServices, account_id: str) -> ConnectionStatus:
    try:
        broker_name, broker = _account_broker(services, account_id)
    except CredentialsMissingAtBroker as missing:
        return ConnectionStatus(BrokerName.PAPER, "auth_failed", missing.reason)
    except BrokerRejected as rejected:
        return ConnectionStatus(BrokerName.PAPER, "auth_failed", rejected.reason)
    if not broker_name.is_real:
        return ConnectionStatus(broker_name, "simulated", "paper broker: simulated locally")
    check = getattr(broker, "check", None)
    try:
        detail = check() if check is not None else None
    except BrokerAccessDenied as denied:
        return ConnectionStatus(broker_name, denied.code, denied.reason)
    except BrokerUnreachable as unreachable:
        return ConnectionStatus(broker_name, "unreachable", unreachable.reason)
    except BrokerRejected as rejected:
        return ConnectionStatus(broker_name, "auth_failed", rejected.reason)
    return ConnectionStatus(broker_name, "connected", detail)
