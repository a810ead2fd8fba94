"""The short chaos run (bench/chaos.py --small) as a test: faults on, a worker killed with
SIGKILL and web restarted mid-run; nothing may be wrong, late or lost at the end."""

from __future__ import annotations

from bench.chaos import SMALL, run, summary


def test_the_short_chaos_run_loses_nothing(tmp_path):
    report = run(SMALL, tmp_path, say=lambda _: None)
    detail = summary(report)
    assert report.created == SMALL.commands, detail
    assert report.state_mismatches == [], detail
    assert report.late_deliveries == [], detail
    assert report.lost_callbacks == [], detail
    assert max(report.busiest_window.values()) <= SMALL.rate_limit, detail
    assert len(report.events) == 2, detail  # the kill and the restart did happen
    assert sum(report.final_states.values()) == SMALL.commands, detail
