"""`python -m cmdkeeper` runs the CLI as its own process, reading the environment."""

from __future__ import annotations

import subprocess
import sys

from dev.procs import ROOT, python_env


def test_python_m_cmdkeeper_answers_with_the_clis_exit_codes(redis_url, redis_client):
    result = subprocess.run([sys.executable, "-m", "cmdkeeper", "commands", "huawei", "nobody"],
                            cwd=ROOT, env=python_env({"REDIS_URL": redis_url}),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 3, result.stderr
    assert "unknown device" in result.stderr and result.stdout == ""
