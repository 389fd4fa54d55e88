"""Home mode's secrets: the broker credentials kept encrypted at rest in DATA_DIR/secrets.enc.

The functions keep reading and writing Secrets Manager (the moto server serves it, as on AWS);
the stack restores every secret into moto on start from this file, and writes the file again after
each request that changes credentials and at stop (``snapshot``). Nothing here is plaintext on disk.

Fernet (cryptography): authenticated AES-128-CBC + HMAC-SHA256 with a versioned token, one call
to encrypt and one to decrypt, so there is no nonce or mode for us to get wrong. Its key is random,
held by the operating system's keyring (keyring: macOS Keychain, Windows Credential Locker, Secret
Service/KWallet on a Linux desktop) and never written into the data folder; where no keyring
backend exists (headless Linux) it is a key file the trader holds, outside the data folder
(``TRADECOPIER_KEY_FILE``, default ``~/.config/tradecopier/keys/<data id>.key``, mode 0600), so a
backup of the data folder alone never reveals a credential.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

from devstack.home import HomeError

KEYRING_SERVICE = "tradecopier-home"
KEY_FILE_ENV = "TRADECOPIER_KEY_FILE"


def default_key_file(data_id: str) -> Path:
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "tradecopier" / "keys" / f"{data_id}.key"


def _keyring_backend() -> Any:
    """The OS keyring, or None when there is none (keyring's fail backend, priority 0)."""
    try:
        import keyring
    except ImportError:
        return None
    backend = keyring.get_keyring()
    return backend if getattr(backend, "priority", 0) > 0 else None


def open_key(data_id: str, *, may_create: bool) -> tuple[bytes, str]:
    """(Fernet key, where it is kept). ``may_create``: no encrypted file exists yet, so a new key
    may be made; otherwise a missing key is an error (nothing is overwritten)."""
    from cryptography.fernet import Fernet

    explicit = os.environ.get(KEY_FILE_ENV)
    backend = None if explicit else _keyring_backend()
    if backend is None:
        path = Path(explicit).expanduser() if explicit else default_key_file(data_id)
        return _file_key(path, may_create, Fernet.generate_key), f"key file {path}"
    where = f"the {type(backend).__module__} keyring (service {KEYRING_SERVICE!r}, user {data_id!r})"
    try:
        stored = backend.get_password(KEYRING_SERVICE, data_id)
        if stored is None:
            if not may_create:
                raise HomeError(
                    f"the key of this data folder is not in {where}: its secrets cannot be decrypted; "
                    "nothing was changed."
                )
            stored = Fernet.generate_key().decode()
            backend.set_password(KEYRING_SERVICE, data_id, stored)
    except HomeError:
        raise
    except Exception as exc:  # locked, refused, D-Bus gone: keyring raises its own errors
        raise HomeError(
            f"the keyring could not be opened ({type(exc).__name__}: {exc}); unlock it, or set "
            f"{KEY_FILE_ENV}= to a key file; nothing was changed."
        ) from None
    return stored.encode(), where


def _file_key(path: Path, may_create: bool, generate: Any) -> bytes:
    if path.exists():
        try:
            return path.read_bytes().strip()
        except OSError as exc:
            raise HomeError(f"the key file {path} cannot be read: {exc.strerror or exc}.") from None
    if not may_create:
        raise HomeError(
            f"the key file {path} does not exist: this data folder's secrets cannot be decrypted; "
            f"restore the key file or set {KEY_FILE_ENV}=; nothing was changed."
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise HomeError(f"cannot create the key file {path}: {exc.strerror or exc}.") from None
    key: bytes = generate()
    with os.fdopen(fd, "wb") as fh:
        fh.write(key + b"\n")
    return key


class Vault:
    """The encrypted file of one data folder."""

    def __init__(self, path: Path, data_id: str) -> None:
        self.path = path
        key, self.key_location = open_key(data_id, may_create=not path.exists())
        from cryptography.fernet import Fernet

        try:
            self._fernet = Fernet(key)
        except ValueError:
            raise HomeError(
                f"the key in {self.key_location} is not a valid key; nothing was changed."
            ) from None
        self._lock = threading.Lock()
        self._last: bytes | None = None

    def load(self) -> list[dict[str, str]]:
        """The secrets as they were last written: [{"name", "secret_string"}]."""
        from cryptography.fernet import InvalidToken

        if not self.path.exists():
            return []
        try:
            plain = self._fernet.decrypt(self.path.read_bytes())
            entries = json.loads(plain)["secrets"]
        except InvalidToken:
            raise HomeError(
                f"{self.path} cannot be decrypted with the key in {self.key_location} (another key, or a "
                "damaged file); nothing was changed."
            ) from None
        except (ValueError, KeyError, TypeError):
            raise HomeError(f"{self.path} decrypts but is not readable; nothing was changed.") from None
        self._last = plain
        return [{"name": str(e["name"]), "secret_string": str(e["secret_string"])} for e in entries]

    def save(self, entries: list[dict[str, str]]) -> bool:
        """Writes the file (atomically, mode 0600) if the secrets changed; True if it wrote."""
        plain = json.dumps({"secrets": sorted(entries, key=lambda e: e["name"])}, sort_keys=True).encode()
        with self._lock:
            if plain == self._last:
                return False
            tmp = self.path.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(self._fernet.encrypt(plain))
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
            self._last = plain
            return True


def read_secrets(sm: Any) -> list[dict[str, str]]:
    """Every secret Secrets Manager (moto) holds now, with its current string value."""
    entries: list[dict[str, str]] = []
    for page in sm.get_paginator("list_secrets").paginate():
        for secret in page.get("SecretList", []):
            if secret.get("DeletedDate"):
                continue
            value = sm.get_secret_value(SecretId=secret["ARN"])
            if "SecretString" in value:
                entries.append({"name": secret["Name"], "secret_string": value["SecretString"]})
    return entries


def write_secrets(sm: Any, entries: list[dict[str, str]]) -> None:
    """Puts the secrets back into a fresh Secrets Manager (moto keeps nothing across restarts)."""
    for entry in entries:
        sm.create_secret(Name=entry["name"], SecretString=entry["secret_string"])
