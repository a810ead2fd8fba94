"""The layers stay strict: the import-linter contracts in pyproject.toml hold, and break when an
upward import, Flask in a worker or HTTP outside platforms/ is added (docs/architecture.md)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dev.procs import ROOT

PACKAGES = ("cli", "dev", "emulator", "webhooks", "api", "dashboard", "web", "workers",
            "platforms", "notify", "store", "cmdkeeper")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=root, capture_output=True,
                          text=True)


def test_the_layer_contracts_hold():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(("module", "added", "broken"), [
    ("store/keys.py", "from workers import actors", "store is not allowed to import workers"),
    ("cmdkeeper/config.py", "import store.keys", "cmdkeeper is not allowed to import store"),
    ("workers/events.py", "import flask", "workers is not allowed to import flask"),
    ("store/commands.py", "import requests", "store is not allowed to import requests"),
    ("webhooks/huawei.py", "from platforms import factory",
     "webhooks is not allowed to import platforms.factory"),
    ("notify/client.py", "from platforms import errors",
     "notify is not allowed to import platforms"),
])
def test_an_offending_import_breaks_a_contract(tmp_path: Path, module: str, added: str,
                                               broken: str):
    # given a copy of the code with one offending import added
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package,
                        ignore=shutil.ignore_patterns("__pycache__", "*.png"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / module
    target.write_text(target.read_text() + f"\n{added}  # the offending import\n")

    result = lint_imports(tmp_path)

    assert result.returncode != 0
    assert broken in " ".join(result.stdout.split()), result.stdout
