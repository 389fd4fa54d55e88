"""Broker credentials, read from AWS Secrets Manager (for the real adapters; paper needs none).

One secret per follower account, named ``{settings.resource_prefix}/brokers/{account_id}``: a JSON
object whose keys are the fields of ``BrokerCredentials``, e.g.
``{"username": "...", "password": "...", "app_id": "...", "client_id": "...", "api_secret": "..."}``.
Secret names may not hold ':', which account ids may: it is written '+', which account ids
cannot hold, so two accounts never share a secret.

- Read on first use and cached per execution environment for ``ttl_seconds`` (default 5 minutes):
  the hot path makes no Secrets Manager call, and a rotated secret is picked up within the TTL
  without a redeploy. ``forget`` drops an entry at once (an adapter calls it after the broker
  refused the credentials). If Secrets Manager cannot be reached when an entry has expired, the
  expired value is served rather than failing a copy on credentials that were valid a moment ago.
- Never in environment variables (nothing here reads or writes ``os.environ``) and never in logs:
  values are ``SecretStr`` (shown as ``**********``), errors name the secret but never its content,
  and botocore's DEBUG log of the response body is dropped for the call that carries it.
- Errors are the broker errors the executor already handles: no secret or an unusable one is
  ``BrokerRejected`` (retrying cannot help); Secrets Manager unreachable is ``BrokerUnreachable``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Annotated, Any, Protocol, Self, cast

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, BeforeValidator, ConfigDict, SecretStr, ValidationError, model_validator

from tradecopier import aws
from tradecopier.brokers.base import BrokerRejected, BrokerUnreachable
from tradecopier.settings import BrokerSettings

DEFAULT_TTL_SECONDS = 300.0

_NOT_FOUND = frozenset({"ResourceNotFoundException"})
_UNUSABLE = frozenset({"DecryptionFailure", "InvalidRequestException", "InvalidParameterException"})


def _text(value: Any) -> Any:
    """Tradovate's ``cid`` is a number in the official examples and a string in the spec."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


SecretText = Annotated[SecretStr, BeforeValidator(_text)]

_SECRET_FIELDS = ("username", "password", "api_key", "api_secret", "client_id", "cid", "sec")


class BrokerCredentials(BaseModel):
    """What a broker adapter logs in with. Unknown keys are refused (a typo is an error).

    ``PUT /accounts/{id}/credentials`` stores the request's fields (API.md) plus ``stored_at``;
    the older generic names (``api_secret``, ``client_id``) are still read."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    broker: str | None = None  # tradovate | projectx
    broker_account: str | None = None  # the broker's account name (or numeric id)
    environment: str | None = None  # Tradovate demo | live
    api_url: str | None = None  # REST base (Tradovate .../v1; ProjectX gateway)
    ws_url: str | None = None  # Tradovate user websocket
    rtc_url: str | None = None  # ProjectX user hub
    device_id: str | None = None  # Tradovate deviceId (not a secret)
    stored_at: str | None = None
    username: SecretStr | None = None  # Tradovate name, ProjectX userName
    password: SecretStr | None = None  # Tradovate password
    api_key: SecretStr | None = None  # ProjectX apiKey, Alpaca APCA-API-KEY-ID
    api_secret: SecretStr | None = None  # Alpaca APCA-API-SECRET-KEY (older name of Tradovate sec)
    client_id: SecretText | None = None  # older name of Tradovate cid
    cid: SecretText | None = None  # Tradovate API key id
    sec: SecretStr | None = None  # Tradovate API secret
    app_id: str | None = None  # Tradovate appId (not a secret)
    app_version: str | None = None  # Tradovate appVersion (not a secret)

    @model_validator(mode="after")
    def _has_a_secret(self) -> Self:
        if not any(getattr(self, name) for name in _SECRET_FIELDS):
            raise ValueError("the secret holds no credential")
        return self


@dataclass(frozen=True, slots=True)
class StoredCredentials:
    """What may be shown of stored credentials (API.md): never a secret field."""

    account_id: str
    broker: str
    broker_account: str
    api_url: str | None
    stored_at: str


class CredentialsMissing(BrokerRejected):
    """No secret for this account: an operator has to create it."""


class CredentialsInvalid(BrokerRejected):
    """The secret exists but is not a JSON object of ``BrokerCredentials`` fields."""


class CredentialsUnavailable(BrokerUnreachable):
    """Secrets Manager could not be reached or refused the call for now (throttling, network)."""


class SecretsClient(Protocol):
    def get_secret_value(self, *, SecretId: str) -> Mapping[str, Any]: ...


class SecretsWriter(SecretsClient, Protocol):
    def create_secret(self, *, Name: str, SecretString: str) -> Mapping[str, Any]: ...
    def put_secret_value(self, *, SecretId: str, SecretString: str) -> Mapping[str, Any]: ...
    def delete_secret(self, *, SecretId: str, ForceDeleteWithoutRecovery: bool) -> Mapping[str, Any]: ...


def secret_name(prefix: str, account_id: str) -> str:
    return f"{prefix}/brokers/{account_id.replace(':', '+')}"


# --- keeping the value out of logs -----------------------------------------------------------

_fetching = threading.local()


class _DropWhileFetching(logging.Filter):
    """botocore logs every request and response body at DEBUG; those that carry a secret must not be."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(_fetching, "active", False)


_FILTER = _DropWhileFetching()
_QUIET_LOGGERS = ("botocore.parsers", "botocore.endpoint", "botocore.hooks", "urllib3.connectionpool")
for _name in _QUIET_LOGGERS:
    if _FILTER not in logging.getLogger(_name).filters:
        logging.getLogger(_name).addFilter(_FILTER)


@contextmanager
def _unlogged() -> Iterator[None]:
    _fetching.active = True
    try:
        yield
    finally:
        _fetching.active = False


unlogged = _unlogged
"""Around any AWS call whose request or response carries a secret (a KMS-sealed broker token too)."""


# --- the store -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Entry:
    credentials: BrokerCredentials
    expires_at: float


class CredentialsStore:
    """Credentials of every account under one resource prefix, cached for ``ttl_seconds``."""

    def __init__(
        self,
        prefix: str,
        *,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        client: SecretsClient | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.prefix = prefix
        self.ttl_seconds = ttl_seconds
        self._client = client
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def secret_name(self, account_id: str) -> str:
        return secret_name(self.prefix, account_id)

    def get(self, account_id: str, *, fresh: bool = False) -> BrokerCredentials:
        """The account's credentials (cached for the TTL; ``fresh`` reads the secret now)."""
        now = self._clock()
        with self._lock:
            entry = self._entries.get(account_id)
        if entry is not None and now < entry.expires_at and not fresh:
            return entry.credentials
        try:
            credentials = self._fetch(account_id)
        except CredentialsUnavailable:
            if entry is not None:  # expired, but Secrets Manager is down: better than no copy
                from tradecopier.observability import logger

                logger.warning(
                    "secrets manager unavailable; using expired credentials", extra={"account_id": account_id}
                )
                return entry.credentials
            raise
        with self._lock:
            self._entries[account_id] = _Entry(credentials, self._clock() + self.ttl_seconds)
        return credentials

    def forget(self, account_id: str | None = None) -> None:
        """Drops one account's cached credentials (or all): the next ``get`` reads the secret."""
        with self._lock:
            if account_id is None:
                self._entries.clear()
            else:
                self._entries.pop(account_id, None)

    def find(self, account_id: str) -> BrokerCredentials | None:
        """The stored credentials read now, or None when the account has none."""
        try:
            return self.get(account_id, fresh=True)
        except CredentialsMissing:
            return None

    def put(self, account_id: str, values: Mapping[str, Any]) -> StoredCredentials:
        """Stores ``values`` (the request's fields; secrets as plain text) with ``stored_at`` now,
        replacing what was there. Validated first: nothing is written if they are unusable."""
        stored_at = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        document = {key: value for key, value in values.items() if value is not None}
        document["stored_at"] = stored_at
        name = self.secret_name(account_id)
        credentials = _parse(name, json.dumps(document))
        text = json.dumps(document)
        client = self._writer()
        try:
            try:
                with _unlogged():  # botocore's DEBUG log of the request body carries the secret
                    client.create_secret(Name=name, SecretString=text)
            except ClientError as error:
                if aws.error_code(error) != "ResourceExistsException":
                    raise
                with _unlogged():
                    client.put_secret_value(SecretId=name, SecretString=text)
        except ClientError as error:
            raise CredentialsUnavailable(
                f"secrets manager: {aws.error_code(error) or 'error'} writing {name}"
            ) from None
        except BotoCoreError as error:
            raise CredentialsUnavailable(
                f"secrets manager unreachable writing {name}: {type(error).__name__}"
            ) from None
        self.forget(account_id)
        return describe(account_id, credentials)

    def delete(self, account_id: str) -> bool:
        """Deletes the account's secret at once (no recovery window, so a new PUT works now).
        False when there was none."""
        name = self.secret_name(account_id)
        # A forced delete of a secret that does not exist succeeds silently (AWS and moto alike).
        if self.find(account_id) is None:
            return False
        self.forget(account_id)
        try:
            self._writer().delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
        except ClientError as error:
            if aws.error_code(error) in _NOT_FOUND:
                return False
            raise CredentialsUnavailable(
                f"secrets manager: {aws.error_code(error) or 'error'} deleting {name}"
            ) from None
        except BotoCoreError as error:
            raise CredentialsUnavailable(
                f"secrets manager unreachable deleting {name}: {type(error).__name__}"
            ) from None
        return True

    def _writer(self) -> SecretsWriter:
        return cast(SecretsWriter, self._client or aws.client("secretsmanager"))

    def _fetch(self, account_id: str) -> BrokerCredentials:
        name = self.secret_name(account_id)
        client = self._client or cast(SecretsClient, aws.client("secretsmanager"))
        try:
            with _unlogged():
                response = client.get_secret_value(SecretId=name)
        except ClientError as error:
            code = aws.error_code(error)
            if code in _NOT_FOUND:
                raise CredentialsMissing(f"no broker credentials: secret {name} does not exist") from None
            if code in _UNUSABLE:
                raise CredentialsInvalid(f"secret {name} cannot be read ({code})") from None
            raise CredentialsUnavailable(f"secrets manager: {code or 'error'} reading {name}") from None
        except BotoCoreError as error:
            raise CredentialsUnavailable(
                f"secrets manager unreachable reading {name}: {type(error).__name__}"
            ) from None
        return _parse(name, response.get("SecretString"))


def _parse(name: str, text: Any) -> BrokerCredentials:
    """The secret's JSON as credentials. Errors say what is wrong, never what the value was
    (``from None``: pydantic's and json's own messages quote the input)."""
    if not isinstance(text, str):
        raise CredentialsInvalid(f"secret {name} has no SecretString")
    try:
        values = json.loads(text)
    except ValueError:
        raise CredentialsInvalid(f"secret {name} is not JSON") from None
    if not isinstance(values, dict):
        raise CredentialsInvalid(f"secret {name} is not a JSON object")
    try:
        return BrokerCredentials.model_validate(values)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc']) or 'secret'}: {item['type']}"
            for item in error.errors()
        )
        raise CredentialsInvalid(f"secret {name} does not hold broker credentials ({problems})") from None


def describe(account_id: str, credentials: BrokerCredentials) -> StoredCredentials:
    """The metadata of stored credentials; ``api_url`` as given (None: the broker's default)."""
    return StoredCredentials(
        account_id=account_id,
        broker=credentials.broker or "",
        broker_account=credentials.broker_account or "",
        api_url=credentials.api_url,
        stored_at=credentials.stored_at or "",
    )


@lru_cache(maxsize=8)
def credentials_store(prefix: str) -> CredentialsStore:
    """The store of this execution environment for one resource prefix (one per stack)."""
    return CredentialsStore(prefix)


def broker_credentials(account_id: str, settings: BrokerSettings) -> BrokerCredentials:
    """The credentials of ``account_id``'s broker account (cached; see the module docstring)."""
    return credentials_store(settings.resource_prefix).get(account_id)


def clear_cache() -> None:
    """Forgets cached credentials and the client (tests that switch endpoints)."""
    credentials_store.cache_clear()
    aws.clear_clients("secretsmanager")


__all__ = [
    "DEFAULT_TTL_SECONDS",
    "BrokerCredentials",
    "CredentialsInvalid",
    "CredentialsMissing",
    "CredentialsStore",
    "CredentialsUnavailable",
    "StoredCredentials",
    "broker_credentials",
    "clear_cache",
    "credentials_store",
    "describe",
    "secret_name",
]
