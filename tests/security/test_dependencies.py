"""Every pinned dependency is free of known vulnerabilities: pip-audit on both requirement
files, against PyPI's advisory data, or OSV's when PyPI's cannot be had.

The audit needs the network. Where neither service answers but PyPI's project pages do (some
mirrors and proxies serve `/pypi/<name>/json` and not `/pypi/<name>/<version>/json`, which
pip-audit asks), the same advisory data is read from there: a project page lists the known
vulnerabilities of the latest release, so it audits every pin that is its project's latest
release. The test never passes without having audited every pin: when some could not be, it is
skipped, saying which.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
import requests

from dev.procs import ROOT

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


def pins() -> list[tuple[str, str]]:
    found = []
    for name in REQUIREMENTS:
        for line in (ROOT / name).read_text().splitlines():
            if m := re.match(r"^([A-Za-z0-9_.-]+)(\[[^]]*\])?==([^\s;#]+)", line.strip()):
                found.append((m[1], m[3]))
    return found


def audit_latest_releases() -> tuple[dict[str, list], list[str], str]:
    """From PyPI's project pages: (findings per pin that is its project's latest release, pins
    that are not, why nothing could be read)."""
    findings, not_latest = {}, []
    session = requests.Session()
    for name, version in pins():
        try:
            r = session.get(f"https://pypi.org/pypi/{name}/json", timeout=15)
            r.raise_for_status()
            page = r.json()
        except (requests.RequestException, ValueError) as e:
            return {}, [], f"pypi.org project pages: {type(e).__name__}: {str(e)[:200]}"
        if page["info"]["version"] != version:
            not_latest.append(f"{name}=={version} (latest {page['info']['version']})")
            continue
        known = [v for v in page.get("vulnerabilities") or [] if not v.get("withdrawn")]
        findings[f"{name}=={version}"] = [(v["id"], v.get("fixed_in")) for v in known]
    return findings, not_latest, ""


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
    findings, not_latest, failure = audit_latest_releases()
    if failure:
        pytest.skip("no vulnerability service reachable: " + " | ".join([*unreachable, failure]))
    vulnerable = {pin: found for pin, found in findings.items() if found}
    assert not vulnerable, f"upgrade these pins: {vulnerable}"
    if not_latest:
        pytest.skip(f"pip-audit's services unreachable ({' | '.join(unreachable)}); PyPI's "
                    f"project pages audited the {len(findings)} pins that are latest releases, "
                    f"not these: {', '.join(not_latest)}")
