"""The dashboard in headless Chromium, on cmdkeeper running as real processes (web under
gunicorn, a worker, the clock) against the emulator: an operator signs in through the form,
finds a stale command revoked on its device's timeline and reads why the fresh one waits, follows
a command delivered through callbacks and one learned back from history after its callbacks were
lost, and sees the revocation counted on the fleet page.

Screenshots go to bench/results/dashboard-*.png (git-ignored). No page may make the browser
fetch anything but cmdkeeper's own pages."""

from __future__ import annotations

import re
from pathlib import Path

import requests
from selenium.webdriver.common.by import By

from dev.procs import wait_until
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


def steps(browser, command_id: str) -> list[tuple[str, str]]:
    """(state, source) of each drawn step of a command's timeline, the steps to come left out."""
    items = browser.find_elements(By.CSS_SELECTOR, f"#cmd-{command_id} .timeline li.step")
    return [(li.find_element(By.CLASS_NAME, "dot").text,
             li.find_element(By.CLASS_NAME, "src").text) for li in items]


def fetched(browser) -> list[str]:
    """Every URL the browser fetched for the page on screen (the page itself included)."""
    return browser.execute_script(
        "return performance.getEntries().map(e => e.name).filter(n => n.includes('://'))")


def screenshot(browser, name: str) -> Path:
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1280, max(800, min(height + 40, 4000)))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"dashboard-{name}.png"
    assert browser.save_screenshot(str(path))
    return path


def test_an_operator_follows_commands_through_the_dashboard(browser, stack, emu):
    emu.client.add_device("huawei", "valve-7", wake_period_s=0)  # asleep for the whole test
    emu.client.add_device("huawei", "pump-2", wake_period_s=0)
    s = stack(METRICS_FLUSH_S="1")
    emu.client.set_speed(20)  # cancel tasks and devices' answers take emulated seconds
    stale = create(s, "valve-7", stale_after_s=1)
    waiting = create(s, "valve-7", stale_after_s=3600)
    delivered = create(s, "pump-2", stale_after_s=3600)
    emu.client.wake("huawei", "pump-2")
    wait_until(lambda: s.record("huawei", delivered)["state"] == "SUCCEEDED", 30,
               "the command's callbacks applied")
    emu.client.set_faults(drop_p=1)  # the next command's callbacks are all lost
    learned = create(s, "pump-2", stale_after_s=3600)
    emu.client.wake("huawei", "pump-2")
    wait_until(lambda: emu.client.command("huawei", learned)["status"] == "SUCCESSFUL", 30,
               "the device ran it")
    emu.client.set_faults(drop_p=0)
    assert s.record("huawei", learned)["state"] == "PENDING"
    assert s.api("POST", "/devices/huawei/pump-2/reconcile").status_code == 202
    wait_until(lambda: s.record("huawei", learned)["state"] == "SUCCEEDED", 30, "reconciled")
    wait_until(lambda: s.record("huawei", stale)["state"] == "CANCELED", 30, "revoked")
    wait_until(lambda: revocations_counted(s) >= 1, 30, "the revocation counted")

    # not signed in: the login page first; a wrong token is refused there
    browser.delete_all_cookies()
    browser.get(f"{s.url}/devices/huawei/valve-7")
    assert "/login" in browser.current_url
    browser.find_element(By.ID, "token").send_keys("not-the-token")
    browser.find_element(By.CSS_SELECTOR, "button.primary").click()
    # the click may return before the answer's page has loaded
    wait_until(lambda: browser.find_elements(By.CSS_SELECTOR, "[role=alert]"), 10,
               "the refusal shown")
    assert browser.find_element(By.CSS_SELECTOR, "[role=alert]").text == \
        "That is not the API token."
    browser.find_element(By.ID, "token").send_keys(API_TOKEN)
    browser.find_element(By.CSS_SELECTOR, "button.primary").click()
    wait_until(lambda: browser.current_url.endswith("/devices/huawei/valve-7"), 10, "signed in")
    session = browser.get_cookie("cmdkeeper_session")
    assert session["httpOnly"] and session["sameSite"] == "Strict"
    assert API_TOKEN not in session["value"]

    assert steps(browser, stale) == [("PENDING", "api"), ("CANCELED", "revoke")]
    assert not browser.find_elements(By.CSS_SELECTOR, f"#cmd-{stale} .why")
    assert browser.find_element(By.CSS_SELECTOR, f"#cmd-{stale} .final").text == "CANCELED"
    why = browser.find_element(By.CSS_SELECTOR, f"#cmd-{waiting} .why").text
    # the time of day alone on the same UTC day, with its date after midnight
    assert re.fullmatch(r"Why is it stuck\? Waiting for the device to wake; becomes stale at "
                        r"(\d{4}-\d\d-\d\d )?\d\d:\d\d:\d\d UTC \(in (60|59) min\) and will "
                        r"be revoked then\.", why)
    assert all(url.startswith(s.url + "/") for url in fetched(browser)), fetched(browser)
    shots = [screenshot(browser, "device-valve-7")]

    browser.get(f"{s.url}/devices/huawei/pump-2")
    # callbacks are applied by several worker threads: SENT may land after DELIVERED, drawn
    # greyed as a late event that moved nothing
    drawn = steps(browser, delivered)
    assert drawn[0] == ("PENDING", "api")
    assert sorted(state for state, _ in drawn[1:]) == ["DELIVERED", "SENT", "SUCCEEDED"]
    assert all(source.startswith("callback") for _, source in drawn[1:])
    applied = [state for state, source in drawn if not source.endswith("not applied")]
    assert applied[-1] == "SUCCEEDED"
    assert steps(browser, learned)[0] == ("PENDING", "api")
    assert steps(browser, learned)[-1] == ("SUCCEEDED", "reconcile")
    assert not browser.find_elements(By.CSS_SELECTOR, ".why")
    shots.append(screenshot(browser, "device-pump-2"))

    browser.get(s.url + "/")
    assert int(browser.find_element(By.ID, "revocations").text) >= 1
    huawei = browser.find_element(By.ID, "by-state-huawei").text.split()
    assert huawei[0] == "huawei"
    # PENDING SENT DELIVERED SUCCEEDED FAILED TIMEOUT EXPIRED CANCELED all
    assert [int(n) for n in huawei[1:]] == [1, 0, 0, 2, 0, 0, 0, 1, 4]
    assert "valve-7" in browser.find_element(By.ID, "upcoming").text
    assert all(url.startswith(s.url + "/") for url in fetched(browser)), fetched(browser)
    shots.append(screenshot(browser, "fleet"))
    assert all(p.stat().st_size > 10_000 for p in shots)

    # the search box leads to a device's page, and to a command's card on it
    browser.find_element(By.NAME, "q").send_keys("pump-2")
    browser.find_element(By.CSS_SELECTOR, "form.find button").click()
    wait_until(lambda: browser.current_url.endswith("/devices/huawei/pump-2"), 10, "found")
    browser.find_element(By.NAME, "q").clear()
    browser.find_element(By.NAME, "q").send_keys(learned)
    browser.find_element(By.CSS_SELECTOR, "form.find button").click()
    wait_until(lambda: browser.current_url.endswith(f"/devices/huawei/pump-2#cmd-{learned}"),
               10, "the command found")

    browser.find_element(By.CSS_SELECTOR, "form.out button").click()  # sign out
    wait_until(lambda: "/login" in browser.current_url, 10, "signed out")
    browser.get(s.url + "/")
    assert "/login" in browser.current_url
    assert API_TOKEN not in (s.log_dir / "web.log").read_text()
