"""Home mode's data folder and encrypted secrets (devstack.home, devstack.vault): bad input gives
one sentence and changes nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from devstack import vault
from devstack.home import FORMAT_FILE, FORMAT_VERSION, DataDir, HomeError, resolve_data_dir
from devstack.vault import Vault

SECRET = [{"name": "home-copier/brokers/TV-1", "secret_string": '{"password": "hunter2"}'}]


@pytest.fixture
def key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "outside" / "trader.key"
    monkeypatch.setenv(vault.KEY_FILE_ENV, str(path))
    return path


def _snapshot(path: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file() and p.name != "lock"}


def test_memory_is_no_folder() -> None:
    assert resolve_data_dir(":memory:") is None and resolve_data_dir(None) is None
    assert resolve_data_dir("x") == Path("x").resolve()


def test_a_new_folder_gets_a_format_file_and_keeps_its_id(tmp_path: Path) -> None:
    first = DataDir(tmp_path / "d").open()
    first.close()
    meta = json.loads((tmp_path / "d" / FORMAT_FILE).read_text())
    assert meta["format"] == FORMAT_VERSION and first.created
    again = DataDir(tmp_path / "d").open()
    again.close()
    assert again.data_id == first.data_id == meta["data_id"] and not again.created


def test_a_second_writer_is_refused_while_the_first_holds_the_lock(tmp_path: Path) -> None:
    holder = DataDir(tmp_path / "d").open()
    try:
        code = "from devstack.home import DataDir; import sys; from pathlib import Path\n"
        code += "try:\n DataDir(Path(sys.argv[1])).open()\nexcept Exception as e:\n print(e); sys.exit(3)\n"
        other = subprocess.run(
            [sys.executable, "-c", code, str(tmp_path / "d")], capture_output=True, text=True, check=False
        )
        assert other.returncode == 3 and "in use by another running stack" in other.stdout
    finally:
        holder.close()
    DataDir(tmp_path / "d").open().close()  # free again once the holder closed


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (json.dumps({"format": FORMAT_VERSION + 1, "data_id": "x"}), "newer version"),
        ("{not json", "looks broken"),
        (json.dumps({"data_id": "x"}), "looks broken"),
    ],
)
def test_a_newer_or_broken_folder_is_refused_untouched(tmp_path: Path, content: str, says: str) -> None:
    folder = tmp_path / "d"
    (folder / "dynamodb").mkdir(parents=True)
    (folder / FORMAT_FILE).write_text(content)
    (folder / "dynamodb" / "shared-local-instance.db").write_bytes(b"tables")
    before = _snapshot(folder)
    with pytest.raises(HomeError, match=says):
        DataDir(folder).open()
    assert _snapshot(folder) == before


def test_a_folder_of_other_files_is_neither_used_nor_reset(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(HomeError, match=r"no format\.json"):
        DataDir(tmp_path).open()
    with pytest.raises(HomeError, match="not a trade copier data folder"):
        DataDir(tmp_path).reset()
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_reset_empties_our_files_only(tmp_path: Path) -> None:
    folder = tmp_path / "d"
    DataDir(folder).open().close()
    (folder / "dynamodb" / "shared-local-instance.db").write_bytes(b"tables")
    (folder / "secrets.enc").write_bytes(b"x")
    (folder / "backup-notes.txt").write_text("mine")
    DataDir(folder).reset()
    assert not (folder / "secrets.enc").exists() and not (folder / FORMAT_FILE).exists()
    assert not (folder / "dynamodb").exists() and (folder / "backup-notes.txt").exists()


def test_secrets_round_trip_encrypted_with_a_key_file_outside_the_folder(
    tmp_path: Path, key_file: Path
) -> None:
    path = tmp_path / "d" / "secrets.enc"
    path.parent.mkdir()
    box = Vault(path, "id1")
    assert box.save(SECRET) and not box.save(SECRET)  # unchanged: not written again
    assert b"hunter2" not in path.read_bytes() and path.stat().st_mode & 0o077 == 0
    assert key_file.exists() and key_file.stat().st_mode & 0o077 == 0
    assert Vault(path, "id1").load() == SECRET


def test_a_missing_key_or_another_key_refuses_and_keeps_the_file(tmp_path: Path, key_file: Path) -> None:
    path = tmp_path / "secrets.enc"
    Vault(path, "id1").save(SECRET)
    before = path.read_bytes()
    key_file.unlink()
    with pytest.raises(HomeError, match="does not exist"):
        Vault(path, "id1")
    from cryptography.fernet import Fernet

    key_file.write_bytes(Fernet.generate_key())
    with pytest.raises(HomeError, match="cannot be decrypted"):
        Vault(path, "id1").load()
    assert path.read_bytes() == before


class _Keyring:
    priority = 5

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, user: str) -> str | None:
        if self.error:
            raise self.error
        return self.store.get((service, user))

    def set_password(self, service: str, user: str, value: str) -> None:
        self.store[(service, user)] = value


def test_the_keyring_holds_the_key_when_there_is_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(vault.KEY_FILE_ENV, raising=False)
    ring: Any = _Keyring()
    monkeypatch.setattr(vault, "_keyring_backend", lambda: ring)
    monkeypatch.setattr(vault, "default_key_file", lambda data_id: tmp_path / "never")
    path = tmp_path / "secrets.enc"
    Vault(path, "id1").save(SECRET)
    assert list(ring.store) == [(vault.KEYRING_SERVICE, "id1")] and not (tmp_path / "never").exists()
    assert Vault(path, "id1").load() == SECRET
    ring.store.clear()  # the entry was lost: refuse rather than make a new key
    with pytest.raises(HomeError, match="not in"):
        Vault(path, "id1")


def test_a_keyring_that_cannot_be_opened_is_one_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(vault.KEY_FILE_ENV, raising=False)
    ring: Any = _Keyring(RuntimeError("the collection is locked"))
    monkeypatch.setattr(vault, "_keyring_backend", lambda: ring)
    with pytest.raises(HomeError, match=r"keyring could not be opened.*collection is locked"):
        Vault(tmp_path / "secrets.enc", "id1")
    assert not (tmp_path / "secrets.enc").exists()
