"""The home-mode service files in docs/service/ parse: the systemd user unit with
``systemd-analyze verify`` where it exists, the launchd plist with plistlib (and plutil on macOS)."""

from __future__ import annotations

import plistlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "docs" / "service" / "tradecopier.service"
PLIST = REPO / "docs" / "service" / "com.tradecopier.home.plist"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_the_systemd_unit_verifies(tmp_path: Path) -> None:
    # %h is the user's home in a user unit; point it at this clone so ExecStart names a real python.
    unit = tmp_path / UNIT.name
    unit.write_text(UNIT.read_text(encoding="utf-8").replace("%h/tradecopier", str(REPO)), encoding="utf-8")
    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr
    text = UNIT.read_text(encoding="utf-8")
    assert "-m devstack --data-dir ${DATA_DIR}" in text and "KillSignal=SIGTERM" in text


def test_the_launchd_plist_parses_and_runs_the_stack() -> None:
    with PLIST.open("rb") as fh:
        plist = plistlib.load(fh)
    assert plist["Label"] == "com.tradecopier.home"
    args = plist["ProgramArguments"]
    assert args[1:4] == ["-m", "devstack", "--data-dir"] and plist["KeepAlive"] == {"SuccessfulExit": False}
    if sys.platform == "darwin" and shutil.which("plutil"):
        subprocess.run(["plutil", "-lint", str(PLIST)], check=True, capture_output=True)
