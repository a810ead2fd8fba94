"""The chaos run's stall probe (bench/stall_probe.py): it sees a process held off the CPU, and
excuses lateness only within the seconds it saw that."""

from __future__ import annotations

import os
import signal
import time

from bench.stall_probe import StallProbe
from dev.procs import wait_until


def test_a_process_held_off_the_cpu_is_seen_as_a_stall_of_about_that_long(tmp_path):
    probe = StallProbe(tmp_path / "stalls.txt").start()
    try:
        wait_until(lambda: probe.running, 30, "the probe runs")
        before = time.time() * 1000
        os.kill(probe.proc.pid, signal.SIGSTOP)
        time.sleep(0.4)  # the stall itself, not a wait for a condition
        os.kill(probe.proc.pid, signal.SIGCONT)
        wait_until(lambda: len((tmp_path / "stalls.txt").read_text().splitlines()) > 1, 30,
                   "the stall written down")
    finally:
        probe.stop()
    assert 0.35 <= probe.worst <= 5
    assert probe.worst_between(before, before + 100) == probe.worst
    assert probe.worst_between(before - 60_000, before - 30_000) == 0.0


def test_only_stalls_that_overlap_the_span_count(tmp_path):
    probe = StallProbe(tmp_path / "stalls.txt")
    probe.stalls = [(10_000, 500), (20_000, 100)]  # woke 500 ms late at 10 s, 100 ms at 20 s
    assert probe.worst_between(9_600, 9_700) == 0.5  # inside the first stall
    assert probe.worst_between(10_001, 19_899) == 0.0  # between them
    assert probe.worst_between(0, 30_000) == 0.5
    assert probe.worst_between(19_950, 19_960) == 0.1
