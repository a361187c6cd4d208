"""`make demo` stays true: the demo runs as a newcomer runs it, and shows the upgrade done."""

import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


@pytest.mark.slow(15)
def test_the_demo_plans_and_upgrades_through_rbg():
    done = subprocess.run([sys.executable, "demo.py"], cwd=HERE, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert "$ rbg plan orders-pg --to 16.4" in out and "cost of waiting (postgres 13)" in out, out
    assert "$ rbg upgrade orders-pg --to 16.4" in out, out
    assert "engine version   13.15 -> 16.4 (available)" in out, out
    assert "(same)" in out and "kept as the fallback" in out, out
    assert "notifications    4: started, green_ready, switched_over, succeeded" in out, out
