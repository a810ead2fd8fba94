"""A real browser for the dashboard tests: Debian's chromium and its chromedriver, installed
when missing (the tests run as root on a Debian machine, as CI does), driven by selenium."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import emu, emulator, stack  # noqa: F401  (real processes)

PACKAGES = ("chromium", "chromium-driver")


def _browser_installed() -> bool:
    return bool(shutil.which("chromium") and shutil.which("chromedriver"))


def _install() -> str:
    """apt-get install, with an `apt-get update` first if the package lists are stale."""
    command = ["apt-get", "install", "-y", "--no-install-recommends", *PACKAGES]
    env = {"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    out = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900)
    if out.returncode != 0:
        subprocess.run(["apt-get", "update"], capture_output=True, env=env, timeout=600)
        out = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900)
    return (out.stdout + out.stderr)[-2000:]


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not _browser_installed():
        if shutil.which("apt-get") is None:
            pytest.fail("the dashboard test needs Debian's chromium and chromium-driver: "
                        "apt-get is not available to install them")
        log = _install()
        if not _browser_installed():
            pytest.fail(f"could not install {' and '.join(PACKAGES)} with apt-get:\n{log}")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1280,1000"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()
