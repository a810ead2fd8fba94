"""Rate limits at the configured threshold and injected API congestion / 5xx."""

from __future__ import annotations

from tests.emulator.helpers import Huawei


def error(r) -> tuple[int, str]:
    return r.status_code, r.json()["error_code"]


def test_huawei_throttles_at_the_default_100_calls_per_minute(huawei, emu):
    answers = [huawei.call("GET", "/deviceCommands").status_code for _ in range(99)]

    over = huawei.call("GET", "/deviceCommands")

    assert answers == [200] * 99  # the login was call 1
    assert error(over) == (403, "1010009")
    assert emu.calls("huawei")[-1]["error_code"] == "1010009"


def test_huawei_throttles_at_a_configured_threshold_in_a_rolling_window(base_url, emu):
    emu.set_faults(huawei_rate_limit=5, rate_clock="emulated")
    app = Huawei(base_url)
    app.login()
    within = [app.call("GET", "/deviceCommands").status_code for _ in range(4)]
    emu.advance(30)
    over = app.call("GET", "/deviceCommands")
    emu.advance(29.999)
    still_over = app.call("GET", "/deviceCommands")
    emu.advance(0.001)
    again = app.call("GET", "/deviceCommands")

    assert within == [200] * 4
    assert error(over) == (403, "1010009") and error(still_over) == (403, "1010009")
    assert again.status_code == 200


def test_failed_calls_count_and_throttled_ones_do_not(base_url, emu):
    emu.set_faults(huawei_rate_limit=3, rate_clock="emulated")
    app = Huawei(base_url)
    bad = [app.call("GET", "/deviceCommands", token="wrong").status_code for _ in range(3)]
    throttled = app.call("GET", "/deviceCommands")
    emu.advance(60)
    recovered = app.login()

    assert bad == [403] * 3
    assert error(throttled) == (403, "1010009")
    assert recovered.status_code == 200


def test_onenet_throttles_with_errno_15(onenet, emu):
    emu.set_faults(onenet_rate_limit=2)

    answers = [onenet.call("GET", "/nbiot/offline/history").json()["errno"] for _ in range(3)]

    assert answers == [6, 6, 15]


def test_injected_congestion_and_5xx(huawei, onenet, emu):
    emu.set_faults(congestion_p=1.0)
    h_congested = huawei.call("GET", "/deviceCommands")
    o_congested = onenet.call("GET", "/nbiot/offline/history")
    emu.set_faults(congestion_p=0.0, error_5xx_p=1.0)
    h_error = huawei.call("GET", "/deviceCommands")
    o_error = onenet.call("GET", "/nbiot/offline/history")
    emu.set_faults(error_5xx_p=0.0)

    assert error(h_congested) == (503, "100501")
    assert (o_congested.status_code, o_congested.json()["errno"]) == (200, 7)
    assert error(h_error) == (500, "50252")
    assert (o_error.status_code, o_error.json()["errno"]) == (500, 1)
    assert huawei.call("GET", "/deviceCommands").status_code == 200


def test_a_fraction_of_calls_meets_congestion(huawei, emu):
    emu.set_faults(congestion_p=0.5, huawei_rate_limit=0)

    answers = [huawei.call("GET", "/deviceCommands").status_code for _ in range(60)]

    assert set(answers) == {200, 503}
    assert 15 <= answers.count(503) <= 45
