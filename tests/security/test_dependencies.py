"""Every pinned dependency is free of known vulnerabilities: pip-audit on both requirement
files, against PyPI's advisory data, or OSV's when PyPI's cannot be had.

The audit needs the network. When no vulnerability service answers for our pins, the test is
skipped, saying why; it never passes without having audited every pin.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from cmdkeeper.procs import ROOT

REQUIREMENTS = ["requirements.txt", "requirements-dev.txt"]  # every pin is exact: --no-deps


def audit(service: str) -> tuple[list[dict] | None, str]:
    """pip-audit's findings per pin, or None and why it produced none."""
    files = [arg for name in REQUIREMENTS for arg in ("-r", str(ROOT / name))]
    result = subprocess.run(
        [sys.executable, "-m", "pip_audit", *files, "--no-deps", "--disable-pip",
         "--vulnerability-service", service, "--format", "json", "--progress-spinner", "off",
         "--timeout", "15"],
        capture_output=True, text=True, timeout=300, cwd=ROOT)
    try:
        return json.loads(result.stdout)["dependencies"], ""
    except (ValueError, KeyError):
        lines = result.stderr.strip().splitlines() or [f"exit status {result.returncode}"]
        return None, lines[-1][:300]


def test_no_pinned_dependency_has_a_known_vulnerability():
    unreachable = []
    for service in ("pypi", "osv"):
        pins, failure = audit(service)
        if pins is None:
            unreachable.append(f"{service}: {failure}")
            continue
        skipped = [p for p in pins if "skip_reason" in p]
        if len(skipped) == len(pins):
            unreachable.append(f"{service}: none of {len(pins)} pins could be audited, e.g. "
                               f"{skipped[0]['skip_reason']}")
            continue
        vulnerable = {f"{p['name']}=={p['version']}": [(v["id"], v["fix_versions"])
                                                        for v in p["vulns"]]
                      for p in pins if p.get("vulns")}
        assert not vulnerable, f"upgrade these pins: {vulnerable}"
        assert not skipped, f"{service} could not audit: {[p['skip_reason'] for p in skipped]}"
        return
    pytest.skip("no vulnerability service reachable: " + " | ".join(unreachable))
