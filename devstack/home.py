"""Home mode: the local stack's state kept in one data folder, so a restart loses nothing.

    DATA_DIR/                 (default ./.tradecopier; ``DATA_DIR=:memory:`` or ``--memory``: none)
        format.json           {"format": 1, "data_id": "..."}: which layout this is, whose key
        lock                  held (fcntl.flock) while a stack runs on the folder: one writer
        dynamodb/             DynamoDB Local's files (-dbPath): every table, the paper broker's too
        secrets.enc           the Secrets Manager secrets, encrypted (devstack.vault)

A folder written by a newer version (a higher ``format``), or one whose ``format.json`` cannot be
read, is refused with one sentence and left as it is.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import shutil
from pathlib import Path
from typing import IO

FORMAT_VERSION = 1
MEMORY = ":memory:"
DEFAULT_DATA_DIR = Path(".tradecopier")
FORMAT_FILE = "format.json"
LOCK_FILE = "lock"
DYNAMODB_DIR = "dynamodb"
SECRETS_FILE = "secrets.enc"


class HomeError(RuntimeError):
    """The data folder cannot be used (the message says why, in one sentence)."""


def resolve_data_dir(value: str | None) -> Path | None:
    """``None`` / ``:memory:`` -> in memory; anything else -> that folder (absolute)."""
    if value is None or value == MEMORY:
        return None
    return Path(value).expanduser().resolve()


class DataDir:
    """One data folder, locked for the life of a stack (``open`` ... ``close``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data_id = ""
        self.created = False
        self._lock: IO[str] | None = None

    @property
    def dynamodb_dir(self) -> Path:
        return self.path / DYNAMODB_DIR

    @property
    def secrets_file(self) -> Path:
        return self.path / SECRETS_FILE

    @property
    def lock_fd(self) -> int:
        """The locked file's descriptor: a child that inherits it (DynamoDB Local) keeps the folder
        locked while it lives, even if this process was killed, so no second stack opens its files."""
        assert self._lock is not None
        return self._lock.fileno()

    def open(self) -> DataDir:
        """Creates the folder if needed, takes the lock, checks (or writes) the format file."""
        try:
            self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise HomeError(f"cannot create the data folder {self.path}: {exc.strerror or exc}.") from exc
        self._take_lock()
        try:
            self._check_format()
            self.dynamodb_dir.mkdir(exist_ok=True, mode=0o700)
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        lock, self._lock = self._lock, None
        if lock is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
            lock.close()

    def reset(self) -> None:
        """Deletes everything the stack keeps in the folder (the caller asked the trader first).
        Only our own files: a folder that is not a data folder is refused, never emptied."""
        if not self.path.exists():
            return
        if not (self.path / FORMAT_FILE).exists() and any(self.path.iterdir()):
            raise HomeError(
                f"{self.path} is not a trade copier data folder (no {FORMAT_FILE}); not resetting it."
            )
        self._take_lock()
        try:
            shutil.rmtree(self.dynamodb_dir, ignore_errors=True)
            for name in (SECRETS_FILE, FORMAT_FILE):
                with contextlib.suppress(FileNotFoundError):
                    (self.path / name).unlink()
        finally:
            self.close()

    def _take_lock(self) -> None:
        lock = open(self.path / LOCK_FILE, "a+", encoding="utf-8")  # noqa: SIM115 - held until close()
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.seek(0)
            holder = lock.read().strip()
            lock.close()
            raise HomeError(
                f"the data folder {self.path} is in use by another running stack"
                + (f" (pid {holder})" if holder else "")
                + "; stop it first, or use another folder with DATA_DIR= (a stack killed with -9 may "
                f"have left its DynamoDB Local running: `fuser -v {self.path / LOCK_FILE}` shows it)."
            ) from None
        lock.seek(0)
        lock.truncate()
        lock.write(str(os.getpid()))
        lock.flush()
        self._lock = lock

    def _check_format(self) -> None:
        path = self.path / FORMAT_FILE
        if not path.exists():
            if any(p.name != LOCK_FILE for p in self.path.iterdir()):
                raise HomeError(
                    f"{self.path} holds files but no {FORMAT_FILE}: not a data folder of this version "
                    "(or a broken one); nothing was changed."
                )
            self.data_id = secrets.token_hex(8)
            _write_json(path, {"format": FORMAT_VERSION, "data_id": self.data_id})
            self.created = True
            return
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
            version, data_id = int(meta["format"]), str(meta["data_id"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise HomeError(
                f"{path} cannot be read ({exc}); the data folder looks broken; nothing was changed."
            ) from None
        if version > FORMAT_VERSION:
            raise HomeError(
                f"the data folder {self.path} was written by a newer version (format {version}, this one "
                f"reads {FORMAT_VERSION}); upgrade, or use another folder; nothing was changed."
            )
        self.data_id = data_id


def _write_json(path: Path, value: object) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(value, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
