"""The deployment files agree with the code: Heroku's app.json names only variables cmdkeeper
reads (and the README documents), runs exactly the Procfile's processes, and the Python version
is the one the project is built for."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def procfile_processes(name: str) -> set[str]:
    lines = (ROOT / name).read_text().splitlines()
    return {line.split(":", 1)[0] for line in lines if re.match(r"^[a-z]+:", line)}


def documented_variables() -> set[str]:
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("## Configuration"):]
    return set(re.findall(r"`([A-Z][A-Z0-9_]+)`", table))


def test_app_json_runs_the_procfile_processes():
    app = json.loads((ROOT / "app.json").read_text())
    assert set(app["formation"]) == procfile_processes("Procfile") == {"web", "worker", "clock"}


def test_app_json_names_only_documented_variables_and_generates_the_secrets():
    app = json.loads((ROOT / "app.json").read_text())
    assert set(app["env"]) <= documented_variables(), set(app["env"]) - documented_variables()
    for secret in ("CMDKEEPER_API_TOKEN", "CMDKEEPER_WEBHOOK_TOKEN"):
        assert app["env"][secret].get("generator") == "secret"


def test_every_variable_the_config_reads_is_documented():
    source = (ROOT / "cmdkeeper" / "config.py").read_text()
    read = set(re.findall(r'env(?:\.get\(|, )"([A-Z][A-Z0-9_]+)"', source))
    assert read, "the pattern finds the variables config.py reads"
    assert read <= documented_variables(), read - documented_variables()


def test_python_version_is_the_projects():
    assert (ROOT / ".python-version").read_text().strip() == "3.11"
