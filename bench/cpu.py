"""CPU accounting of a measurement: what the processes under test used, and what anything else on
the machine used meanwhile (other people's test runs, the hypervisor's steal), so a disturbed
measurement can be recognised and repeated instead of silently skewing a ratio."""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass

import psutil


def process_cpu_s(p: psutil.Process) -> float:
    """User + system CPU seconds of one process (0 once it is gone)."""
    try:
        t = p.cpu_times()
    except psutil.NoSuchProcess:
        return 0.0
    return t.user + t.system


def tree_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process and its live descendants."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    return sum(process_cpu_s(p) for p in procs)


def _machine_s() -> tuple[float, float]:
    """(busy, steal) CPU seconds of the whole machine since boot."""
    t = psutil.cpu_times()
    busy = t.user + t.nice + t.system + getattr(t, "irq", 0) + getattr(t, "softirq", 0)
    return busy, getattr(t, "steal", 0.0)


def _own_s() -> float:
    """This process, its live descendants and its reaped children (wrk), in CPU seconds."""
    own = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        r = resource.getrusage(who)
        own += r.ru_utime + r.ru_stime
    return own + sum(process_cpu_s(p) for p in psutil.Process().children(recursive=True))


@dataclass(frozen=True)
class CpuUse:
    """CPU over one window; shares are of the whole machine's capacity (all cores)."""

    wall_s: float
    ours_s: float
    foreign_share: float
    steal_share: float


class CpuWindow:
    """Started at construction, read with `stop()`; everything this process started counts as
    ours, everything else as foreign."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()
        self.busy0, self.steal0 = _machine_s()
        self.own0 = _own_s()

    def stop(self) -> CpuUse:
        own1 = _own_s()
        busy1, steal1 = _machine_s()
        wall = time.monotonic() - self.t0
        capacity = wall * (os.cpu_count() or 1)
        ours = own1 - self.own0
        foreign = max(0.0, (busy1 - self.busy0) - ours)
        return CpuUse(wall_s=wall, ours_s=ours, foreign_share=foreign / capacity,
                      steal_share=(steal1 - self.steal0) / capacity)


def wait_for_quiet(max_wait_s: float, foreign_max: float, sample_s: float = 0.5) -> float:
    """Wait, at most `max_wait_s`, until other processes leave the machine nearly idle for one
    sample (someone else's test run ending); returns the seconds waited."""
    t0 = time.monotonic()
    while True:
        window = CpuWindow()
        time.sleep(sample_s)
        use = window.stop()
        waited = time.monotonic() - t0
        if use.foreign_share + use.steal_share <= foreign_max or waited >= max_wait_s:
            return waited
