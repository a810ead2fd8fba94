"""The dashboard as an operator console in headless Chromium, on cmdkeeper as real processes
against the emulator: every page and plot renders with nothing but this site's own script; a
page refreshes itself in place (and not while paused), its countdowns tick; revoke, re-check
and replay are confirmed then done from the browser and recorded with who asked; a forged form
is refused; and every page reads at 400 px.

Screenshots go to bench/results/dashboard-console-*.png (git-ignored)."""

from __future__ import annotations

import re

from selenium.webdriver.common.by import By

from dev.procs import wait_until
from tests.cli.test_dead_letters import broker, dead_letter  # noqa: F401  (a fixture)
from tests.conftest import API_TOKEN
from tests.dashboard.test_browser import create, fetched, screenshot

PAGES = ("/", "/?range=day", "/commands", "/devices", "/stale", "/stuck", "/dead-letters",
         "/subscriptions")


def sign_in(browser, url: str) -> None:
    browser.delete_all_cookies()
    browser.get(url + "/login")
    browser.find_element(By.ID, "token").send_keys(API_TOKEN)
    browser.find_element(By.CSS_SELECTOR, "button.primary").click()
    wait_until(lambda: "/login" not in browser.current_url, 10, "signed in")


def cards(browser) -> int:
    return browser.execute_script("return document.querySelectorAll('section.command').length")


def text(browser, selector: str) -> str | None:
    """An element's text, read in one go (a live page may swap its elements between a find and
    a read)."""
    return browser.execute_script(
        "const e = document.querySelector(arguments[0]); return e ? e.textContent : null",
        selector)


def drawn_states(browser, command_id: str) -> list[str]:
    return browser.execute_script(
        "return [...document.querySelectorAll(arguments[0])].map(e => e.textContent)",
        f"#cmd-{command_id} .timeline li.step .dot")


def click(browser, selector: str) -> None:
    browser.find_element(By.CSS_SELECTOR, selector).click()


def test_an_operator_finds_watches_and_acts_from_the_browser(browser, stack, emu,
                                                            broker):  # noqa: F811
    emu.client.add_device("huawei", "valve-9", wake_period_s=0)  # asleep throughout
    s = stack(METRICS_FLUSH_S="1")
    emu.client.set_speed(20)  # cancel tasks take emulated seconds
    first = create(s, "valve-9", stale_after_s=90)
    browser.set_window_size(1280, 1000)
    sign_in(browser, s.url)

    # watch: the device page refreshes itself in place and its countdown ticks
    browser.get(f"{s.url}/devices/huawei/valve-9")
    toggle = browser.find_element(By.ID, "live-toggle")
    assert toggle.is_displayed() and toggle.get_attribute("aria-pressed") == "true"
    browser.execute_script("window.sameDocument = true")
    countdown = f"#cmd-{first} .why time.rel"
    seen = {text(browser, countdown)}
    wait_until(lambda: seen.add(text(browser, countdown)) or len(seen) >= 3, 10,
               "the countdown ticks")
    second = create(s, "valve-9", stale_after_s=3600)
    wait_until(lambda: cards(browser) == 2, 15, "the new command shown without a reload")
    assert browser.execute_script("return window.sameDocument") is True

    # paused: nothing is fetched again, while the countdowns go on ticking
    browser.find_element(By.ID, "live-toggle").click()
    assert browser.find_element(By.ID, "live-toggle").get_attribute("aria-pressed") == "false"
    refreshes = browser.execute_script("return document.querySelector('main').dataset.refreshes")
    create(s, "valve-9", stale_after_s=3600)
    ticks = set()
    wait_until(lambda: ticks.add(text(browser, countdown)) or len(ticks) >= 7, 15,
               "seven ticks, longer than a refresh interval")
    assert cards(browser) == 2
    assert browser.execute_script(
        "return document.querySelector('main').dataset.refreshes") == refreshes
    browser.find_element(By.ID, "live-toggle").click()  # live again
    wait_until(lambda: cards(browser) == 3, 15, "refreshed once live again")

    # act: revoke every PENDING command, confirmed on a page that lists them
    click(browser, "#act-revoke-all")
    wait_until(lambda: browser.find_elements(By.ID, "confirm-form"), 10, "the confirmation")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#targets li")) == 3
    shots = [screenshot(browser, "console-confirm")]
    # a forged form (its token replaced) is refused, and nothing is done
    browser.execute_script(
        "document.querySelector('#confirm-form input[name=csrf_token]').value = 'forged'")
    click(browser, "#confirm")
    wait_until(lambda: "security token" in browser.page_source, 10, "the refusal")
    assert s.record("huawei", first)["state"] == "PENDING"
    browser.back()
    browser.refresh()
    click(browser, "#confirm")
    wait_until(lambda: browser.find_elements(By.ID, "done"), 10, "the notice")
    wait_until(lambda: s.record("huawei", second)["state"] == "CANCELED", 30, "revoked")
    assert s.record("huawei", second).get("revoke_requested_by") == "dashboard"
    wait_until(lambda: drawn_states(browser, second)[-1:] == ["CANCELED"], 15,
               "the revocation drawn")
    assert "dashboard asked to revoke every PENDING command" in text(
        browser, f"#cmd-{second} li.asked")
    assert "at the request of the dashboard" in text(browser, f"#cmd-{second} .revoked")
    shots.append(screenshot(browser, "console-device"))

    # re-check its history, confirmed the same way
    click(browser, "#act-reconcile")
    wait_until(lambda: browser.find_elements(By.ID, "confirm-form"), 10, "the confirmation")
    click(browser, "#confirm")
    wait_until(lambda: "History re-check asked" in (text(browser, "#done") or ""), 10,
               "the re-check asked")

    # find: the recent commands list, filtered, leads to a command
    browser.get(f"{s.url}/commands?state=CANCELED")
    rows = browser.find_elements(By.CSS_SELECTOR, "#commands tbody tr")
    assert {r.get_attribute("id") for r in rows} >= {f"row-{first}", f"row-{second}"}
    browser.find_element(By.CSS_SELECTOR, f"#row-{second} a").click()
    wait_until(lambda: browser.current_url.endswith(f"#cmd-{second}"), 10, "the command")

    # replay a dead letter from its page
    from workers import actors

    letter = dead_letter(broker, actors.reconcile_device, "huawei", "valve-9", True)
    browser.get(f"{s.url}/dead-letters")
    browser.find_element(By.CSS_SELECTOR, f"#letter-{letter} a.button").click()
    wait_until(lambda: browser.find_elements(By.ID, "confirm-form"), 10, "the verdict")
    # re-checked first, as the CLI does: its commands are final by now, so it is dropped
    verdict = browser.find_element(By.CSS_SELECTOR, "#plan strong").text
    assert verdict in ("replay", "drop")
    click(browser, "#confirm")
    wait_until(lambda: (text(browser, "#done") or "").startswith(f"{verdict}:"), 10, "done")
    assert not browser.find_elements(By.ID, f"letter-{letter}")

    # every page renders its parts, fetching nothing but this site
    for path in PAGES:
        browser.get(s.url + path)
        assert browser.find_element(By.TAG_NAME, "h1").text
        assert all(u.startswith(s.url + "/") for u in fetched(browser)), fetched(browser)
        if path.startswith("/?") or path == "/":
            plots = browser.find_elements(By.CSS_SELECTOR, ".plot svg")
            assert len(plots) == 7
            drawn = browser.find_element(By.CSS_SELECTOR, '#plot-commands g[data-key="created"]')
            assert re.search(r"[1-9]", drawn.get_attribute("data-values"))
            assert browser.find_elements(By.CSS_SELECTOR, "#plot-revocations polyline, "
                                                          "#plot-revocations circle")
            shots.append(screenshot(browser, "console-fleet-" + (
                "day" if "day" in path else "hour")))
    assert all(p.stat().st_size > 10_000 for p in shots)


def test_every_page_reads_at_400_px(browser, stack, emu):
    emu.client.add_device("huawei", "valve-4", wake_period_s=0)
    s = stack(METRICS_FLUSH_S="1")
    create(s, "valve-4", stale_after_s=3600)
    sign_in(browser, s.url)
    browser.set_window_size(400, 900)
    try:
        for path in (*PAGES, "/devices/huawei/valve-4"):
            browser.get(s.url + path)
            width = browser.execute_script("return window.innerWidth")
            # nothing wider than the screen but what scrolls inside its own box (tables)
            assert browser.execute_script(
                "return document.documentElement.scrollWidth") <= width, path
            assert browser.find_element(By.NAME, "q").is_displayed()
            assert browser.find_element(By.ID, "live-toggle").is_displayed()
            if path in ("/", "/devices/huawei/valve-4"):
                name = "fleet" if path == "/" else "device"
                path_shot = screenshot_at(browser, f"console-400-{name}", 400)
                assert path_shot.stat().st_size > 10_000
    finally:
        browser.set_window_size(1280, 1000)


def screenshot_at(browser, name: str, width: int):
    from tests.dashboard.test_browser import SCREENSHOTS

    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(width, max(800, min(height + 40, 6000)))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"dashboard-{name}.png"
    assert browser.save_screenshot(str(path))
    return path
