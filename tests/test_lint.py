"""The house style is enforced by the test command: ruff finds nothing."""

from __future__ import annotations

import subprocess
import sys

from dev.procs import ROOT


def test_ruff_finds_nothing():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
