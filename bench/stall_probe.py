"""How late this machine lets a process run: a small process of its own that sleeps 10 ms at a
time and writes down each wake-up that came more than 20 ms late, with when it happened.

The chaos run holds cmdkeeper to a real-time promise (a stale command is revoked within one
sweep interval), which no code can keep while the machine does not run it: on a machine busy
with other test suites, a process can wait hundreds of milliseconds for a CPU. The probe says
when that happened, so a late revocation is told apart from a machine that stalled: the run
excuses lateness only up to what the probe saw in the same seconds (bench/chaos.py), so on an
idle machine the promise is checked as it is.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

#: What the probe process runs: wall time (ms) and how late (ms), one line per late wake-up.
PROBE = """
import sys, time
out = open(sys.argv[1], "a", buffering=1)
out.write("# running\\n")
last = time.monotonic()
while True:
    time.sleep(0.01)
    now = time.monotonic()
    # from wake-up to wake-up, so a stop at any point of the loop is seen
    late, last = now - last - 0.01, now
    if late > 0.02:
        out.write(f"{time.time() * 1000:.0f} {late * 1000:.0f}\\n")
"""


class StallProbe:
    """Start with `start()`, stop with `stop()`; then `worst_between` answers."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.proc: subprocess.Popen | None = None
        self.stalls: list[tuple[float, float]] = []  # (wall ms at wake-up, ms late)

    @property
    def running(self) -> bool:
        """Whether the probe is in its loop (it says so first thing)."""
        return self.path.read_text().startswith("# running")

    def start(self) -> StallProbe:
        self.path.write_text("")
        self.proc = subprocess.Popen([sys.executable, "-c", PROBE, str(self.path)])
        return self

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None
        self.stalls = [(float(at), float(late)) for at, late in
                       (line.split() for line in self.path.read_text().splitlines()
                        if line and not line.startswith("#"))]

    def worst_between(self, from_ms: float, to_ms: float) -> float:
        """The longest stall (s) that overlapped the wall-clock span [from_ms, to_ms]."""
        return max((late / 1000 for at, late in self.stalls
                    if at >= from_ms and at - late <= to_ms), default=0.0)

    @property
    def worst(self) -> float:
        return max((late / 1000 for _, late in self.stalls), default=0.0)
