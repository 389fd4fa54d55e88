"""``python -m devstack`` in home mode refuses bad input with one sentence, exit 1, and changes
nothing: a data folder from a newer version, a reset nobody confirmed, a port in use."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from devstack.home import FORMAT_FILE
from devstack.stack import REPO_ROOT


def _devstack(*args: str, key_file: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "devstack", *args],
        cwd=REPO_ROOT,
        env={**os.environ, "TRADECOPIER_KEY_FILE": str(key_file)},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _folder(tmp_path: Path, fmt: int) -> tuple[Path, dict[str, bytes]]:
    folder = tmp_path / "data"
    (folder / "dynamodb").mkdir(parents=True)
    (folder / FORMAT_FILE).write_text(json.dumps({"format": fmt, "data_id": "abc"}))
    (folder / "dynamodb" / "shared-local-instance.db").write_bytes(b"tables")
    (folder / "secrets.enc").write_bytes(b"encrypted")
    return folder, {str(p): p.read_bytes() for p in folder.rglob("*") if p.is_file() and p.name != "lock"}


def _unchanged(folder: Path, before: dict[str, bytes]) -> bool:
    return {str(p): p.read_bytes() for p in folder.rglob("*") if p.is_file() and p.name != "lock"} == before


def test_a_folder_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    folder, before = _folder(tmp_path, 99)
    done = _devstack("--port", "0", "--data-dir", str(folder), key_file=tmp_path / "k")
    assert done.returncode == 1
    assert "written by a newer version (format 99" in done.stderr and done.stderr.count("\n") == 1
    assert _unchanged(folder, before)


def test_a_reset_without_a_confirmation_changes_nothing(tmp_path: Path) -> None:
    folder, before = _folder(tmp_path, 1)
    done = _devstack("--port", "0", "--data-dir", str(folder), "--reset", key_file=tmp_path / "k")
    assert done.returncode == 1 and "pass --yes" in done.stderr
    assert _unchanged(folder, before)


def test_a_port_in_use_is_refused_before_the_folder_is_touched(tmp_path: Path) -> None:
    folder, before = _folder(tmp_path, 1)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _devstack("--port", str(port), "--data-dir", str(folder), key_file=tmp_path / "k")
    assert done.returncode == 1 and f"port {port} on 127.0.0.1 is already in use" in done.stderr
    assert _unchanged(folder, before) and not (tmp_path / "k").exists()
