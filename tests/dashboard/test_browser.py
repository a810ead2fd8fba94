"""The dashboard in headless Chromium, on cmdkeeper running as real processes against the
emulator: an operator signs in, finds a stale command revoked on its device's timeline, sees why
another one waits, and sees the revocation counted on the fleet page. Screenshots of both pages
go to bench/results/ (git-ignored)."""

from __future__ import annotations

import re
from pathlib import Path

import requests
from selenium.webdriver.common.by import By

from cmdkeeper.procs import wait_until
from tests.conftest import API_TOKEN

SCREENSHOTS = Path(__file__).resolve().parents[2] / "bench" / "results"


def create(stack, device: str, stale_after_s: int) -> str:
    r = stack.api("POST", "/commands", json={
        "platform": "huawei", "device_id": device, "service_id": "Valve", "method": "SET",
        "paras": {"open": 1}, "stale_after_s": stale_after_s})
    assert r.status_code == 201, r.text
    return r.json()["command_id"]


def revocations_counted(stack) -> float:
    text = requests.get(stack.url + "/metrics", timeout=10).text
    found = re.search(r'^cmdkeeper_revocations_total\{platform="huawei",reason="stale"\} (\S+)$',
                      text, re.M)
    return float(found.group(1)) if found else 0.0


def test_an_operator_sees_a_stale_command_revoked_and_why_another_waits(browser, stack, emu):
    for device in ("valve-7", "meter-3"):
        emu.client.add_device("huawei", device, wake_period_s=0)  # asleep for the whole test
    s = stack(METRICS_FLUSH_S="1")
    emu.client.set_speed(20)  # the cancel task ends a few emulated seconds after it starts
    stale = create(s, "valve-7", stale_after_s=1)
    waiting = create(s, "meter-3", stale_after_s=3600)
    wait_until(lambda: s.record("huawei", stale)["state"] == "CANCELED", 30, "revoked")
    wait_until(lambda: revocations_counted(s) >= 1, 30, "the revocation counted")

    browser.get(f"{s.url}/devices/huawei/valve-7")  # not signed in: the login page first
    assert "/login" in browser.current_url
    browser.find_element(By.ID, "token").send_keys(API_TOKEN)
    browser.find_element(By.CSS_SELECTOR, "button.primary").click()
    wait_until(lambda: browser.current_url.endswith("/devices/huawei/valve-7"), 10, "signed in")

    section = browser.find_element(By.ID, f"cmd-{stale}")
    steps = [li.text.split("\n") for li in section.find_elements(By.CSS_SELECTOR, ".timeline li")]
    assert [step[0] for step in steps] == ["PENDING", "CANCELED"]
    assert steps[0][-1] == "api" and steps[-1][-1] == "revoke"
    assert not section.find_elements(By.CLASS_NAME, "why")  # final: nothing to explain
    browser.save_screenshot(str(SCREENSHOTS / "dashboard-device.png"))

    browser.get(f"{s.url}/devices/huawei/meter-3")
    why = browser.find_element(By.CSS_SELECTOR, f"#cmd-{waiting} .why").text
    assert why.startswith("Why is it stuck? Waiting for the device to wake. Becomes stale at")
    assert "(in 60 min)" in why or "(in 59 min)" in why

    browser.get(s.url + "/")
    assert int(browser.find_element(By.ID, "revocations").text) >= 1
    by_state = browser.find_element(By.ID, "by-state").text
    assert "huawei" in by_state
    assert "meter-3" in browser.find_element(By.ID, "upcoming").text
    browser.save_screenshot(str(SCREENSHOTS / "dashboard-fleet.png"))

    # everything the pages need comes from cmdkeeper itself: no outside script, style or image
    for page in ("/", "/devices/huawei/valve-7"):
        browser.get(s.url + page)
        assert not re.search(r'(src|href)="(https?:)?//', browser.page_source)
