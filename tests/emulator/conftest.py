"""Shared by the emulator's self-tests: one emulator process per test module."""
import signal
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def emulator():
    """A fresh emulator (launcher.py on a free port) for the module: its URL."""
    proc = subprocess.Popen([sys.executable, str(HERE / "launcher.py"), "--port", "0"], stdout=subprocess.PIPE,
                            text=True)
    line = proc.stdout.readline().strip()
    assert line.startswith("emulator listening on"), line
    yield line.rsplit(" ", 1)[-1]
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=10)
